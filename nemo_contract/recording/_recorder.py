"""The recorder both the proxy and the httpx transports write through: one exchange at a time, each line redacted,
written and flushed as it happens.

A request's line is written once its answer's head arrives (its body has been sent by then, and is summed up as
it went); a stream's answer line at once, then one line per event as each passes, then how it ended; any other
answer's line once its body is complete. Nothing is held but the open exchanges' summaries, so memory stays flat
however long the session runs.

``clock`` is a clock in epoch seconds that only moves forward, for the offsets and the start time: by default the
monotonic clock for offsets and the wall clock once for ``recorded_at``. Recording an in-process emulator, pass its
virtual clock (``emulator.clock.now``): every offset is then virtual time, the same on every run.
"""

from __future__ import annotations

import dataclasses
import pathlib
import threading
import time
import types
import typing

from ..__version__ import __version__
from ..protocol.events import EventKind, classify
from ._body import BodyReader, header, media_type
from ._cassette import VERSION, Body, End, Event, Meta, Record, Request, Response, encode, iso_time
from ._errors import RedactionError
from ._operations import operation
from ._redact import DEFAULT_RULES, Redactor, Rules
from ._sse import Splitter, parse_block

__all__ = ["HOP_BY_HOP", "ExchangeRecorder", "Recorder", "origin_of"]

#: Headers that belong to one connection, not to the exchange: never recorded, never forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
EVENT_STREAM = "text/event-stream"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0]}"


def _kept_headers(pairs: typing.Iterable[tuple[str, str]], skipped: typing.AbstractSet[str]) -> list[tuple[str, str]]:
    kept = []
    for name, value in pairs:
        lower = name.lower()
        if lower in skipped:
            continue
        if lower == "content-type" and media_type(value) == "multipart/form-data":
            value = "multipart/form-data"  # the boundary is random per request (see _body)
        kept.append((name, value))
    return kept


class Recorder:
    """A cassette being recorded into ``path`` (a new file unless ``overwrite``); ``close`` ends it and scans it.

    ``target`` is the origin the requests go to (by default the first request's). ``rules`` are the redaction
    rules (``DEFAULT_RULES`` plus the user's, see ``Rules.extended``); ``append`` adds to an existing cassette
    (numbers, offsets and placeholders going on after its own); ``keep_bodies`` keeps binary bodies' bytes
    in base64 rather than only their digest; ``skip_headers`` names headers not to record at all (an in-process
    emulator's file answers carry ``Last-Modified`` and ``ETag`` from the file's real time, which no seed fixes).
    """

    def __init__(
        self,
        path: str | pathlib.Path,
        *,
        target: str | None = None,
        rules: Rules = DEFAULT_RULES,
        keep_bodies: bool = False,
        clock: typing.Callable[[], float] | None = None,
        overwrite: bool = False,
        note: str | None = None,
        skip_headers: typing.Iterable[str] = (),
        append: bool = False,
    ) -> None:
        self.path = pathlib.Path(path)
        self.skip_headers = HOP_BY_HOP | {name.lower() for name in skip_headers}
        self.keep_bodies = keep_bodies
        self.redactor = Redactor(rules)
        self._clock = clock or time.monotonic
        self._t0 = self._clock()
        existing = self._continued() if append else None
        self._meta = Meta(
            v=VERSION,
            recorded_at=iso_time(self._t0 if clock is not None else time.time()),
            recorder=f"nemo-contract {__version__}",
            target=origin_of(target) if target else None,
            redaction=rules.name,
            note=note,
        )
        self._lock = threading.RLock()  # held by exchanges too, around the shared redactor
        self._next = 1
        self._open: dict[int, ExchangeRecorder] = {}
        self._meta_written = False
        self.exchanges = 0
        if existing is not None:
            self._meta, self._next, self._meta_written = existing.meta, existing.next, True
        mode = "ab" if existing is not None else "wb" if overwrite else "xb"
        self._file: typing.IO[bytes] | None = open(self.path, mode)  # noqa: SIM115
        if target and not self._meta_written:
            self._write_meta()

    def _continued(self) -> _Continued:
        """Appending to a cassette: its meta, the next exchange number, offsets going on after its last one, and
        placeholders numbered after its own."""
        from ._cassette import load

        cassette = load(self.path)
        last = max((record.at for record in cassette.records if not isinstance(record, Meta)), default=0)
        self._t0 -= (last + 1) / 1000
        self.redactor.reserve(self.path.read_text(encoding="utf-8"))
        numbers = [record.x for record in cassette.records if isinstance(record, Request)]
        return _Continued(cassette.meta, max(numbers, default=0) + 1)

    @property
    def target(self) -> str | None:
        return self._meta.target

    @property
    def closed(self) -> bool:
        return self._file is None

    def now(self) -> int:
        """Milliseconds since the recording started."""
        return max(0, round((self._clock() - self._t0) * 1000))

    def _write_meta(self) -> None:
        self._meta_written = True
        self._put(self._meta)

    def _put(self, record: Record) -> None:
        if self._file is None:
            return  # closed: a late event of a stream the close already ended
        self._file.write((encode(record) + "\n").encode())
        self._file.flush()

    def write(self, record: Record) -> None:
        with self._lock:
            self._put(record)

    def start(
        self,
        method: str,
        path: str,
        query: str,
        headers: typing.Iterable[tuple[str, str]],
        *,
        origin: str | None = None,
    ) -> ExchangeRecorder:
        """A new exchange, numbered as it starts; its lines are written as its ``ExchangeRecorder`` is told."""
        with self._lock:
            if not self._meta_written:
                if self._meta.target is None and origin is not None:
                    self._meta = dataclasses.replace(self._meta, target=origin)
                self._write_meta()
            x = self._next
            self._next += 1
            self.exchanges += 1
        elsewhere = origin if origin is not None and origin != self._meta.target else None
        exchange = ExchangeRecorder(self, x, self.now(), method, path, query, list(headers), elsewhere)
        with self._lock:
            self._open[x] = exchange
        return exchange

    def _done(self, x: int) -> None:
        with self._lock:
            self._open.pop(x, None)

    def close(self) -> None:
        """End every open exchange as interrupted, close the file, then scan it: a secret still in it removes the
        file and raises ``RedactionError``."""
        if self._file is None:
            return
        for exchange in list(self._open.values()):
            exchange.interrupt()
        with self._lock:
            if not self._meta_written:
                self._write_meta()
            file, self._file = self._file, None
        file.close()
        problems = self.redactor.scan(self.path.read_text(encoding="utf-8"))
        if problems:
            self.path.unlink(missing_ok=True)
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise RedactionError(
                f"{self.path}: redaction missed a secret, so the recording was removed: {problems[0]}{more}"
            )

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        self.close()


class _Continued(typing.NamedTuple):
    meta: Meta
    next: int


class ExchangeRecorder:
    """One exchange being recorded. The caller tells it what passes: the request body's chunks, the answer's head,
    the answer's chunks, and how it ended."""

    def __init__(
        self,
        recorder: Recorder,
        x: int,
        at: int,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        origin: str | None,
    ) -> None:
        self.recorder = recorder
        self.x = x
        self.at = at
        self.method = method.upper()
        self.path, self.query, self.origin = path, query, origin
        self.headers = _kept_headers(headers, recorder.skip_headers)
        redactor = recorder.redactor
        self._request_body = BodyReader(headers, redactor=redactor, keep=recorder.keep_bodies)
        self._request_written = False
        self._answer: Response | None = None
        self._body: BodyReader | None = None
        self._splitter: Splitter | None = None
        self.events = 0
        self._said = self._failed = False
        self.finished = False

    # -- the request -------------------------------------------------------------------------------------------

    def request_chunk(self, chunk: bytes) -> None:
        self._request_body.feed(chunk)

    def _write_request(self) -> None:
        """(Called with the recorder's lock held.)"""
        if self._request_written:
            return
        self._request_written = True
        redactor = self.recorder.redactor
        headers = redactor.headers(self.headers)  # first: the token in Authorization is learned here
        op, _ = operation(self.method, self.path)
        body = self._request_body.finish()
        record = Request(
            x=self.x,
            at=self.at,
            method=self.method,
            path=redactor.text(self.path),
            op=op,
            query=redactor.text(self.query),
            headers=headers,
            body=body,
            origin=self.origin,
        )
        self.recorder.write(record)

    # -- the answer --------------------------------------------------------------------------------------------

    @property
    def is_stream(self) -> bool:
        return self._splitter is not None

    def response(self, status: int, headers: typing.Iterable[tuple[str, str]]) -> None:
        """The answer's head arrived."""
        with self.recorder._lock:
            self._response(status, headers)

    def _response(self, status: int, headers: typing.Iterable[tuple[str, str]]) -> None:
        self._write_request()
        kept = _kept_headers(headers, self.recorder.skip_headers)
        at = self.recorder.now()
        redacted = self.recorder.redactor.headers(kept)
        if media_type(header(kept, "content-type")) == EVENT_STREAM:
            self._splitter = Splitter()
            self.recorder.write(Response(x=self.x, at=at, status=status, headers=redacted, stream="sse"))
        else:
            self._answer = Response(x=self.x, at=at, status=status, headers=redacted)
            self._body = BodyReader(kept, redactor=self.recorder.redactor, keep=self.recorder.keep_bodies)

    def chunk(self, data: bytes) -> list[bytes]:
        """A chunk of the answer's body; for a stream, the event blocks it completes (each written as an event)."""
        if self._splitter is None:
            if self._body is not None:
                self._body.feed(data)
            return []
        blocks = self._splitter.feed(data)
        for block in blocks:
            self.event(block)
        return blocks

    @property
    def rest(self) -> bytes:
        """The bytes of an unfinished last block of a stream."""
        return self._splitter.rest if self._splitter is not None else b""

    def event(self, block: bytes) -> None:
        with self.recorder._lock:
            self._event(block)

    def _event(self, block: bytes) -> None:
        frame = parse_block(block)
        redactor = self.recorder.redactor
        data = frame.data
        if data is not None:
            kinds = {event.kind for event in classify(data)}
            self._said |= EventKind.TEXT in kinds
            self._failed |= EventKind.ERROR in kinds
            data = redactor.event_text(data, _json_or_none(data))
        raw = None if frame.canonical else redactor.text(block.decode("utf-8", errors="replace"))
        record = Event(
            x=self.x,
            at=self.recorder.now(),
            n=self.events,
            data=data,
            event=frame.event,
            id=frame.id,
            retry=frame.retry,
            comment=None if frame.comment is None else redactor.text(frame.comment),
            raw=raw,
        )
        self.events += 1
        self.recorder.write(record)

    def finish(self, *, by: str = "server", reason: str = "eof") -> None:
        """The answer is over: its body complete (``eof``), or cut short (``reset``, ``client_disconnect``)."""
        with self.recorder._lock:
            if self.finished:
                return
            self.finished = True
            self._finish(by, reason)

    def _finish(self, by: str, reason: str) -> None:
        self._write_request()
        if self._splitter is not None:
            rest = self._splitter.rest
            outcome = "error_event" if self._failed else "complete" if self._said else "silent_close"
            end = End(
                x=self.x,
                at=self.recorder.now(),
                by=by,
                reason=reason,
                events=self.events,
                outcome=outcome,
                rest=self.recorder.redactor.text(rest.decode("utf-8", errors="replace")) if rest else None,
            )
            self.recorder.write(end)
        elif self._answer is not None:
            body: Body | None = self._body.finish() if self._body is not None else None
            answer = self._answer
            self.recorder.write(
                Response(x=answer.x, at=answer.at, status=answer.status, headers=answer.headers, body=body)
            )
        self.recorder._done(self.x)

    def failed(self, error: BaseException | str) -> None:
        """No answer came (the connection failed before a head)."""
        with self.recorder._lock:
            if self.finished:
                return
            self.finished = True
            self._failed_now(error)

    def _failed_now(self, error: BaseException | str) -> None:
        self._write_request()
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}".rstrip(": ")
        self.recorder.write(Response(x=self.x, at=self.recorder.now(), error=self.recorder.redactor.text(reason)))
        self.recorder._done(self.x)

    def interrupt(self) -> None:
        """The recording stops while this exchange is open."""
        if self._splitter is not None:
            self.finish(by="recorder", reason="recording_interrupted")
        elif self._answer is not None:
            self.finish()
        else:
            self.failed("recording_interrupted: no answer before the recording stopped")


def _json_or_none(text: str) -> typing.Any:
    import json

    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
