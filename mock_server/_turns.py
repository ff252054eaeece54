"""One turn's life on the virtual clock: the events it sends and when, the state it changes, what it costs.

A turn plays its plan (``_agent``) as a task of its own, handing each event to whoever listens (the
``/run_sse`` response) through a memory stream. So what happens does not depend on whether anyone still reads:
when the client goes away, knob ``on_disconnect`` says whether the turn runs to its end unheard (``continue``,
as the real service does: its state change lands and is charged) or stops there (``cancel``).

Credits are frozen when the turn is accepted. At its end they are consumed if the turn completed or changed the
state (however the stream ended: reading to the end is not what a turn is paid for), and refunded only when it
stopped before it changed anything. The session is free for its next turn the moment the turn's last event is
handed out, before the stream closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import string
import typing
import uuid

from nemo_contract.protocol import OnDisconnect
from nemo_contract.protocol.control import StreamEnd
from nemo_contract.protocol.events import EventKind, EventWriter

from ._faults import FaultPlan
from ._store import Account, Session

if typing.TYPE_CHECKING:
    from ._agent import TurnPlan
    from ._emulator import Emulator

__all__ = ["MID_STREAM_ERROR", "Sent", "Turn"]

logger = logging.getLogger("nemo_mock")

_ALNUM = string.ascii_letters + string.digits
MID_STREAM_ERROR = "agent run failed: the editing service hit an internal error"


class Sent(typing.NamedTuple):
    """One event of a turn: what it is, its bytes, and the virtual time it is stamped with."""

    kind: EventKind
    frame: bytes
    at: float


class Shutdown:
    """Set when the server is stopping (by sse-starlette, or by the emulator): the turn then ends its stream."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._set = False

    def set(self) -> None:
        self._set = True
        self._emulator.clock.wake()

    def is_set(self) -> bool:
        return self._set or self._emulator.stopping()


class Turn:
    """One accepted turn: its plan played on the clock, with its credits frozen."""

    def __init__(
        self,
        emulator: Emulator,
        session: Session,
        account: Account,
        plan: TurnPlan,
        cost: int,
        faults: FaultPlan,
    ) -> None:
        self.emulator = emulator
        self.session = session
        self.account = account
        self.plan = plan
        self.cost = cost
        self.faults = faults
        self.index = session.turns
        self.rng = emulator.store.ids.rng("events", session.session_id, self.index)
        config = emulator.config
        self.on_disconnect = config.on_disconnect
        self.writer = EventWriter(
            config.event_format,
            config.heartbeat,
            invocation_id="e-" + str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            new_id=lambda: "".join(self.rng.choices(_ALNUM, k=8)),
        )
        # The turn's timeline starts when the request is handled, not when the stream is first read.
        self.started_at = emulator.clock.now()
        self.shutdown = Shutdown(emulator)
        #: How the turn ended, once it has: complete, silent_close, cut, error_event, client_gone or shutdown.
        self.end: StreamEnd | None = None
        self.applied = False  # a step's state change has landed
        self.listening = True  # the client still reads the stream
        self.settled = False
        self._delay = self._shift = 0.0  # the latency fault: every event comes this much later than the last

    # -- the task ---------------------------------------------------------------------------------------------------

    def open(self) -> tuple[asyncio.Queue[Sent | None], typing.Coroutine[typing.Any, typing.Any, None]]:
        """The queue the listener reads (``None`` marks the end), and the coroutine that plays the turn into it.

        A plain ``asyncio.Queue``: anyio's memory object stream makes a receiver, an event and a raised exception
        each time its reader waits, and with 2,000 streams open those objects kept the garbage collector busy
        enough to make heartbeats late (``bench/streams.py``).
        """
        out: asyncio.Queue[Sent | None] = asyncio.Queue()
        return out, self._play(out)

    async def _play(self, out: asyncio.Queue[Sent | None]) -> None:
        try:
            async with contextlib.aclosing(self._timeline()) as events:
                async for sent in events:
                    if not self._hand_out(out, sent):
                        return
            if self.end is None:  # the timeline stopped early: only a stopping server does that
                self.end = StreamEnd.SHUTDOWN
        except Exception:
            logger.exception("turn failed mid-stream")
            self.end = StreamEnd.ERROR_EVENT
            self._hand_out(out, Sent(EventKind.ERROR, EventWriter.error(MID_STREAM_ERROR), self._now()))
        finally:
            self.settle()
            out.put_nowait(None)

    def _hand_out(self, out: asyncio.Queue[Sent | None], sent: Sent) -> bool:
        """Give one event to the listener; False when the client has gone and the turn must stop."""
        if self.listening:
            out.put_nowait(sent)
            return True
        return self.on_disconnect is OnDisconnect.CONTINUE

    def client_gone(self) -> None:
        """The listener stopped reading before the turn ended."""
        if self.listening:
            self.listening = False
            if self.end is None and self.on_disconnect is OnDisconnect.CANCEL:
                self.end = StreamEnd.CLIENT_GONE

    def settle(self) -> None:
        """Charge or refund the turn, and free the session for its next turn (once)."""
        if self.settled:
            return
        self.settled = True
        self.session.busy = False
        if self.end in (StreamEnd.COMPLETE, StreamEnd.SILENT_CLOSE) or self.applied:
            self.account.consume(self.cost)
        else:
            self.account.refund(self.cost)
        if self.end is None:
            self.end = StreamEnd.CUT

    # -- the timeline -----------------------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.emulator.clock.now()

    async def _wait(self, deadline: float) -> bool:
        """Sleep on the virtual clock; False when the server is stopping and the stream must end now."""
        return await self.emulator.clock.sleep_until(deadline, stop=self.shutdown.is_set)

    async def _due(self, scheduled: float) -> float | None:
        """Wait for an event's time: its schedule plus the latency fault's delay, which every event adds to.

        Returns the time to stamp it with, or None when the server is stopping.
        """
        self._shift += self._delay
        moment = scheduled + self._shift
        return moment if await self._wait(moment) else None

    async def _timeline(self) -> typing.AsyncGenerator[Sent, None]:
        """The events of the plan at their times, with the faults' cuts and errors; sets ``end`` unless the server
        stopped it early."""
        config, plan, faults, writer = self.emulator.config, self.plan, self.faults, self.writer
        limit = faults.error_after if faults.error_after is not None else faults.cut_after
        self._delay, self._shift = faults.latency, 0.0
        sent = 0
        at = self.started_at

        def over_limit() -> bool:
            return limit is not None and sent >= limit

        said = False
        if not over_limit():
            at += plan.opening_delay
            if plan.opening:
                if (moment := await self._due(at)) is None:
                    return
                yield Sent(EventKind.TEXT, writer.text(plan.opening, moment), moment)
                sent += 1
                said = True
            elif not await self._wait(at):
                return
            for step in plan.steps:
                if over_limit():
                    break
                call_id = "adk-" + str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                if (moment := await self._due(at)) is None:
                    return
                yield Sent(EventKind.TOOL_CALL, writer.tool_call(call_id, step.name, step.args, moment), moment)
                sent += 1
                started, done = at, at + step.duration
                interval = config.heartbeat_interval
                # Counted, not accumulated: beat k is at started + k * interval, with no float drift.
                for k in range(1, math.ceil(step.duration / interval)):
                    if (moment := await self._due(started + k * interval)) is None:
                        return
                    yield Sent(EventKind.HEARTBEAT, writer.heartbeat(moment), moment)
                    sent += 1
                at = done
                if (moment := await self._due(at)) is None:
                    return
                if over_limit():
                    break
                # The state changes when the tool finishes, whatever happens to the stream afterwards.
                self.emulator.store.apply(self.session, step.state_delta)
                self.applied = True
                frame = writer.tool_result(call_id, step.name, step.response, step.state_delta, moment)
                yield Sent(EventKind.TOOL_RESULT, frame, moment)
                sent += 1
            else:
                if plan.closing and not over_limit():
                    at += plan.closing_delay
                    if (moment := await self._due(at)) is None:
                        return
                    yield Sent(EventKind.TEXT, writer.text(plan.closing, moment), moment)
                    sent += 1
                    said = True
                if not over_limit():
                    self.end = StreamEnd.COMPLETE if said else StreamEnd.SILENT_CLOSE
                    return
        if faults.error_after is not None:
            self.end = StreamEnd.ERROR_EVENT
            yield Sent(EventKind.ERROR, writer.error(MID_STREAM_ERROR), self._now())
        else:
            self.end = StreamEnd.CUT
