"""The emulator's side of one run: what the rules read of the traffic, and the scenario's triggers.

``Watch`` follows the journal (every entry, across a reset, which clears the journal but keeps its listeners)
and notes when each answer ended. ``Gate``, a thin ASGI layer in front of the emulator, closes the control plane
to the program (``/__mock__/`` answers 404: a program must not reset or read the emulator that judges it),
digests small JSON bodies (an answer a fault rule makes is sent without reading the body, so the journal has no
digest of it), and keeps the JSON answers the rules read (tokens, sessions, renders).

A trigger ``when: end`` acts as the last byte of the matching answer is handed to the server, before it goes out:
so whatever the program sends next meets the changed emulator, however fast it is (the journal's own ``END`` can
come a moment later, after the program has already sent its next request). ``when: request`` acts as soon as the
matching request has been taken in; that request is answered as before.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import time
import typing

from ..protocol import Code
from ..protocol.control import CONTROL_PREFIX
from ..protocol.shapes import dumps, error
from ._facts import endpoint_of

if typing.TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from mock_server import Change, Emulator, Entry

    from ._scenarios import Scenario, Trigger

__all__ = ["MAX_ENTRIES", "Gate", "Watch"]

#: At most this many requests of one run are kept (a program in a loop must not exhaust memory).
MAX_ENTRIES = 5000
#: The JSON answers kept for the rules (small ones: a token, a session, a render's status).
_KEPT = frozenset({"anonymous_token", "create_session", "render_start", "render_poll"})
_MAX_ANSWER = 64 * 1024
#: JSON bodies up to this size are read before the emulator sees them, for their digest.
_MAX_DIGESTED = 1024 * 1024


class _Exchange:
    """What the gate keeps of one request: its entry, its answer (for the endpoints in _KEPT), its body's digest."""

    __slots__ = ("answer", "digest", "entry")

    def __init__(self, answer: bytearray | None, digest: str | None) -> None:
        self.answer = answer
        self.digest = digest
        self.entry: Entry | None = None


class Watch:
    """Follows one emulator's journal for one run: every entry, when each answer ended, what the gate kept, and
    the scenario's triggers. Everything here runs on the emulator's event loop (a listener runs inline: quick,
    never raising)."""

    def __init__(self, emulator: Emulator, scenario: Scenario) -> None:
        self.emulator = emulator
        self.entries: list[Entry] = []
        self.ended: dict[Entry, float] = {}
        self.notes: list[str] = []
        self.dropped = 0
        self.started = time.time()
        #: What the gate keeps of the request being handed to the emulator right now.
        self.arriving: _Exchange | None = None
        self._triggers = list(scenario.triggers)
        self._counts = [0] * len(self._triggers)
        self._kept: dict[Entry, _Exchange] = {}
        emulator.journal.subscribe(self._heard)

    def _heard(self, entry: Entry, change: Change) -> None:
        from mock_server import Change

        if change is Change.REQUEST:
            if len(self.entries) < MAX_ENTRIES:
                self.entries.append(entry)
            else:
                self.dropped += 1
            if self.arriving is not None:
                self.arriving.entry = entry
                self._kept[entry], self.arriving = self.arriving, None
            for trigger in self._due(entry, "request"):
                asyncio.get_running_loop().call_soon(self._act, trigger, entry)
        elif change is Change.END and entry not in self.ended:
            # An answer that ended without its last byte passing the gate (its client left, say).
            for trigger in self.finished(entry):
                asyncio.get_running_loop().call_soon(self._act, trigger, entry)

    def finished(self, entry: Entry) -> list[Trigger]:
        """An answer is over (its last byte is on its way, or the journal says it ended): the time is noted,
        and the ``end`` triggers it sets off are returned, for the caller to act on."""
        if entry in self.ended:
            return []
        self.ended[entry] = time.time()
        return self._due(entry, "end")

    def _due(self, entry: Entry, when: str) -> list[Trigger]:
        due = []
        for index, trigger in enumerate(self._triggers):
            if trigger.when != when or (trigger.method and trigger.method.upper() != entry.method):
                continue
            if trigger.path and not fnmatch.fnmatchcase(entry.path, trigger.path):
                continue
            self._counts[index] += 1
            if self._counts[index] == trigger.count:
                due.append(trigger)
        return due

    def act(self, triggers: list[Trigger], entry: Entry) -> None:
        for trigger in triggers:
            self._act(trigger, entry)

    def _act(self, trigger: Trigger, entry: Entry) -> None:
        """Carry out a trigger (on the emulator's loop)."""
        emulator, number = self.emulator, self.entries.index(entry) + 1 if entry in self.entries else "?"
        done = f"{trigger.describe()} (#{number} at +{time.time() - self.started:.2f} s)"
        try:
            if trigger.action == "reset":
                emulator.reset()  # the journal starts again from 1; this watch still hears it
            elif trigger.action == "expire_token":
                if entry.user_id is None:
                    done = f"could not {trigger.describe()}: #{number} carried no valid token"
                else:
                    emulator.set_account(entry.user_id, expires_at=emulator.clock.now() - 1)
            else:
                emulator.add_faults(*trigger.faults)
        except Exception as exc:  # a trigger that cannot act is reported, never a crash of the emulator's loop
            done = f"could not {trigger.describe()}: {type(exc).__name__}: {exc}"
        self.notes.append(done)

    def answers(self) -> dict[Entry, bytes]:
        return {entry: bytes(kept.answer) for entry, kept in self._kept.items() if kept.answer is not None}

    def digests(self) -> dict[Entry, str]:
        return {entry: kept.digest for entry, kept in self._kept.items() if kept.digest is not None}


class Gate:
    """In front of the emulator (see the module's docstring). It hands each request in without awaiting after it
    set ``watch.arriving``, so the journal records the request (and the listener takes the exchange) before any
    other request can run."""

    def __init__(self, app: ASGIApp, watch: Watch) -> None:
        self.app = app
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(CONTROL_PREFIX):
            body = dumps(error(Code.NOT_FOUND, "the control plane is closed to the program under audit"))
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        digest = None
        if _small_json(scope):
            digest, receive = await _digested(receive)
        exchange = _Exchange(bytearray() if endpoint_of(scope["method"], scope["path"]) in _KEPT else None, digest)
        answer, watch = exchange.answer, self.watch

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.body":
                if answer is not None and len(answer) < _MAX_ANSWER:
                    answer.extend(message.get("body", b"")[: _MAX_ANSWER - len(answer)])
                if not message.get("more_body", False) and exchange.entry is not None:
                    watch.act(watch.finished(exchange.entry), exchange.entry)  # before the last byte goes out
            await send(message)

        watch.arriving = exchange
        try:
            await self.app(scope, receive, watching)
        finally:
            if watch.arriving is exchange:
                watch.arriving = None


def _small_json(scope: Scope) -> bool:
    length = kind = b""
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            kind = value
    return (
        kind.split(b";")[0].strip().lower() == b"application/json" and length.isdigit() and int(length) <= _MAX_DIGESTED
    )


async def _digested(receive: Receive) -> tuple[str, Receive]:
    """Read a request's body (as it arrives, disconnect included) and hand the same messages on afterwards."""
    messages: list[Message] = []
    body = hashlib.sha256()
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body.update(message.get("body", b""))
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body.hexdigest(), replay
