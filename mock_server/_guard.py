"""The limits every connection of ``nemo-mock serve`` is held to, and the part of the protocols that keeps them.

uvicorn (0.55) leaves a client three ways to hold the emulator's memory or connections: under httptools a request
head has no size limit (httptools gathers a header however long it grows), no timeout covers a connection until
its head is complete (``timeout_keep_alive`` runs only between requests), and none covers a body that stops short
of its ``Content-Length``. uvicorn has no hook for any of these, so ``_server`` and ``_httptools`` subclass its
protocol classes, with ``Guard`` mixed in:

* A request head (request line, header lines and the blank line after them) longer than ``HEAD_BYTES`` is
  answered 431 in the protocol's envelope and the connection is closed. The parser is never handed more than
  the limit of an unfinished head (h11, or a pipelined head under httptools: one read more), so an oversized
  head is never held whole.
* A head must be complete within ``HEAD_TIMEOUT`` seconds of the connection opening or of the previous answer
  (408, or a plain close if not one byte of it came; a connection that sends nothing at all is closed after
  ``KEEP_ALIVE`` seconds, new or between requests, as uvicorn closes idle keep-alive connections).
* A body must make progress: after ``BODY_TIMEOUT`` seconds without a byte, while the server waits for one, the
  request ends (408 if its answer has not started) and the application sees ``http.disconnect``.
* Requests the parser cannot read get the envelope too (uvicorn answers them in plain text), and at shutdown a
  request whose body is still arriving is cut at once instead of holding the server up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import http
import math
import typing

import uvicorn
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.server import ServerState

from nemo_contract.protocol import Code
from nemo_contract.protocol.shapes import dumps, error

__all__ = [
    "BODY_TIMEOUT",
    "DEFAULT_LIMITS",
    "GRACEFUL_SHUTDOWN",
    "HEAD_BYTES",
    "HEAD_TIMEOUT",
    "KEEP_ALIVE",
    "Guard",
    "Limits",
    "Phase",
    "RequestCycle",
    "envelope_answer",
]

#: The longest request head accepted, in bytes: nginx's default buffers for large heads hold as much.
HEAD_BYTES = 32 * 1024
#: Seconds a client has to send a whole head, from the connection opening or the previous answer.
HEAD_TIMEOUT = 10.0
#: Seconds a request body may go without a byte while the server waits for one (not a limit on the whole body).
BODY_TIMEOUT = 10.0
#: Seconds an idle connection is kept open (uvicorn's ``timeout_keep_alive``).
KEEP_ALIVE = 5
#: Seconds the server waits for open requests at shutdown before cancelling them (streams end within 2 s).
GRACEFUL_SHUTDOWN = 5


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """The limits one server applies to every connection (tests shorten the timeouts)."""

    head_bytes: int = HEAD_BYTES
    head_timeout: float = HEAD_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    keep_alive: int = KEEP_ALIVE


#: The limits ``nemo-mock serve`` runs with.
DEFAULT_LIMITS = Limits()


class Phase(enum.Enum):
    """Whose turn it is on a connection."""

    HEAD = "head"  # the client owes a request head
    BODY = "body"  # the client owes the rest of a body
    BUSY = "busy"  # the server is answering


class RequestCycle(typing.Protocol):
    """What both of uvicorn's request cycles have and the guard uses."""

    response_started: bool
    response_complete: bool
    disconnected: bool
    waiting_for_100_continue: bool
    message_event: asyncio.Event


def envelope_answer(status: int, message: str, default_headers: typing.Iterable[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP/1.1 answer: ``{"code":400,"message":...,"data":null}`` with ``status``, then close."""
    body = dumps(error(Code.BAD_REQUEST, message))
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode("ascii")]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [b"content-type: application/json", b"content-length: %d" % len(body), b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class Guard:
    """What both protocol classes add to uvicorn's: one timer per connection, and envelope answers that close it.

    Phase changes only note when they happened; the timer works out, when it fires, the deadline of the phase
    the connection is in then. It never sleeps longer than the shortest limit, so any deadline a phase change
    sets is still ahead of it: a request costs no timer operation at all, an open connection one wake-up per
    shortest limit.
    """

    limits: typing.ClassVar[Limits] = DEFAULT_LIMITS

    # uvicorn's protocol classes provide these.
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    server_state: ServerState
    flow: FlowControl

    _timer: asyncio.TimerHandle | None
    _head_since: float  # when the current head became due
    _last_read: float  # when the last bytes arrived
    _waited = False  # at the last look, the body was not due (not read, or a 100 not yet sent)

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, typing.Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        typing.cast(typing.Any, super()).__init__(config, server_state, app_state, _loop)
        self._prepare()

    def _prepare(self) -> None:
        """Set up what the protocol class adds (after uvicorn's own set-up)."""

    def _phase(self) -> Phase:
        raise NotImplementedError

    def _head_started(self) -> bool:
        """Whether any byte of the head now due has arrived."""
        raise NotImplementedError

    def _head_refused(self) -> bool:
        """Whether the parser stopped because the head now due outgrew the limit."""
        raise NotImplementedError

    def _open_cycle(self) -> RequestCycle | None:
        """The request cycle of the latest request, if any (both uvicorn protocols keep it as ``cycle``)."""
        cycle: RequestCycle | None = getattr(self, "cycle", None)
        return cycle

    # Cooperative overrides of uvicorn's protocol methods: ``Guard`` comes first in the protocol classes' bases,
    # so ``super()`` here is the uvicorn protocol.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        typing.cast(typing.Any, super()).connection_made(transport)
        self._guard_start()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard_stop()
        typing.cast(typing.Any, super()).connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser cannot read, in the envelope; a head stopped for its size is
        answered 431."""
        if self._head_refused():
            self._refuse_head()
        else:
            self._answer(400, "invalid HTTP request")

    def shutdown(self) -> None:
        self._cut_at_shutdown()
        if not self.transport.is_closing():
            typing.cast(typing.Any, super()).shutdown()

    def _guard_start(self) -> None:
        self._head_since = self._last_read = now = self.loop.time()
        self._timer = self.loop.call_at(now + self._span(), self._watch)

    def _guard_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _answered(self) -> None:
        """An answer is complete: the next head is due from now."""
        self._head_since = self._last_read = self.loop.time()

    def _span(self) -> float:
        limits = self.limits
        return min(limits.keep_alive, limits.head_timeout, limits.body_timeout)

    def _watch(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        limits = self.limits
        phase = self._phase()
        if phase is Phase.BODY:
            cycle = self._open_cycle()
            waiting = self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)
            # The server is not reading, or the client waits for its 100: not late. Nor just after: the client
            # was told to go on at some moment since the last look, and its timeout runs from this look.
            if waiting or self._waited:
                self._last_read = now
            self._waited = waiting
            due = self._last_read + limits.body_timeout
        elif phase is Phase.HEAD:
            due = self._head_since + (limits.head_timeout if self._head_started() else limits.keep_alive)
        else:
            due = math.inf
        if now < due:
            self._timer = self.loop.call_at(min(due, now + self._span()), self._watch)
        elif phase is Phase.BODY:
            self._answer(408, f"request body timed out: no bytes for {limits.body_timeout:g} s")
        elif self._head_started():
            self._answer(408, f"request head timed out: not complete within {limits.head_timeout:g} s")
        else:
            self.transport.close()  # an idle connection: nothing to answer

    def _answer(self, status: int, message: str) -> None:
        """Answer ``status`` in the envelope and close; if the application is answering, just close.

        A request the application holds is marked disconnected first: its ``receive()`` gives
        ``http.disconnect`` at once and whatever it still sends goes nowhere.
        """
        cycle = self._open_cycle()
        answering = False
        if cycle is not None and not cycle.response_complete:
            answering = cycle.response_started
            cycle.disconnected = True
            cycle.message_event.set()
        if not answering and not self.transport.is_closing():
            self.transport.write(envelope_answer(status, message, self.server_state.default_headers))
        self.transport.close()

    def _refuse_head(self) -> None:
        self._answer(431, f"request head too large: over {self.limits.head_bytes} bytes")

    def _cut_at_shutdown(self) -> None:
        """A body still arriving when the server stops would hold it up: the request ends now."""
        if self._phase() is Phase.BODY:
            cycle = self._open_cycle()
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
            self.transport.close()
