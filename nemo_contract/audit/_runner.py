"""One scenario's run: a fresh emulator on a loopback port, the program beside it, and what they leave behind.

The emulator is ``nemo_contract.testing.Served`` on the real clock (the program lives by it: a render is polled
every 30 real seconds), set up with the scenario's knobs and fault rules. The program runs with ``NEMO_API_URL``
pointing at it, every other ``NEMO_*`` variable (``NEMO_TOKEN`` first) unset, and ``HOME`` and the ``XDG_*``
folders in a fresh temporary folder, in a process group of its own, so that stopping it at the timeout stops
everything it started. Its output is kept (a bounded amount of it).

While it runs, a journal listener keeps every entry (across a reset, which replaces the journal) and when each
answer ended, and carries out the scenario's triggers on the emulator's own event loop. A thin ASGI layer in front
of the emulator keeps the program off the control plane (``/__mock__/`` answers 404: a program must not reset or
read the emulator that judges it) and keeps the JSON answers the rules read: tokens, sessions, renders.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import typing

from ..protocol import Code
from ..protocol.control import CONTROL_PREFIX
from ..protocol.shapes import dumps, error
from ._facts import Run, endpoint_of

if typing.TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from mock_server import Change, Emulator, Entry

    from ._scenarios import Scenario, Trigger

__all__ = ["MAX_ENTRIES", "MAX_OUTPUT", "ProgramNotStarted", "run_scenario"]

#: At most this many requests of one run are kept (a program in a loop must not exhaust memory).
MAX_ENTRIES = 5000
#: At most this many bytes of each of the program's streams are kept; the rest is read and dropped.
MAX_OUTPUT = 1024 * 1024
#: The JSON answers kept for the rules (small ones: a token, a session, a render's status).
_KEPT = frozenset({"anonymous_token", "create_session", "render_start", "render_poll"})
_MAX_ANSWER = 64 * 1024
#: JSON bodies up to this size are read before the emulator sees them, for their digest: an answer a fault rule
#: makes is sent without reading the body, so the journal has no digest of it (a turn's, say, that is retried).
_MAX_DIGESTED = 1024 * 1024
#: How long a stopped program gets between SIGTERM and SIGKILL, and the emulator to see its connections close.
_GRACE = 2.0
_SETTLE = 2.0
#: Emulators start one at a time: each uvicorn.Config sets up the process's logging afresh (its loggers at INFO,
#: then at the level asked for), so servers starting side by side would log their start-up to the console.
_STARTING = threading.Lock()


class ProgramNotStarted(OSError):
    """The program under audit could not be started (not found, not executable)."""


class _Exchange:
    """What the gate keeps of one request: its answer (for the endpoints in _KEPT) and its body's digest."""

    __slots__ = ("answer", "digest")

    def __init__(self, answer: bytearray | None, digest: str | None) -> None:
        self.answer = answer
        self.digest = digest


class _Watch:
    """Follows one emulator's journal for one run: every entry, when each answer ended, the kept answers, and the
    scenario's triggers. Its listener runs on the emulator's event loop (inline: quick, never raising)."""

    def __init__(self, emulator: Emulator, scenario: Scenario) -> None:
        self.emulator = emulator
        self.entries: list[Entry] = []
        self.ended: dict[Entry, float] = {}
        self.notes: list[str] = []
        self.dropped = 0
        self.started = time.time()
        #: What the gate keeps of the request being handed to the emulator right now (see _Gate).
        self.arriving: _Exchange | None = None
        self._triggers = list(scenario.triggers)
        self._counts = [0] * len(self._triggers)
        self._kept: dict[Entry, _Exchange] = {}
        self._follow()

    def _follow(self) -> None:
        self.emulator.journal.subscribe(self._heard)

    def _heard(self, entry: Entry, change: Change) -> None:
        from mock_server import Change

        if change is Change.REQUEST:
            if len(self.entries) < MAX_ENTRIES:
                self.entries.append(entry)
            else:
                self.dropped += 1
            if self.arriving is not None:
                self._kept[entry], self.arriving = self.arriving, None
        elif change is Change.END:
            self.ended.setdefault(entry, time.time())
        else:
            return
        for index, trigger in enumerate(self._triggers):
            if self._matches(trigger, entry, change):
                self._counts[index] += 1
                if self._counts[index] == trigger.count:
                    asyncio.get_running_loop().call_soon(self._act, trigger, entry)

    @staticmethod
    def _matches(trigger: Trigger, entry: Entry, change: Change) -> bool:
        if change.value != trigger.when:
            return False
        if trigger.method and trigger.method.upper() != entry.method:
            return False
        return not trigger.path or fnmatch.fnmatchcase(entry.path, trigger.path)

    def _act(self, trigger: Trigger, entry: Entry) -> None:
        """Carry out a trigger (on the emulator's loop, just after the change that set it off)."""
        emulator, number = self.emulator, self.entries.index(entry) + 1 if entry in self.entries else "?"
        done = f"{trigger.describe()} (#{number} at +{time.time() - self.started:.2f} s)"
        try:
            if trigger.action == "reset":
                emulator.reset()
                self._follow()  # reset replaces the journal
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


class _Gate:
    """In front of the emulator: the control plane is closed to the program, small JSON bodies are digested, and
    the answers the rules read are kept as they are sent. It hands each request in without awaiting after it set
    ``watch.arriving``, so the journal records the request (and the listener takes what was kept) before any
    other request can run."""

    def __init__(self, app: ASGIApp, watch: _Watch) -> None:
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
        kept = endpoint_of(scope["method"], scope["path"]) in _KEPT
        digest = None
        if _small_json(scope):
            digest, receive = await _digested(receive)
        if not kept and digest is None:
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(bytearray() if kept else None, digest)
        answer = exchange.answer

        async def keeping(message: Message) -> None:
            if answer is not None and message["type"] == "http.response.body" and len(answer) < _MAX_ANSWER:
                answer.extend(message.get("body", b"")[: _MAX_ANSWER - len(answer)])
            await send(message)

        self.watch.arriving = exchange
        try:
            await self.app(scope, receive, keeping)
        finally:
            if self.watch.arriving is exchange:
                self.watch.arriving = None


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


class _Output:
    """A pipe read to its end in a thread, keeping its first ``MAX_OUTPUT`` bytes."""

    def __init__(self, stream: typing.IO[bytes]) -> None:
        self.kept = bytearray()
        self.dropped = 0
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: typing.IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError), stream:
            while chunk := stream.read1(65536):  # type: ignore[attr-defined]
                room = MAX_OUTPUT - len(self.kept)
                self.kept.extend(chunk[:room])
                self.dropped += max(0, len(chunk) - room)

    def text(self, timeout: float) -> str:
        self._thread.join(timeout)  # a grandchild that escaped the group may hold the pipe: then take what there is
        text = self.kept.decode("utf-8", "replace")
        return text + (f"\n[... {self.dropped} more bytes not kept]" if self.dropped else "")


def environment(url: str, home: pathlib.Path) -> dict[str, str]:
    """The program's environment: the caller's, without any NEMO_* setting, pointed at the emulator, with a
    fresh home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_")}
    env.update(
        NEMO_API_URL=url,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    return env


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the program's whole process group, SIGKILL to what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, _GRACE), (signal.SIGKILL, _GRACE)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
        try:  # anything of the group still there?
            os.killpg(process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return


def _settle(watch: _Watch) -> None:
    """Give the emulator a moment to see the connections the program closed (a stream's end is noted then)."""
    deadline = time.monotonic() + _SETTLE
    while time.monotonic() < deadline and any(e.end is None for e in watch.entries[-50:]):
        time.sleep(0.02)


def _wait(process: subprocess.Popen[bytes], timeout: float, cancel: threading.Event | None) -> bool:
    """Wait for the program to exit; False when the timeout came first (or the audit was cancelled)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            process.wait(min(left, 0.25) if cancel is not None else left)
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                return False
            continue
        return True
    return False


def run_scenario(
    scenario: Scenario, command: typing.Sequence[str], *, timeout: float, cancel: threading.Event | None = None
) -> Run:
    """Run the program once against a fresh emulator set up as ``scenario`` says; what it did, unjudged.

    ``cancel``: set it to stop the program now (it is then reported as stopped at the timeout).
    """
    from ..testing import Served

    served = Served(seed=scenario.seed, clock="real", time_scale=1.0, config=scenario.config())
    watch = _Watch(served.emulator, scenario)
    served.app = _Gate(served.app, watch)  # type: ignore[assignment]
    home = pathlib.Path(tempfile.mkdtemp(prefix=f"nemo-audit-{scenario.name}-"))
    try:
        with _STARTING:
            url = served.start()
        try:
            started = watch.started = time.time()
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment(url, home),
                start_new_session=True,
            )
        except OSError as exc:
            raise ProgramNotStarted(f"cannot start {command[0]}: {exc.strerror or exc}") from None
        assert process.stdout is not None and process.stderr is not None
        out, err = _Output(process.stdout), _Output(process.stderr)
        timed_out = not _wait(process, timeout, cancel)
        finished = time.time()
        _stop_group(process)  # at the timeout, and after an exit too: whatever it left running goes with it
        _settle(watch)
    finally:
        served.stop()
        shutil.rmtree(home, ignore_errors=True)
    notes = list(watch.notes)
    if timed_out:
        notes.append(f"stopped after the {timeout:g} s timeout")
    if watch.dropped:
        notes.append(f"{watch.dropped} requests after the first {MAX_ENTRIES} were not kept")
    return Run(
        scenario=scenario,
        command=tuple(command),
        entries=watch.entries,
        ended=watch.ended,
        answers=watch.answers(),
        digests=watch.digests(),
        started=started,
        finished=finished,
        exit_status=None if timed_out else process.returncode,
        timed_out=timed_out,
        stdout=out.text(_GRACE),
        stderr=err.text(_GRACE),
        notes=notes,
    )
