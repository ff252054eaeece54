"""uvicorn's httptools protocol with the server's limits (``_guard`` says which and why).

A module of its own because httptools is optional: without it uvicorn, and ``_server``, fall back to h11.

httptools takes whatever it is fed and hands out headers only once each is whole, so the head limit is kept by
feeding it: while a head is due, never more bytes than the limit leaves room for. A head still unfinished when
that room is used up is over the limit. When a pipelined request's head starts inside a read, right after the
previous request's end, the parser does not say where, so that read's share of it goes uncounted; such a head
is checked once parsed instead, by the size of its request line and header lines.
"""

from __future__ import annotations

import asyncio
import typing

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ._guard import Guard, Phase, RequestCycle

__all__ = ["GuardedHttpToolsProtocol"]


class _HeadTooLarge(Exception):
    """Raised inside the parser's callback to stop it; the protocol answers 431."""


class GuardedHttpToolsProtocol(HttpToolsProtocol, Guard):
    """uvicorn's httptools protocol with the server's limits."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, typing.Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._in_head = True  # the parser is in (or waiting for) a request head
        self._head_bytes = 0  # bytes fed to the parser since that head became due
        self._head_exact = True  # False when the head began inside a read, uncounted
        self._after_message = False  # a message ended in the bytes being fed
        self._head_refused = False
        self._refusal_due = False  # a 431 waits for the answers to the requests before it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._guard_start()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard_stop()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's data_received, feeding a due head no further than its limit.
        if self._head_refused:
            return  # the parser stopped at a refused head; the connection ends once it is answered
        self._unset_keepalive_if_required()
        self._last_read = self.loop.time()
        limit = self.limits.head_bytes
        while data:
            if not self._in_head:
                self._feed(data)
                return
            room = limit - self._head_bytes
            if room <= 0:  # the limit is reached and the head is not over
                self._refuse_head()
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            self._after_message = False
            if not self._feed(piece):
                return

    def _feed(self, data: bytes) -> bool:
        """Parse bytes, handling the parser's errors as uvicorn does; False once the connection is done."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._head_refused:
                self._refuse_head()
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return False
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self._guard_stop()
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        return not self.transport.is_closing()

    # -- parser callbacks ---------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._after_message:
            self._head_exact = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        if not self._head_exact:
            self._head_exact = True
            method = self.parser.get_method()
            # "METHOD SP target SP HTTP/1.1 CRLF", "name: value CRLF" per header, and the blank line.
            size = len(method) + len(self.url) + 12 + sum(len(n) + len(v) + 4 for n, v in self.headers) + 2
            if size > self.limits.head_bytes:
                self._head_refused = True
                raise _HeadTooLarge
        super().on_headers_complete()
        self._arm(self._last_read + self.limits.body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._after_message = True

    # -- the rest of uvicorn's protocol -------------------------------------------------------------------------

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self._refusal_due and not self.pipeline and self.cycle.response_complete:
            super()._refuse_head()
        else:
            self._answered()

    def _refuse_head(self) -> None:
        self._head_refused = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # Requests sent before this head (pipelined) are still being answered: the 431 must follow their
            # answers, or the client would take it for the answer to the first of them.
            self._refusal_due = True
            self.flow.pause_reading()
            return
        super()._refuse_head()

    def send_400_response(self, msg: str) -> None:
        self._answer(400, "invalid HTTP request")

    def shutdown(self) -> None:
        self._cut_at_shutdown()
        if not self.transport.is_closing():
            super().shutdown()

    def _phase(self) -> Phase:
        if self._refusal_due:
            return Phase.BUSY
        if not self._in_head:
            return Phase.BODY
        cycle = self.cycle
        return Phase.HEAD if cycle is None or cycle.response_complete else Phase.BUSY

    def _head_started(self) -> bool:
        return self._head_bytes > 0 or not self._head_exact

    def _open_cycle(self) -> RequestCycle | None:
        return self.cycle
