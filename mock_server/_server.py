"""The HTTP server under ``nemo-mock serve``: uvicorn with its protocols held to the limits of ``_guard``.

The protocol classes are uvicorn's own, subclassed (h11 here, httptools in ``_httptools``) and handed to uvicorn
as ``Config(http=<class>)``, which uvicorn documents as taking a protocol class as well as a name.
"""

from __future__ import annotations

import asyncio
import importlib.util
import typing

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._guard import DEFAULT_LIMITS, GRACEFUL_SHUTDOWN, Guard, Limits, Phase

__all__ = ["GuardedH11Protocol", "protocol_class", "server_config"]


class _HeadLimitedConnection(h11.Connection):
    """h11's server connection, refusing a head over the limit even when it arrives whole in one read.

    h11's ``max_incomplete_event_size`` bounds only a head still incomplete; one that came complete in a single
    read passes whatever its size. The bytes buffered since the request became due, minus what is left once
    h11 hands out the request, are the head's exact size.
    """

    def __init__(self, head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=head_bytes)
        self.head_bytes = head_bytes
        #: Bytes of the next request received so far (meaningful while ``their_state`` is IDLE).
        self.head_received = 0
        self.head_too_large = False

    def receive_data(self, data: bytes) -> None:
        if self.their_state is h11.IDLE:
            self.head_received += len(data)
        super().receive_data(data)

    def start_next_cycle(self) -> None:
        super().start_next_cycle()
        self.head_received = len(self.trailing_data[0])  # what already came of the next request (pipelining)

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        waiting = self.their_state is h11.IDLE
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            self.head_too_large = waiting and exc.error_status_hint == 431
            raise
        if waiting and type(event) is h11.Request and self.head_received - len(self.trailing_data[0]) > self.head_bytes:
            self.head_too_large = True
            raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        return event


class GuardedH11Protocol(Guard, H11Protocol):
    """uvicorn's h11 protocol with the server's limits (see the module docstring)."""

    def _prepare(self) -> None:
        self._limited = _HeadLimitedConnection(self.limits.head_bytes)
        self.conn = self._limited

    def data_received(self, data: bytes) -> None:
        self._last_read = self.loop.time()
        super().data_received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._answered()

    def _head_refused(self) -> bool:
        return self._limited.head_too_large

    def _phase(self) -> Phase:
        state = self.conn.their_state
        if state is h11.IDLE:
            return Phase.HEAD
        return Phase.BODY if state is h11.SEND_BODY else Phase.BUSY

    def _head_started(self) -> bool:
        return self._limited.head_received > 0


def protocol_class(http: str = "auto", limits: Limits = DEFAULT_LIMITS) -> type[asyncio.Protocol]:
    """The guarded protocol for ``--http`` (auto: httptools when installed, else h11), with ``limits``."""
    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") is not None else "h11"
    base: type[Guard]
    if http == "httptools":
        from ._httptools import GuardedHttpToolsProtocol

        base = GuardedHttpToolsProtocol
    elif http == "h11":
        base = GuardedH11Protocol
    else:
        raise ValueError(f"unknown HTTP implementation: {http!r}")
    if limits == base.limits:
        return typing.cast(type[asyncio.Protocol], base)
    return typing.cast(type[asyncio.Protocol], type(base.__name__, (base,), {"limits": limits}))


def server_config(
    app: typing.Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    http: str = "auto",
    loop: str = "auto",
    log_level: str = "warning",
    limits: Limits = DEFAULT_LIMITS,
) -> uvicorn.Config:
    """uvicorn's configuration for the emulator: the guarded protocol, no websockets, no access log."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_class(http, limits),
        loop=loop,
        ws="none",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=limits.keep_alive,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        lifespan="on",
    )
