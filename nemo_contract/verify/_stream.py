"""Judging one ``/run_sse`` stream as read on the wire: its frames, its heartbeats, how it ended, and whether its
events arrived as they happened.

The stream is taken apart here, from the raw chunks and their arrival times, rather than by an SSE client
library: a client library hides exactly what these checks look at (``event:`` lines, comment lines, a frame
split over two lines, bytes left after the last blank line, when each frame became readable). Each function
returns the violations it found as ``Evidence`` (none: the check holds) or raises ``NotRun``.
"""

from __future__ import annotations

import json
import re
import typing

from ..protocol import EventFormat
from ..protocol import fields as f
from ..protocol.events import EventKind, classify
from ..protocol.specs import schema_validator
from ._http import Masker, NotRun, StreamRead, excerpt
from ._model import Evidence

__all__ = ["STREAM_GAP", "TOO_FAST", "Frame", "close", "frames", "frames_of", "heartbeats", "streaming"]

#: The first frame must be readable this long (seconds) before the stream ends; a buffered answer arrives all at
#: once, within a millisecond or two of its end.
STREAM_GAP = 0.02
#: A turn shorter than this (seconds, request to end) is too short to tell streaming from buffering.
TOO_FAST = 0.05
_PING = re.compile(r"^: ?ping - \S.*$")
_SEPARATORS = (b"\r\n\r\n", b"\n\n")


class Frame(typing.NamedTuple):
    """One block of the stream (the lines before a blank line) and when it became readable."""

    lines: tuple[str, ...]
    raw: bytes
    at: float

    def field(self) -> tuple[str, str] | None:
        """(name, value) of a one-line field frame (``data: x`` is ``("data", "x")``); None for a comment or a
        frame of several lines."""
        if len(self.lines) != 1 or self.lines[0].startswith(":"):
            return None
        name, _, value = self.lines[0].partition(":")
        return name, value.removeprefix(" ")

    @property
    def is_comment(self) -> bool:
        return all(line.startswith(":") for line in self.lines)

    def data(self) -> str | None:
        """The event's data as an SSE client reads it (its ``data:`` lines joined); None without one."""
        values = [line.partition(":")[2].removeprefix(" ") for line in self.lines if line.partition(":")[0] == "data"]
        return "\n".join(values) if values else None


def frames_of(read: StreamRead) -> tuple[list[Frame], bytes]:
    """The complete frames in arrival order, and the bytes left after the last blank line."""
    found: list[Frame] = []
    buffer = b""
    for at, chunk in read.chunks:
        buffer += chunk
        while True:
            ends = [(buffer.find(sep), sep) for sep in _SEPARATORS if sep in buffer]
            if not ends:
                break
            index, sep = min(ends)
            raw, buffer = buffer[:index], buffer[index + len(sep) :]
            lines = tuple(line.rstrip("\r") for line in raw.decode("utf-8", "replace").split("\n"))
            found.append(Frame(lines, raw, at))
    return found, buffer


def _evidence(read: StreamRead, note: str, raw: bytes | str, mask: Masker) -> Evidence:
    return Evidence(request=read.answer.request, status=read.answer.status, note=note, excerpt=mask(excerpt(raw)))


def _format(event: dict[str, typing.Any]) -> EventFormat | None:
    """The format of an event of either; None for a heartbeat or a stream error."""
    if isinstance(event.get(f.CONTENT), dict):
        return EventFormat.ADK
    kind = event.get(f.TYPE)
    if isinstance(kind, str) and kind != EventKind.HEARTBEAT:
        return EventFormat.TYPED
    return None


def frames(read: StreamRead, mask: Masker) -> list[Evidence]:
    """Each event is one ``data:`` line of JSON the spec's ``StreamEvent`` allows (ADK events, or the typed
    format throughout), with no ``event:``, ``id:`` or ``retry:`` field; comments are left to ``heartbeats``."""
    found: list[Evidence] = []
    validator = schema_validator("#/components/schemas/StreamEvent")
    formats: dict[EventFormat, bytes] = {}
    for frame in frames_of(read)[0]:
        if frame.is_comment:
            continue
        names = [line.partition(":")[0] for line in frame.lines if not line.startswith(":")]
        other = next((name for name in names if name != "data"), None)
        if other is not None:
            found.append(_evidence(read, f"a field `{other}:`: events carry `data:` alone", frame.raw, mask))
            continue
        field = frame.field()
        if field is None:
            note = f"an event of {len(frame.lines)} lines: each event is one `data:` line"
            found.append(_evidence(read, note, frame.raw, mask))
            continue
        value = field[1]
        if not value.strip():
            continue  # an empty heartbeat
        try:
            event = json.loads(value)
        except ValueError:
            found.append(_evidence(read, "the data is not JSON", frame.raw, mask))
            continue
        errors = sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "the event"
            note = f"not a StreamEvent of the spec: at {where}: {excerpt(errors[0].message, 160)}"
            found.append(_evidence(read, note, frame.raw, mask))
            continue
        kind = _format(event) if isinstance(event, dict) else None
        if kind is not None:
            formats.setdefault(kind, frame.raw)
    if len(formats) > 1:
        note = "ADK events and typed events in one stream: a stream uses one format"
        found.append(_evidence(read, note, formats[EventFormat.TYPED], mask))
    return found


def _heartbeat_form(frame: Frame) -> str | None:
    """``empty``, ``comment`` or ``json``: the documented form this heartbeat takes, or None. Only its data counts:
    other fields beside it are ``frames``' business."""
    if frame.is_comment:
        return "comment" if len(frame.lines) == 1 and _PING.match(frame.lines[0]) else None
    data = frame.data()
    if data is None:
        return None
    if data == "":
        return "empty"
    try:
        return "json" if json.loads(data) == {f.TYPE: EventKind.HEARTBEAT.value} else None
    except ValueError:
        return None


def _is_heartbeat(frame: Frame) -> bool:
    data = frame.data()
    return frame.is_comment or (data is not None and [e.kind for e in classify(data)] == [EventKind.HEARTBEAT])


def heartbeats(read: StreamRead, mask: Masker) -> list[Evidence]:
    """Every heartbeat is a bare ``data:`` line, a ``: ping - <time>`` comment or ``data: {"type":"heartbeat"}``,
    one form throughout the stream."""
    beats = [frame for frame in frames_of(read)[0] if _is_heartbeat(frame)]
    if not beats:
        raise NotRun("the turn sent no heartbeat (send a --message that makes the agent run a tool)")
    found: list[Evidence] = []
    forms: dict[str, Frame] = {}
    for frame in beats:
        form = _heartbeat_form(frame)
        if form is None:
            note = 'a heartbeat in none of the three forms (`data:`, `: ping - <time>`, `data: {"type":"heartbeat"}`)'
            found.append(_evidence(read, note, frame.raw, mask))
        else:
            forms.setdefault(form, frame)
    if len(forms) > 1:
        note = f"heartbeats in {len(forms)} forms ({', '.join(sorted(forms))}): a server uses one"
        found.append(_evidence(read, note, b"\n\n".join(frame.raw for frame in forms.values()), mask))
    return found


def close(read: StreamRead, mask: Masker) -> list[Evidence]:
    """The stream ends by the server closing it, after a complete last event: not cut, not left open."""
    found: list[Evidence] = []
    if read.end == "timeout":
        found.append(_evidence(read, f"the stream did not end: {read.error}", read.answer.content[-200:], mask))
    elif read.end == "cut":
        found.append(_evidence(read, f"the connection broke before the answer ended: {read.error}", b"", mask))
    rest = frames_of(read)[1]
    if rest.strip():
        found.append(_evidence(read, "the stream ended in the middle of an event", rest, mask))
    return found


def streaming(read: StreamRead, mask: Masker) -> list[Evidence]:
    """The first event arrives before the stream ends: events are sent as they happen, not buffered."""
    found = frames_of(read)[0]
    if not found:
        raise NotRun("the stream had no complete event to time")
    if read.end != "closed":
        raise NotRun(f"the stream did not end normally ({read.error}), so there is no end to time against")
    if read.ended_at < TOO_FAST:
        raise NotRun(f"the turn took {read.ended_at * 1000:.0f} ms: too short to tell streaming from buffering")
    gap = read.ended_at - found[0].at
    if gap >= STREAM_GAP:
        return []
    note = (
        f"the first event became readable {gap * 1000:.1f} ms before the end of a {read.ended_at:.2f} s stream "
        f"({len(read.chunks)} chunk(s)): the answer was buffered, not streamed"
    )
    return [_evidence(read, note, found[0].raw, mask)]
