"""uvicorn's httptools protocol with the server's limits (``_guard`` says which and why).

A module of its own because httptools is optional: without it uvicorn, and ``_server``, fall back to h11.

httptools takes whatever it is fed and hands out headers only once each is whole, so the head limit is kept by
feeding it: while a head is due, never more bytes than the limit leaves room for. A head still unfinished when
that room is used up is over the limit. When a pipelined request's head starts inside a read, right after the
previous request's end, the parser does not say where, so that read's share of it goes uncounted; such a head
(seen by a message ending earlier in the same bytes, or by uvicorn's new scope for a message begun in them) is
checked once parsed instead, by the size of its request line and header lines.

The parser calls these methods for every request, so they do little and call uvicorn's directly.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ._guard import Guard, Phase

__all__ = ["GuardedHttpToolsProtocol"]


# uvicorn's own methods, called directly rather than through super(): these run several times per request.
_base_data_received = HttpToolsProtocol.data_received
_base_headers_complete = HttpToolsProtocol.on_headers_complete
_base_message_complete = HttpToolsProtocol.on_message_complete
_base_response_complete = HttpToolsProtocol.on_response_complete


class _HeadTooLarge(Exception):
    """Raised inside the parser's callback to stop it; the protocol answers 431."""


class GuardedHttpToolsProtocol(Guard, HttpToolsProtocol):
    """uvicorn's httptools protocol with the server's limits."""

    def _prepare(self) -> None:
        self._in_head = True  # the parser is in (or waiting for) a request head
        self._head_bytes = 0  # bytes fed to the parser since that head became due
        self._head_exact = True  # False when the head began inside a read, uncounted
        self._ended: object = None  # the scope of a message that ended in the bytes being fed
        self._refused = False
        self._refusal_due = False  # a 431 waits for the answers to the requests before it

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the parser stopped at a refused head; the connection ends once it is answered
        self._last_read = self.loop.time()
        limit = self.limits.head_bytes
        if not self._in_head or self._head_bytes + len(data) <= limit:  # the common case: one feed
            if self._in_head:
                self._head_bytes += len(data)
            self._ended = None
            _base_data_received(self, data)
            if self._ended is not None and self.scope is not self._ended:
                self._head_exact = False  # as in _feed, inlined: this is the path of nearly every read
            return
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
            self._feed(piece)
            if self.transport.is_closing():
                return

    def _feed(self, data: bytes) -> None:
        self._ended = None
        _base_data_received(self, data)
        # uvicorn gives every message a new scope when it begins: a message that began after another ended in
        # these same bytes had its first bytes fed uncounted.
        if self._ended is not None and self.scope is not self._ended:
            self._head_exact = False

    # -- parser callbacks ---------------------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._in_head = False
        if not self._head_exact or self._ended is not None:  # this head began after a message in the same bytes
            self._head_exact = True
            method = self.parser.get_method()
            # "METHOD SP target SP HTTP/1.1 CRLF", "name: value CRLF" per header, and the blank line.
            size = len(method) + len(self.url) + 12 + sum(len(n) + len(v) + 4 for n, v in self.headers) + 2
            if size > self.limits.head_bytes:
                self._refused = True
                raise _HeadTooLarge
        _base_headers_complete(self)

    def on_message_complete(self) -> None:
        _base_message_complete(self)
        self._in_head = True
        self._head_bytes = 0
        self._ended = self.scope

    # -- the rest of uvicorn's protocol -------------------------------------------------------------------------

    def on_response_complete(self) -> None:
        _base_response_complete(self)
        if self.transport.is_closing():
            return
        if self._refusal_due and not self.pipeline and self.cycle.response_complete:
            super()._refuse_head()
        else:
            self._answered()  # the next head is due from now

    def _refuse_head(self) -> None:
        self._refused = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # Requests sent before this head (pipelined) are still being answered: the 431 must follow their
            # answers, or the client would take it for the answer to the first of them.
            self._refusal_due = True
            self.flow.pause_reading()
            return
        super()._refuse_head()

    def _head_refused(self) -> bool:
        return self._refused  # uvicorn takes the parser's stop at a refused head for an invalid request

    def _phase(self) -> Phase:
        if self._refusal_due:
            return Phase.BUSY
        if not self._in_head:
            return Phase.BODY
        cycle = self.cycle
        return Phase.HEAD if cycle is None or cycle.response_complete else Phase.BUSY

    def _head_started(self) -> bool:
        return self._head_bytes > 0 or not self._head_exact
