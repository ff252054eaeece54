"""The request journal: a bounded record of every request, and a way to wait for one to arrive."""

from __future__ import annotations

import collections
import dataclasses
import fnmatch
import re
import typing

import anyio

from nemo_contract.protocol import ATTRIBUTION_HEADERS

__all__ = ["Entry", "Journal"]

#: At most this many events of one stream are kept, so a long stream cannot grow the journal without bound.
MAX_EVENTS_PER_ENTRY = 1000
#: How much of a response body an entry keeps: enough for the code at the start of an envelope.
HEAD_BYTES = 64
_LEADING_CODE = re.compile(rb'\{"code":(-?[0-9]{1,9})[,}]')
#: (journal key, raw lower-case header name) of each attribution header.
_ATTRIBUTION = tuple(
    (h.value.removeprefix("X-Skill-").lower(), h.value.lower().encode("latin-1")) for h in ATTRIBUTION_HEADERS
)


@dataclasses.dataclass(slots=True)
class Entry:
    """One request. It keeps the request's raw headers and derives what the journal shows from them only when
    read: recording sits on the path of every request, reading is rare."""

    seq: int
    time: float
    method: str
    path: str
    raw_query: bytes
    raw_headers: typing.Sequence[tuple[bytes, bytes]]  # as in the ASGI scope: lower-case names
    token: str | None
    user_id: str | None
    status: int | None = None
    head: bytes = b""  # the first bytes of the response body
    streamed: bool = False
    events: list[str] | None = None
    complete: bool = False

    @property
    def code(self) -> int | None:
        """The envelope's code once the response is complete (0 for a stream)."""
        if not self.complete:
            return None
        if self.streamed:
            return 0
        # The emulator's JSON starts with its code, or with the success flag of the render poll's other shape.
        found = _LEADING_CODE.match(self.head)
        if found is not None:
            return int(found[1])
        if self.head.startswith(b'{"success":true'):
            return 0
        return None if self.status is None or self.status >= 400 else 0

    @property
    def query(self) -> str:
        return self.raw_query.decode("latin-1")

    @property
    def headers_present(self) -> list[str]:
        """The names of the headers sent, in title case, sorted."""
        return sorted({name.decode("latin-1").title() for name, _ in self.raw_headers})

    @property
    def attribution(self) -> dict[str, str | None]:
        """The first value of each attribution header (``source``, ``version``, ``platform``), or None."""
        return {key: self._first(name) for key, name in _ATTRIBUTION}

    def _first(self, name: bytes) -> str | None:
        for key, value in self.raw_headers:
            if key == name:
                return value.decode("latin-1")
        return None

    def add_event(self, event: str) -> None:
        if self.events is None:
            self.events = []
        if len(self.events) < MAX_EVENTS_PER_ENTRY:
            self.events.append(event)

    def to_dict(self) -> dict[str, typing.Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "code": self.code,
            "user_id": self.user_id,
            "headers_present": self.headers_present,
            "attribution": self.attribution,
            "events": self.events,
            "complete": self.complete,
        }


class Journal:
    """The last ``size`` requests, oldest first."""

    def __init__(self, size: int) -> None:
        self._entries: collections.deque[Entry] = collections.deque(maxlen=max(size, 1))
        self._seq = 0
        # Made only while someone waits in wait_for: recording a request then costs no event.
        self._arrived: anyio.Event | None = None

    def resize(self, size: int) -> None:
        self._entries = collections.deque(self._entries, maxlen=max(size, 1))

    def record(
        self,
        time: float,
        method: str,
        path: str,
        raw_query: bytes,
        raw_headers: typing.Sequence[tuple[bytes, bytes]],
        token: str | None,
        user_id: str | None,
    ) -> Entry:
        self._seq += 1
        entry = Entry(self._seq, time, method, path, raw_query, raw_headers, token, user_id)
        self._entries.append(entry)
        if self._arrived is not None:
            arrived, self._arrived = self._arrived, None
            arrived.set()
        return entry

    @property
    def next_seq(self) -> int:
        return self._seq + 1

    def find(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        token: str | None = None,
        since: int = 0,
        limit: int | None = None,
    ) -> list[Entry]:
        found = [
            e
            for e in self._entries
            if e.seq >= since
            and (method is None or e.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(e.path, path))
            and (token is None or e.token == token)
        ]
        return found[-limit:] if limit else found

    async def wait_for(self, seconds: float, **query: typing.Any) -> list[Entry]:
        """Entries matching ``query``; waits up to ``seconds`` (real time) for a first one to arrive."""
        with anyio.move_on_after(seconds):
            while not (found := self.find(**query)):
                if self._arrived is None:
                    self._arrived = anyio.Event()
                await self._arrived.wait()
            return found
        return []
