"""``cassette check``: send a cassette's requests again, in order, to a server, and report where its answers differ
in shape from the recorded ones.

Compared: the HTTP status, the envelope's code, the JSON answers' field names and value types (``_shape``), the
media type of other answers, a stream's event kinds in order (heartbeats apart: how many come depends on timing,
so only their forms are compared), each event's shape, how the stream ended, and each render's status sequence.
Never compared: values that always vary (ids, tokens, times, hosts, sizes, words).

Ids are mapped as the session goes: where a recorded answer and the server's answer hold an id (token, user,
session, task, a file's URL) they are bound, and later requests say the server's. A render id the client minted
is sent as recorded (the emulator draws a render's duration from its id, so the same seed renders alike); a client
id placeholder becomes a fresh UUID. An upload is sent again from the files given
(``files``: folders or files, found by name and checked by digest); a binary body kept only as a digest cannot be
sent, and its exchange is skipped with a note.

Requests go one after another, each after the recorded pause since the previous exchange ended (divided by
``speed``; ``sleep`` may advance an emulator's clock instead of waiting).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import inspect
import json
import math
import pathlib
import re
import typing
import urllib.parse
import uuid

import anyio
import httpx

from ..protocol import fields as f
from ..protocol.events import EventKind, classify
from ..protocol.shapes import read_render
from ._body import header, media_type
from ._cassette import Body, Cassette, Exchange
from ._operations import RENDER, discriminators, operation
from ._redact import placeholders
from ._shape import shape, shape_differences
from ._sse import Frame, Splitter, parse_block

__all__ = ["CheckReport", "Difference", "check"]

JSON = typing.Any
#: Fields whose values are ids a server mints: bound recorded -> live where both answers hold one.
ID_FIELDS = frozenset(
    {f.TOKEN, f.USER_ID, f.SESSION_ID, f.TASK_ID, f.ID, f.CDN_URL, f.URL, f.OUTPUT_URL, f.CLAIM_TOKEN}
)
_NOT_SENT = frozenset({"content-length", "host", "accept-encoding", "connection", "transfer-encoding"})


@dataclasses.dataclass(frozen=True, slots=True)
class Difference:
    x: int
    op: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"#{self.x} {self.op}: {self.what}: {self.detail}"


@dataclasses.dataclass(slots=True)
class CheckReport:
    checked: int = 0
    differences: list[Difference] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        """The differences as text, each said once with every exchange it was found at (``#7, #15 startRender:
        ...``), in the order first found."""
        grouped: dict[tuple[str, str, str], list[int]] = {}
        for difference in self.differences:
            grouped.setdefault((difference.op, difference.what, difference.detail), []).append(difference.x)
        found = []
        for (op, what, detail), numbers in grouped.items():
            where = ", ".join(f"#{x}" for x in dict.fromkeys(numbers))
            found.append(f"{where} {op}: {what}: {detail}")
        return found


class _Bindings:
    """Recorded strings and the live ones that stand for them."""

    def __init__(self) -> None:
        self.pairs: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def bind(self, recorded: str, live: str) -> None:
        if recorded == live or recorded in self.pairs:
            return
        self.pairs[recorded] = live
        self._pattern = None
        if "://" in recorded and "://" in live:  # a URL: its path stands for the live path too (file routes)
            path, other = urllib.parse.urlsplit(recorded).path, urllib.parse.urlsplit(live).path
            if path and path != "/" and path != other and path not in self.pairs:
                self.pairs[path] = other

    def learn(self, recorded: JSON, live: JSON) -> None:
        if isinstance(recorded, dict) and isinstance(live, dict):
            for key, value in recorded.items():
                if key not in live:
                    continue
                if key in ID_FIELDS and isinstance(value, str) and isinstance(live[key], str):
                    self.bind(value, live[key])
                else:
                    self.learn(value, live[key])
        elif isinstance(recorded, list) and isinstance(live, list):
            for mine, theirs in zip(recorded, live, strict=False):
                self.learn(mine, theirs)

    def say(self, text: str) -> str:
        """The text with every recorded string the live one (in one pass: the longest match wins)."""
        if not self.pairs:
            return text
        if self._pattern is None:
            self._pattern = re.compile("|".join(map(re.escape, sorted(self.pairs, key=len, reverse=True))))
        return self._pattern.sub(lambda match: self.pairs[match.group(0)], text)

    def say_json(self, value: JSON) -> JSON:
        if isinstance(value, str):
            return self.say(value)
        if isinstance(value, dict):
            return {key: self.say_json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.say_json(item) for item in value]
        return value


class _Files:
    """Files to upload again, found by name and digest."""

    def __init__(self, places: typing.Sequence[str | pathlib.Path]) -> None:
        self.places = [pathlib.Path(place) for place in places]

    def find(self, name: str, digest: str | None) -> bytes | None:
        for place in self.places:
            candidates = [place] if place.is_file() else sorted(place.rglob(name)) if place.is_dir() else []
            for candidate in candidates:
                if candidate.name != name:
                    continue
                data = candidate.read_bytes()
                if digest is None or hashlib.sha256(data).hexdigest() == digest:
                    return data
        return None


def _placeholders(bindings: _Bindings, text: str, token: str | None) -> None:
    """Bind a request's placeholders that no answer bound: a fresh client id, the given token."""
    for placeholder in placeholders(text):
        if placeholder not in bindings.pairs:
            if placeholder.startswith("<client-id#"):
                bindings.bind(placeholder, str(uuid.uuid4()))
            elif placeholder.startswith("<token#") and token:
                bindings.bind(placeholder, token)


def _content(body: Body | None, bindings: _Bindings, files: _Files) -> tuple[dict[str, typing.Any], str | None]:
    """httpx keyword arguments for a recorded body, or why it cannot be sent again."""
    if body is None:
        return {}, None
    if body.is_json:
        return dict(content=json.dumps(bindings.say_json(body.json), ensure_ascii=False).encode()), None
    if body.text is not None:
        return dict(content=bindings.say(body.text).encode()), None
    if body.parts is not None:
        data: dict[str, str] = {}
        upload: list[tuple[str, tuple[str, bytes, str]]] = []
        for part in body.parts:
            if part.filename is None:
                data[part.name] = bindings.say(part.text or "")
                continue
            found = files.find(part.filename, part.sha256)
            if found is None:
                return {}, f"the file {part.filename} is not among the files given (--files), with that digest"
            upload.append((part.name, (part.filename, found, part.type or "application/octet-stream")))
        return dict(data=data, files=upload), None
    if body.b64 is not None:
        import base64

        return dict(content=base64.b64decode(body.b64)), None
    return {}, f"its {body.size}-byte body was kept only as a digest"


def _json(data: bytes) -> JSON:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _frames(data: bytes) -> list[Frame]:
    splitter = Splitter()
    blocks = splitter.feed(data)
    if splitter.rest.strip():
        blocks.append(splitter.rest)
    return [parse_block(block) for block in blocks if block.strip()]


def _heartbeat_form(frame: Frame) -> str:
    if frame.data is None:
        return "comment"
    return "empty data" if not frame.data.strip() else "json"


def _events(frames: typing.Iterable[Frame]) -> tuple[list[str], set[str], list[JSON]]:
    """(kinds in order without heartbeats, heartbeat forms, the JSON of the other events)."""
    kinds: list[str] = []
    forms: set[str] = set()
    bodies: list[JSON] = []
    for frame in frames:
        found = classify(frame.data)
        if all(event.kind is EventKind.HEARTBEAT for event in found):
            forms.add(_heartbeat_form(frame))
            continue
        kinds += [event.kind.value for event in found]
        bodies.append(_json((frame.data or "").encode()))
    return kinds, forms, bodies


def _outcome(kinds: list[str]) -> str:
    if EventKind.ERROR.value in kinds:
        return "error_event"
    return "complete" if EventKind.TEXT.value in kinds else "silent_close"


class _Checker:
    def __init__(self, report: CheckReport, exchanges: list[Exchange]) -> None:
        self.report = report
        self.exchanges = exchanges
        self.renders: dict[str, list[tuple[int, str, str]]] = collections.defaultdict(list)
        self.bodies: dict[str, list[JSON]] = collections.defaultdict(list)  # each render's recorded answers so far

    def differ(self, exchange: Exchange, what: str, detail: str) -> None:
        op = exchange.request.op or f"{exchange.request.method} {exchange.request.path}"
        self.report.differences.append(Difference(exchange.x, op, what, detail))

    def answer(self, exchange: Exchange, status: int, headers: list[tuple[str, str]], data: bytes) -> JSON:
        recorded = exchange.response
        assert recorded is not None
        if recorded.status != status:
            self.differ(exchange, "status", f"recorded {recorded.status}, got {status}")
        if recorded.stream is not None or media_type(header(headers, "content-type")) == "text/event-stream":
            self.stream(exchange, headers, data)
            return None
        body = recorded.body
        mine = body.json if body is not None and body.is_json else None
        theirs = _json(data) if data else None
        recorded_type = media_type(body.type if body is not None else None)
        live_type = media_type(header(headers, "content-type"))
        if recorded_type != live_type and (body is not None or data):
            self.differ(exchange, "media type", f"recorded {recorded_type or 'none'}, got {live_type or 'none'}")
        if mine is None or theirs is None:
            return theirs
        code, other = (v.get(f.CODE) if isinstance(v, dict) else None for v in (mine, theirs))
        if isinstance(code, int) and isinstance(other, int) and code != other:
            self.differ(exchange, "code", f"recorded {code}, got {other}")
        if exchange.request.op in ("startRender", "getRender") and isinstance(mine, dict) and isinstance(theirs, dict):
            # A render's answers change shape with its status (an output once completed), and when a poll finds
            # which status depends on timing: compare with a recorded answer of the same status, if there is one.
            render = next((d.value for d in _discriminators(exchange) if d.kind == RENDER), "?")
            now = read_render(theirs).status or ""
            self.renders[render].append((exchange.x, read_render(mine).status or "", now))
            self.bodies[render].append(mine)
            mine = next((body for body in self.bodies[render] if read_render(body).status == now), None)
            mine = mine if mine is not None else self._later_answer(exchange, render, now)
            if mine is None:
                return theirs  # a status the recording never saw: the status sequence reports it
        for line in shape_differences(shape(mine), shape(theirs)):
            self.differ(exchange, "shape", line)
        return theirs

    def _later_answer(self, exchange: Exchange, render: str, status: str) -> JSON:
        for other in self.exchanges:
            if other.x <= exchange.x or other.request.op not in ("startRender", "getRender"):
                continue
            if next((d.value for d in _discriminators(other) if d.kind == RENDER), None) != render:
                continue
            body = other.response.body if other.response is not None else None
            if (
                body is not None
                and body.is_json
                and isinstance(body.json, dict)
                and read_render(body.json).status == status
            ):
                return body.json
        return None

    def stream(self, exchange: Exchange, headers: list[tuple[str, str]], data: bytes) -> None:
        recorded_frames = [parse_block(_frame_text(event).encode()) for event in exchange.events]
        mine, my_forms, my_bodies = _events(recorded_frames)
        theirs, their_forms, their_bodies = _events(_frames(data))
        if mine != theirs:
            self.differ(
                exchange, "event kinds", f"recorded {', '.join(mine) or 'none'}; got {', '.join(theirs) or 'none'}"
            )
        if my_forms and their_forms and my_forms != their_forms:
            self.differ(
                exchange, "heartbeats", f"recorded {', '.join(sorted(my_forms))}; got {', '.join(sorted(their_forms))}"
            )
        seen: set[str] = set()
        for mine_body, their_body in zip(my_bodies, their_bodies, strict=False):
            if mine_body is None or their_body is None:
                continue
            for line in shape_differences(shape(mine_body), shape(their_body)):
                if line not in seen:
                    seen.add(line)
                    self.differ(exchange, "event shape", line)
        if exchange.end is not None and exchange.end.outcome is not None and exchange.end.outcome != _outcome(theirs):
            self.differ(exchange, "stream end", f"recorded {exchange.end.outcome}, got {_outcome(theirs)}")

    def finish(self, exchanges: typing.Sequence[Exchange]) -> None:
        by_x = {exchange.x: exchange for exchange in exchanges}
        for seen in self.renders.values():
            mine = _collapsed(status for _, status, _ in seen)
            theirs = _collapsed(status for _, _, status in seen)
            if mine != theirs:
                self.differ(
                    by_x[seen[-1][0]], "render status", f"recorded {' > '.join(mine)}; got {' > '.join(theirs)}"
                )


def _collapsed(statuses: typing.Iterable[str]) -> list[str]:
    found: list[str] = []
    for status in statuses:
        if not found or found[-1] != status:
            found.append(status)
    return found


def _frame_text(event: typing.Any) -> str:
    from ._sse import frame_bytes

    if event.raw is not None:
        return str(event.raw)
    return frame_bytes(event.data, event=event.event, id=event.id, retry=event.retry, comment=event.comment).decode()


def _discriminators(exchange: Exchange) -> list[typing.Any]:
    request = exchange.request
    body = request.body.json if request.body is not None and request.body.is_json else None
    op, params = operation(request.method, request.path)
    return discriminators(op, params, body)


async def check(
    cassette: Cassette,
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    speed: float = 1.0,
    sleep: typing.Callable[[float], object] | None = None,
    files: typing.Sequence[str | pathlib.Path] = (),
    token: str | None = None,
    read_timeout: float = 120.0,
) -> CheckReport:
    """Send ``cassette``'s requests to ``base_url`` and compare the answers (see the module's docstring)."""
    report = CheckReport()
    exchanges = [exchange for exchange in cassette.exchanges if exchange.response is not None]
    checker = _Checker(report, exchanges)
    bindings = _Bindings()
    found = _Files(files)
    pause = sleep or anyio.sleep
    base = base_url.rstrip("/")
    last_end: int | None = None
    async with httpx.AsyncClient(transport=transport, timeout=read_timeout) as http:
        for exchange in exchanges:
            request = exchange.request
            if last_end is not None and request.at > last_end and not math.isinf(speed):
                outcome = pause((request.at - last_end) / 1000 / speed)
                if inspect.isawaitable(outcome):
                    await outcome
            headers = [(n, v) for n, v in request.headers if n.lower() not in _NOT_SENT]
            _placeholders(bindings, " ".join(v for _, v in headers), token)
            kwargs, problem = _content(request.body, bindings, found)
            if problem is not None:
                report.notes.append(f"#{exchange.x} {request.op or request.path} was not sent: {problem}")
                last_end = _ended(exchange)
                continue
            if request.body is not None and request.body.parts is not None:  # httpx writes the form's own type
                headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
            url = base + bindings.say(request.path) + (f"?{bindings.say(request.query)}" if request.query else "")
            sent = http.build_request(request.method, url, headers=[(n, bindings.say(v)) for n, v in headers], **kwargs)
            try:
                response = await http.send(sent, stream=True)
                try:
                    data = await response.aread()
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                checker.differ(exchange, "transport", f"no answer: {type(exc).__name__}: {exc}")
                last_end = _ended(exchange)
                continue
            report.checked += 1
            raw = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw]
            live = checker.answer(exchange, response.status_code, raw, data)
            recorded = exchange.response
            if live is not None and recorded is not None and recorded.body is not None and recorded.body.is_json:
                bindings.learn(recorded.body.json, live)
            if exchange.is_stream:
                _, _, mine = _events(parse_block(_frame_text(e).encode()) for e in exchange.events)
                _, _, theirs = _events(_frames(data))
                for my_event, their_event in zip(mine, theirs, strict=False):
                    bindings.learn(my_event, their_event)
            last_end = _ended(exchange)
    checker.finish(exchanges)
    return report


def _ended(exchange: Exchange) -> int:
    if exchange.end is not None:
        return exchange.end.at
    return exchange.response.at if exchange.response is not None else exchange.request.at
