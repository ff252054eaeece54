"""The emulator's virtual clock.

Every timed thing in the emulator (token expiry, turn durations, heartbeats, renders, rate-limit windows) reads
this clock, never the wall clock. Virtual time runs at ``time_scale`` virtual seconds per real second (0 freezes
it) and jumps forward on :meth:`VirtualClock.advance`; a coroutine waiting on virtual time wakes at once when a
jump reaches its deadline.

With ``autojump`` on, the clock also jumps by itself, straight to the next pending deadline, whenever every task
is waiting: nothing touched the clock for a few turns of the event loop (plus ``autojump`` real seconds) and no
worker thread is busy. In-process tests then need no loop that pumps the clock: a 300-second turn plays as fast
as its reader reads, with every virtual time exact. (trio's ``MockClock(autojump_threshold=...)`` has the idea;
nothing like it exists for asyncio, hence this one.)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import time
import typing

import anyio
import anyio.lowlevel
import anyio.to_thread

__all__ = ["MAX_EPOCH", "VirtualClock", "iso8601"]

#: The last virtual moment the clock reaches (9999-12-31T23:59:59Z): every time it shows stays printable.
MAX_EPOCH = 253402300799.0
#: Turns of the event loop with nothing touching the clock before an autojump: long enough for a chain of
#: wake-ups (a queue hands a chunk to a reader, which asks for the next one) to settle.
_IDLE_TURNS = 24


def _set(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


def iso8601(epoch: float) -> str:
    """UTC time as the documents write it: ``2026-03-18T00:00:00Z``."""
    # Clamped, so a knob like a huge token_lifetime cannot make a time unprintable.
    moment = datetime.datetime.fromtimestamp(min(max(epoch, 0.0), MAX_EPOCH), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class VirtualClock:
    """Virtual epoch seconds that run at ``time_scale`` x real time plus every manual advance."""

    def __init__(self, *, time_scale: float = 1.0, start: float | None = None, autojump: float | None = None) -> None:
        if not math.isfinite(time_scale) or time_scale < 0:
            raise ValueError(f"time scale must be a finite number >= 0, not {time_scale!r}")
        self.time_scale = time_scale
        #: Real seconds of idleness before the clock jumps to the next deadline by itself; None: never.
        self.autojump = autojump
        self._activity = 0  # bumped by anything that touches the clock, so the jumper sees the loop was busy
        self._jumper: asyncio.Task[None] | None = None
        self._start_virtual = time.time() if start is None else float(start)
        self._start_real = time.monotonic()
        self._offset = 0.0
        self._deadlines: dict[int, float] = {}  # what each current sleeper waits for
        self._woken: dict[int, asyncio.Future[None]] = {}  # what each current sleeper awaits (wake sets them all)
        self._sleepers = 0

    def now(self) -> float:
        """The current virtual time, in epoch seconds."""
        self._activity += 1
        elapsed = (time.monotonic() - self._start_real) * self.time_scale
        return self._start_virtual + elapsed + self._offset

    def advance(self, seconds: float) -> float:
        """Jump virtual time forward; returns the new time and wakes every sleeper whose deadline passed."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"the clock only moves forward: {seconds!r} is not a number of seconds >= 0")
        # Saturates at MAX_EPOCH rather than refusing: any forward jump is a valid request.
        self._offset += max(0.0, min(seconds, MAX_EPOCH - self.now()))
        self.wake()
        return self.now()

    def next_deadline(self) -> float | None:
        """The earliest virtual time a sleeper waits for, or None when nothing is waiting."""
        return min(self._deadlines.values(), default=None)

    def advance_to_next(self) -> float | None:
        """Jump exactly to the earliest pending deadline (a discrete-event step); None when nothing waits."""
        deadline = self.next_deadline()
        if deadline is None:
            return None
        return self.advance(max(0.0, deadline - self.now()))

    def wake(self) -> None:
        """Wake every sleeper to re-check its deadline (and its stop condition) without moving time."""
        self._activity += 1
        for woken in self._woken.values():
            _set(woken)

    @contextlib.contextmanager
    def autojumping(self, idle: float = 0.0) -> typing.Iterator[None]:
        """Autojump for the duration of a ``with`` block (then as before)."""
        before, self.autojump = self.autojump, idle
        if self._deadlines:
            self.wake()  # sleepers from before start the jumper as they look again
        try:
            yield
        finally:
            self.autojump = before

    def _start_jumper(self) -> None:
        if self.autojump is not None and (self._jumper is None or self._jumper.done()):
            self._jumper = asyncio.get_running_loop().create_task(self._jump_when_idle())

    async def _jump_when_idle(self) -> None:
        """While autojump is on and someone sleeps: once the loop has been idle, jump to the next deadline."""
        limiter = anyio.to_thread.current_default_thread_limiter()
        while self.autojump is not None and self._deadlines:
            seen = self._activity
            for _ in range(_IDLE_TURNS):
                await asyncio.sleep(0)
            if self.autojump:
                await asyncio.sleep(self.autojump)
            if limiter.borrowed_tokens:  # a worker thread is busy: its caller is not waiting on the clock
                await asyncio.sleep(0.001)
                continue
            if seen == self._activity and self._deadlines:
                self.advance_to_next()

    def reset(self, *, start: float | None = None) -> None:
        """Back to the clock's start (or a new one); the emulator's reset calls this."""
        self._start_virtual = time.time() if start is None else float(start)
        self._start_real = time.monotonic()
        self._offset = 0.0
        self.advance(0)

    async def sleep_until(self, deadline: float, *, stop: typing.Callable[[], bool] | None = None) -> bool:
        """Wait until virtual time reaches ``deadline`` (a real wait of the remainder / time_scale).

        Returns False, early, once ``stop()`` is true when the sleeper is woken (see :meth:`wake`).

        Each wait is one future and one timer of the event loop. (It was an anyio cancel scope around an
        ``anyio.Event`` shared by every sleeper: with 2,000 streams open that made several objects per heartbeat
        for the garbage collector, and each timed-out waiter was removed from one long list of waiters.)
        """
        self._sleepers += 1
        ticket = self._sleepers
        self._deadlines[ticket] = deadline
        self._activity += 1
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self.autojump is not None:
                    self._start_jumper()
                if stop is not None and stop():
                    return False
                remaining = deadline - self.now()
                if remaining <= 0:
                    # Past deadlines still yield once, so a burst of due events cannot starve the loop.
                    await anyio.lowlevel.checkpoint()
                    return True
                woken = self._woken[ticket] = loop.create_future()
                timer = loop.call_later(remaining / self.time_scale, _set, woken) if self.time_scale > 0 else None
                try:
                    await woken
                finally:
                    if timer is not None:
                        timer.cancel()
        finally:
            del self._deadlines[ticket]
            self._woken.pop(ticket, None)
            self._activity += 1

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + seconds)
