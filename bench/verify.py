"""7. ``nemo-contract verify`` against the emulator: the wall time of a whole run, as a CI job would see it.

Each run gets a fresh ``nemo-mock serve --time-scale 1000 --seed 1`` on the server CPU (a 100-300 s generation
then takes 0.1-0.3 s, a render 30-90 ms) and runs ``nemo-contract verify --seed 1`` as a child process on the
client CPU, timed from spawn to exit: interpreter start, imports, our checks, and (in the first row) every
Schemathesis phase at the default 25 examples. The figure is the median of the runs; the note gives how many
Schemathesis cases a run sent and whether it held.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import tempfile
import time

from ._common import Row, Server, free_port, log, median, mock_command

__all__ = ["run"]


def _verify_command() -> list[str]:
    script = pathlib.Path(sys.executable).parent / "nemo-contract"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nemo_contract._cli"]


def _one(options: list[str]) -> tuple[float, dict[str, object]]:
    """(wall seconds, the JSON report) of one verify run against a fresh emulator."""
    port = free_port()
    command = mock_command("--port", str(port), "--time-scale", "1000", "--seed", "1")
    with (
        Server.start("verify-emulator", command, port, ready_path="/__mock__/health") as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        report = pathlib.Path(folder) / "verify.json"
        argv = [*_verify_command(), "verify", "--url", server.url, "--seed", "1", "--json", str(report)]
        started = time.perf_counter()
        done = subprocess.run([*argv, *options], capture_output=True, text=True, timeout=900, check=False)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise RuntimeError(f"verify exited {done.returncode}: {done.stderr.strip()[-500:]}")
        found: dict[str, object] = json.loads(report.read_text(encoding="utf-8"))
    return seconds, found


def _cases(report: dict[str, object]) -> int:
    checks = report.get("checks")
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict) and check.get("name") == "schemathesis":
            return int(check.get("count", 0))
    return 0


def run(*, runs: int = 3) -> list[Row]:
    section = "7 verify"
    rows = []
    for label, options in (
        ("every Schemathesis phase, --max-examples 25 (the default)", []),
        ("our checks alone (--phases none)", ["--phases", "none"]),
    ):
        log(f"verify: {runs} run(s), {label}")
        times, held, cases = [], [], []
        for _ in range(runs):
            seconds, report = _one(options)
            times.append(seconds)
            held.append(report.get("holds") is True)
            cases.append(_cases(report))
        note = (
            f"median of {runs} run(s) (slowest {max(times):.1f} s), each against a fresh emulator at --time-scale "
            f"1000; held in {sum(held)} of {runs}"
        )
        if any(cases):
            note += f"; {median(cases):.0f} Schemathesis cases a run"
        rows.append(Row(section, f"nemo-contract verify: {label}: wall time", median(times), "s", note=note))
    return rows
