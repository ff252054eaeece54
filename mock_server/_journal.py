"""The request journal: a bounded record of every request, and a way to wait for one to arrive."""

from __future__ import annotations

import collections
import dataclasses
import fnmatch
import typing

import anyio

__all__ = ["Entry", "Journal"]

#: At most this many events of one stream are kept, so a long stream cannot grow the journal without bound.
MAX_EVENTS_PER_ENTRY = 1000


@dataclasses.dataclass(slots=True)
class Entry:
    seq: int
    time: float
    method: str
    path: str
    query: str
    token: str | None
    headers_present: list[str]
    attribution: dict[str, str | None]
    status: int | None = None
    code: int | None = None
    user_id: str | None = None
    events: list[str] | None = None
    complete: bool = False

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

    def record(self, **fields: typing.Any) -> Entry:
        self._seq += 1
        entry = Entry(seq=self._seq, **fields)
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
