"""One test's cassette for the pytest plugin (``plugin``): replaying it, recording it, or both (mode ``new``).

Kept apart from ``plugin`` so that the plugin, which pytest imports in every run, imports none of this (httpx, the
cassette, the replay) until a test asks for the ``nemo_cassette`` fixture.
"""

from __future__ import annotations

import pathlib
import typing

import httpx

from ._cassette import Cassette, load
from ._errors import CassetteMiss
from ._match import Matcher
from ._recorder import Recorder
from ._replay import AsyncReplayTransport, ReplayTransport, parse_speed
from ._transport import AsyncRecordingTransport, RecordingTransport

__all__ = ["MODES", "CassetteSession"]

MODES = ("none", "once", "new", "all")

_Replay = typing.TypeVar("_Replay", AsyncReplayTransport, ReplayTransport)


class CassetteSession:
    """``mode``: ``none`` replays only (nothing reaches the network); ``once`` replays an existing cassette, else
    records one; ``new`` replays, and sends what the cassette has no answer for to ``upstream``, recording it at
    the cassette's end; ``all`` records afresh."""

    def __init__(
        self,
        path: pathlib.Path,
        *,
        mode: str,
        speed: float | str = "instant",
        tail: str = "error",
        strict: bool = False,
        upstream: str,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"nemo_cassette mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.path, self.mode, self.strict = path, mode, strict
        self.speed = parse_speed(speed)
        self.base_url = upstream.rstrip("/")
        self.recorder: Recorder | None = None
        self.cassette: Cassette | None = None
        self.matcher: Matcher | None = None
        #: Every miss, raised or (mode ``new``) sent on: the test fails on them at teardown.
        self.misses: list[CassetteMiss] = []
        if mode == "none" or (mode in ("once", "new") and path.exists()):
            if not path.exists():
                raise FileNotFoundError(f"{path} does not exist, and mode none only replays (record it with once)")
            self.cassette = load(path)
            self.matcher = Matcher(self.cassette, tail=tail)
            if self.cassette.meta.target:
                self.base_url = self.cassette.meta.target
        else:  # once or new without a cassette yet, or all: record one from the start
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.recorder = Recorder(self.path, target=self.base_url, overwrite=True)

    @property
    def replaying(self) -> bool:
        return self.matcher is not None

    def recording(self) -> Recorder:
        """The recorder (in mode ``new``, made at the first miss: it appends to the cassette)."""
        if self.recorder is None:
            self.recorder = Recorder(self.path, target=self.base_url, append=True)
        return self.recorder

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx async transport: the cassette's answers, or the upstream's recorded."""
        return _AsyncTransport(self)

    @property
    def sync_transport(self) -> httpx.BaseTransport:
        return _SyncTransport(self)

    def async_client(self, **options: typing.Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, **{"base_url": self.base_url, **options})

    def client(self, **options: typing.Any) -> httpx.Client:
        return httpx.Client(transport=self.sync_transport, **{"base_url": self.base_url, **options})

    def unused(self) -> list[str]:
        if self.matcher is None:
            return []
        return [f"#{e.x} {e.request.op or e.request.path}" for e in self.matcher.unused()]

    def finish(self, *, raise_miss: bool = True) -> None:
        """The test is over: close a recording (and scan it); fail on a miss (but in mode ``new``; and not when the
        test already failed, with it most likely) or, strict, on recorded exchanges never asked for."""
        if self.recorder is not None:
            self.recorder.close()
        if self.misses and self.mode != "new" and raise_miss:
            raise self.misses[0]
        unused = self.unused()
        if self.strict and unused:
            raise AssertionError(f"{self.path}: recorded exchanges never asked for: {', '.join(unused)}")


def _replay(session: CassetteSession, kind: type[_Replay]) -> _Replay | None:
    """A replay transport of ``kind`` on the session's cassette (sharing its matcher), if there is one."""
    if session.cassette is None:
        return None
    return kind(session.cassette, speed=session.speed, matcher=session.matcher)


def _sends_on(session: CassetteSession, miss: CassetteMiss) -> bool:
    """Keeps ``miss`` for teardown; whether its request goes on to the upstream (mode ``new``) or fails now."""
    session.misses.append(miss)
    return session.mode == "new"


class _AsyncTransport(httpx.AsyncBaseTransport):
    def __init__(self, session: CassetteSession) -> None:
        self.session = session
        self.replay = _replay(session, AsyncReplayTransport)
        self.upstream: AsyncRecordingTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.replay is not None:
            try:
                return await self.replay.handle_async_request(request)
            except CassetteMiss as miss:
                if not _sends_on(self.session, miss):
                    raise
        if self.upstream is None:
            self.upstream = AsyncRecordingTransport(httpx.AsyncHTTPTransport(), recorder=self.session.recording())
        return await self.upstream.handle_async_request(request)

    async def aclose(self) -> None:
        if self.upstream is not None:
            await self.upstream.aclose()


class _SyncTransport(httpx.BaseTransport):
    def __init__(self, session: CassetteSession) -> None:
        self.session = session
        self.replay = _replay(session, ReplayTransport)
        self.upstream: RecordingTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.replay is not None:
            try:
                return self.replay.handle_request(request)
            except CassetteMiss as miss:
                if not _sends_on(self.session, miss):
                    raise
        if self.upstream is None:
            self.upstream = RecordingTransport(httpx.HTTPTransport(), recorder=self.session.recording())
        return self.upstream.handle_request(request)

    def close(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
