"""The request journal: a bounded, structured record of every API request, as it happens.

Each entry is filled in where things are decided, never by parsing what was sent: the middleware notes the
request (its headers, the size and digest of its body) and the answer's status and headers; the answer itself
notes its envelope code (``_envelope.EnvelopeResponse``); a turn notes every event it sends, with its kind and
its virtual and real time, and how its stream ended. Listeners (``Journal.subscribe``) follow entries as they
change; ``wait_for`` waits for a matching one.

Memory is bounded twice: by count (the ``journal_size`` knob) and by bytes (``MAX_BYTES``, whatever clients send),
since an entry keeps header values, event data and the error text only up to documented lengths.
"""

from __future__ import annotations

import array
import collections
import dataclasses
import enum
import fnmatch
import hashlib
import time
import typing

import anyio

from nemo_contract.protocol import ATTRIBUTION_HEADERS
from nemo_contract.protocol.control import (
    JournalEntry,
    JournalEvent,
    JournalRequest,
    JournalResponse,
    JournalStream,
    StreamEnd,
)
from nemo_contract.protocol.events import EventKind

__all__ = ["ENTRY_KEY", "MAX_BYTES", "Change", "Entry", "Journal", "Query", "StreamEvent", "entry_of"]

#: At most this many events of one stream are kept.
MAX_EVENTS_PER_ENTRY = 1000
#: Header values (and event data) longer than this are cut in entries, so no client can grow the journal.
MAX_VALUE_BYTES = 256
MAX_EVENT_BYTES = 8192
#: At most this many request headers are kept per entry.
MAX_HEADERS = 64
#: The journal's whole footprint, as counted by ``Entry.weight``: older entries go first when it is exceeded.
MAX_BYTES = 16 * 1024 * 1024
#: What an entry costs beyond what it counts of headers and events (objects, numbers, the path).
_ENTRY_OVERHEAD = 600
#: What an event costs beyond its bytes, in that count.
_EVENT_OVERHEAD = 64
_CUT = b"...(cut)"
#: (journal key, raw lower-case header name) of each attribution header.
_ATTRIBUTION = tuple(
    (h.value.removeprefix("X-Skill-").lower(), h.value.lower().encode("latin-1")) for h in ATTRIBUTION_HEADERS
)
_AUTHORIZATION = b"authorization"

RawHeaders = typing.Sequence[tuple[bytes, bytes]]

#: Where EmulatorMiddleware leaves a request's entry in its ASGI scope, for the answer to note what it knows.
ENTRY_KEY = "nemo_mock.entry"


def entry_of(scope: typing.Mapping[str, typing.Any]) -> Entry | None:
    """The journal entry of the request whose scope this is (None on the control plane)."""
    entry: Entry | None = scope.get(ENTRY_KEY)
    return entry


class Change(enum.Enum):
    """What happened to an entry, for listeners."""

    REQUEST = "request"  # a new entry
    RESPONSE = "response"  # the answer started (status and headers known)
    EVENT = "event"  # a stream sent an event
    END = "end"  # the answer is over, however it ended


def _cut(value: bytes, limit: int) -> bytes:
    return value if len(value) <= limit else value[:limit] + _CUT


#: Heads up to this size are kept as the ASGI list itself (no copy on the common path).
_SMALL_HEAD = 4096


def bounded_headers(raw: RawHeaders, size: int) -> tuple[RawHeaders, int]:
    """The headers an entry keeps, and their bytes: the ASGI list itself when small, else a copy with values cut
    to ``MAX_VALUE_BYTES`` and at most ``MAX_HEADERS`` of them (``size``: the bytes of every name and value)."""
    if size <= _SMALL_HEAD and len(raw) <= MAX_HEADERS:
        return raw, size
    kept = [(_cut(name, MAX_VALUE_BYTES), _cut(value, MAX_VALUE_BYTES)) for name, value in raw[:MAX_HEADERS]]
    return kept, sum(len(name) + len(value) for name, value in kept)


@dataclasses.dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event a stream sent (made when the journal is read: see ``_Events``)."""

    n: int
    kind: EventKind
    time: float  # virtual
    real_time: float  # wall clock
    data: bytes  # the block as sent, without its blank line (cut to MAX_EVENT_BYTES)


_KINDS = tuple(EventKind)
_KIND_INDEX = {kind: index for index, kind in enumerate(_KINDS)}


class _Events:
    """A stream's events as they are sent: columns of numbers and bytes, which the garbage collector does not
    track. With 2,000 streams open, an object per heartbeat (a ``StreamEvent``) made the collector's young
    collections several times longer, and the heartbeats late; ``StreamEvent`` is made only when read."""

    __slots__ = ("data", "kinds", "real_times", "times")

    def __init__(self) -> None:
        self.kinds = bytearray()
        self.times = array.array("d")
        self.real_times = array.array("d")
        self.data: list[bytes] = []

    def __len__(self) -> int:
        return len(self.kinds)

    def add(self, kind: EventKind, at: float, real_time: float, data: bytes) -> None:
        self.kinds.append(_KIND_INDEX[kind])
        self.times.append(at)
        self.real_times.append(real_time)
        self.data.append(data)

    def read(self) -> list[StreamEvent]:
        return [
            StreamEvent(n, _KINDS[kind], at, real_time, data)
            for n, (kind, at, real_time, data) in enumerate(
                zip(self.kinds, self.times, self.real_times, self.data, strict=True)
            )
        ]


@dataclasses.dataclass(slots=True, eq=False)
class Entry:
    """One request. Recording sits on the path of every request, so what the journal shows is derived from the
    raw parts only when it is read."""

    seq: int
    time: float
    real_time: float
    method: str
    path: str
    raw_query: bytes
    raw_headers: RawHeaders  # lower-case names, in the order received (bounded, see bounded_headers)
    token: str | None
    token_number: int | None  # the token's number in the order issued (0: one never issued; None: no token)
    user_id: str | None
    status: int | None = None
    code: int | None = None
    response_headers: RawHeaders = ()
    request_size: int = 0
    request_digest: typing.Any = None  # a hashlib object while the body arrives
    response_size: int = 0
    stream: _Events | None = None  # a /run_sse stream's events (None for other answers)
    end: StreamEnd | None = None
    complete: bool = False
    journal: Journal | None = None
    #: The bytes this entry holds, roughly: what the journal's byte bound counts (kept as it grows, since the
    #: journal reads it on the path of every request).
    weight: int = 0

    # -- written while the request runs -------------------------------------------------------------------------

    def body_chunk(self, chunk: bytes) -> None:
        if self.request_digest is None:
            self.request_digest = hashlib.sha256()
        self.request_size += len(chunk)
        self.request_digest.update(chunk)

    def started(self, status: int, headers: RawHeaders) -> None:
        self.status = status
        self.response_headers = headers
        journal = self.journal  # _notify, inlined: this runs for every request
        if journal is not None and (journal._listeners or journal._changed is not None):
            journal.notify(self, Change.RESPONSE)

    def start_stream(self) -> None:
        self.stream = _Events()

    def add_event(self, kind: EventKind, at: float, data: bytes) -> None:
        stream = self.stream
        if stream is None or len(stream) >= MAX_EVENTS_PER_ENTRY:
            return
        block = _cut(data.rstrip(b"\n"), MAX_EVENT_BYTES)
        stream.add(kind, at, time.time(), block)
        self.weight += len(block) + _EVENT_OVERHEAD
        if self.journal is not None:
            self.journal.grew(len(block) + _EVENT_OVERHEAD)
        self._notify(Change.EVENT)

    def finish(self, end: StreamEnd, *, complete: bool | None = None) -> None:
        """The answer is over; the first call counts. ``complete``: whether it went out whole (by default, unless
        the client left first)."""
        if self.end is not None:
            return
        self.end = end
        self.complete = end is not StreamEnd.CLIENT_GONE if complete is None else complete
        journal = self.journal  # _notify, inlined: this runs for every request
        if journal is not None and (journal._listeners or journal._changed is not None):
            journal.notify(self, Change.END)

    def _notify(self, change: Change) -> None:
        journal = self.journal
        if journal is not None and (journal._listeners or journal._changed is not None):  # anyone listening or waiting?
            journal.notify(self, change)

    # -- read -------------------------------------------------------------------------------------------------------

    @property
    def events(self) -> list[StreamEvent] | None:
        """A stream's events so far (None for other answers)."""
        return None if self.stream is None else self.stream.read()

    @property
    def token_ref(self) -> str | None:
        """How the journal names the bearer token without showing it: ``token#N`` in the order issued, or
        ``unknown``."""
        number = self.token_number
        return None if number is None else f"token#{number}" if number else "unknown"

    @property
    def query(self) -> str:
        return self.raw_query.decode("latin-1")

    @property
    def headers_present(self) -> list[str]:
        """The names of the request headers, lower-case, in the order received."""
        return [name.decode("latin-1") for name, _ in self.raw_headers]

    def header(self, name: str) -> str | None:
        """The first value of a request header (as kept: cut when it was long)."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.raw_headers:
            if key == wanted:
                return value.decode("latin-1")
        return None

    @property
    def attribution(self) -> dict[str, str | None]:
        """The first value of each attribution header (``source``, ``version``, ``platform``), or None."""
        return {key: self.header(name.decode()) for key, name in _ATTRIBUTION}

    @property
    def body_sha256(self) -> str | None:
        return None if self.request_digest is None else str(self.request_digest.hexdigest())

    @property
    def blocks(self) -> list[str] | None:
        """A stream's events as they went on the wire, without their blank lines (None for other answers)."""
        return None if self.events is None else [_text(e.data) for e in self.events]

    @property
    def text_sent(self) -> bool:
        return self.stream is not None and _KIND_INDEX[EventKind.TEXT] in self.stream.kinds

    def to_dict(self) -> JournalEntry:
        """The entry as ``GET /__mock__/journal`` shows it (see the admin spec's ``JournalEntry``)."""
        events = self.events
        stream = None
        if events is not None:
            shown = [
                JournalEvent(n=e.n, kind=e.kind.value, time=e.time, real_time=e.real_time, data=_text(e.data))
                for e in events
            ]
            stream = JournalStream(events=shown, end=None if self.end is None else self.end.value)
        return JournalEntry(
            seq=self.seq,
            time=self.time,
            real_time=self.real_time,
            method=self.method,
            path=self.path,
            query=self.query,
            status=self.status,
            code=self.code,
            user_id=self.user_id,
            token_ref=self.token_ref,
            headers_present=self.headers_present,
            attribution=self.attribution,
            request=JournalRequest(
                headers=_pairs(self.raw_headers, mask=True),
                body_size=self.request_size,
                body_sha256=self.body_sha256,
            ),
            response=JournalResponse(headers=_pairs(self.response_headers), body_size=self.response_size),
            events=self.blocks,
            stream=stream,
            end=None if self.end is None else self.end.value,
            complete=self.complete,
        )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _pairs(raw: RawHeaders, *, mask: bool = False) -> list[list[str]]:
    """Headers as ``[name, value]`` pairs; with ``mask``, the credentials of ``authorization`` are hidden."""
    shown = []
    for name, value in raw:
        text = value.decode("latin-1")
        if mask and name == _AUTHORIZATION:
            scheme, _, secret = text.partition(" ")
            text = f"{scheme} <redacted>" if secret else "<redacted>"
        shown.append([name.decode("latin-1"), text])
    return shown


class Query(typing.TypedDict, total=False):
    """Which entries to find: ``path`` is a glob, ``token`` the bearer token, ``since`` the first sequence number,
    ``limit`` the newest so many, ``where`` any test of an entry."""

    method: str | None
    path: str | None
    token: str | None
    since: int
    limit: int | None
    where: typing.Callable[[Entry], bool] | None


class Journal:
    """The last ``size`` requests (and at most ``MAX_BYTES`` of them), oldest first."""

    def __init__(self, size: int, *, max_bytes: int = MAX_BYTES) -> None:
        self._entries: collections.deque[Entry] = collections.deque()
        self._size = max(size, 1)
        self._max_bytes = max_bytes
        self._bytes = 0
        self._seq = 0
        self._listeners: list[typing.Callable[[Entry, Change], None]] = []
        # Made only while someone waits in wait_for: recording a request then costs no event.
        self._changed: anyio.Event | None = None

    def clear(self) -> None:
        """Forget every entry and number from 1 again (a reset); listeners stay."""
        for entry in self._entries:
            entry.journal = None
        self._entries.clear()
        self._bytes = 0
        self._seq = 0
        self.notify_all()

    def resize(self, size: int) -> None:
        self._size = max(size, 1)
        self._trim()

    @property
    def footprint(self) -> int:
        """The bytes the entries hold, as ``Entry.weight`` counts them."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def record(
        self,
        now: float,
        method: str,
        path: str,
        raw_query: bytes,
        raw_headers: RawHeaders,
        header_bytes: int,
        token: str | None,
        token_number: int | None,
        user_id: str | None,
    ) -> Entry:
        self._seq += 1
        # bounded_headers and _cut, their common case inlined: this runs for every request.
        if header_bytes <= _SMALL_HEAD and len(raw_headers) <= MAX_HEADERS:
            kept, kept_bytes = raw_headers, header_bytes
        else:
            kept, kept_bytes = bounded_headers(raw_headers, header_bytes)
        query = raw_query if len(raw_query) <= MAX_EVENT_BYTES else _cut(raw_query, MAX_EVENT_BYTES)
        weight = _ENTRY_OVERHEAD + len(path) + len(query) + kept_bytes
        entry = Entry(
            self._seq,
            now,
            time.time(),
            method,
            path,
            query,
            kept,
            token,
            token_number,
            user_id,
            journal=self,
            weight=weight,
        )
        entries = self._entries
        entries.append(entry)
        self._bytes += weight
        if len(entries) > self._size:  # a full journal lets its oldest entry go (_trim's common case, inlined)
            gone = entries.popleft()
            self._bytes -= gone.weight
            gone.journal = None
        if self._bytes > self._max_bytes:
            self._trim()
        if self._listeners or self._changed is not None:  # anyone listening or waiting? If not, nothing to tell
            self.notify(entry, Change.REQUEST)
        return entry

    def grew(self, by: int) -> None:
        self._bytes += by
        if self._bytes > self._max_bytes:
            self._trim()

    def _trim(self) -> None:
        entries = self._entries
        while len(entries) > self._size or (self._bytes > self._max_bytes and len(entries) > 1):
            gone = entries.popleft()
            self._bytes -= gone.weight
            gone.journal = None

    # -- following ---------------------------------------------------------------------------------------------------

    def subscribe(self, listener: typing.Callable[[Entry, Change], None]) -> typing.Callable[[], None]:
        """Call ``listener(entry, change)`` on every change from now on; returns the function that stops it.

        Listeners run inline on the server's event loop: they must be quick and must not raise.
        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def notify_all(self) -> None:
        """Wake every ``wait_for`` to look again (the server is stopping, say)."""
        if self._changed is not None:
            changed, self._changed = self._changed, None
            changed.set()

    def notify(self, entry: Entry, change: Change) -> None:
        for listener in self._listeners:
            listener(entry, change)
        self.notify_all()

    @property
    def next_seq(self) -> int:
        return self._seq + 1

    def find(self, **query: typing.Unpack[Query]) -> list[Entry]:
        method, path, token = query.get("method"), query.get("path"), query.get("token")
        since, limit, where = query.get("since", 0), query.get("limit"), query.get("where")
        found = [
            e
            for e in self._entries
            if e.seq >= since
            and (method is None or e.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(e.path, path))
            and (token is None or e.token == token)
            and (where is None or where(e))
        ]
        return found[-limit:] if limit else found

    async def wait_for(
        self, seconds: float, *, stop: typing.Callable[[], bool] | None = None, **query: typing.Unpack[Query]
    ) -> list[Entry]:
        """Entries matching ``query``; waits up to ``seconds`` (real time) for a first one to appear or change.

        ``stop`` ends the wait early, with what there is (the server is stopping).
        """
        with anyio.move_on_after(seconds):
            while not (found := self.find(**query)):
                if stop is not None and stop():
                    break
                if self._changed is None:
                    self._changed = anyio.Event()
                await self._changed.wait()
            return found
        return []
