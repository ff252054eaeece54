"""One scenario's run: a fresh emulator on a loopback port, the program beside it, and what they leave behind.

The emulator is ``nemo_contract.testing.Served`` on the real clock (the program lives by it: a render is polled
every 30 real seconds), set up with the scenario's knobs and fault rules. The program runs with ``NEMO_API_URL``
pointing at it, every other ``NEMO_*`` variable (``NEMO_TOKEN`` first) unset, and ``HOME`` and the ``XDG_*``
folders in a fresh temporary folder, in a process group of its own, so that stopping it at the timeout stops
everything it started. Its output is kept (a bounded amount of it).

While it runs, ``_watch`` follows the emulator: what the rules read of the traffic, and the scenario's triggers.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import typing

from ._facts import Run
from ._watch import MAX_ENTRIES, Gate, Watch

if typing.TYPE_CHECKING:
    from ._scenarios import Scenario

__all__ = ["MAX_OUTPUT", "ProgramNotStarted", "run_scenario"]

#: At most this many bytes of each of the program's streams are kept; the rest is read and dropped.
MAX_OUTPUT = 1024 * 1024
#: How long a stopped program gets between SIGTERM and SIGKILL, and the emulator to see its connections close.
_GRACE = 2.0
_SETTLE = 2.0
#: Emulators start one at a time: each uvicorn.Config sets up the process's logging afresh (its loggers at INFO,
#: then at the level asked for), so servers starting side by side would log their start-up to the console.
_STARTING = threading.Lock()


class ProgramNotStarted(OSError):
    """The program under audit could not be started (not found, not executable)."""


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


def _settle(watch: Watch) -> None:
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
    watch = Watch(served.emulator, scenario)
    served.app = Gate(served.app, watch)  # type: ignore[assignment]
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
