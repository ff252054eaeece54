"""7. ``nemo-contract audit``: the default matrix's wall time for the reference client, beside its slowest scenario.

A correct program that exports waits a 30-second polling interval in each scenario, so the scenarios run side by
side and the matrix should take about as long as its slowest one: the target is under 1.3 times the slowest
scenario run alone. The program is ``tests/toolkit/audit/reference.sh`` (the reference client driven through its
``nemo-contract`` commands, uploading a clip from ``nemo-mock sample-clip``); every run uses all the machine's
CPUs (the bench pins itself to one; the audit is unpinned while it runs, as a user's CI would run it).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import sys
import time
import typing

from ._common import OUT_DIR, ROOT, Row, _cpus, log

__all__ = ["run"]

REFERENCE = ROOT / "tests" / "toolkit" / "audit" / "reference.sh"
TARGET = 1.3
QUICK = ("baseline", "out-of-credits", "upload-unsupported")


@contextlib.contextmanager
def _all_cpus() -> typing.Iterator[None]:
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(_cpus()))
    try:
        yield
    finally:
        os.sched_setaffinity(0, pinned)


def _clip() -> pathlib.Path:
    clip = OUT_DIR / "audit-clip.mp4"
    if not clip.is_file():
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        nemo_mock = pathlib.Path(sys.executable).parent / "nemo-mock"
        subprocess.run([str(nemo_mock), "sample-clip", str(clip)], check=True, capture_output=True, timeout=120)
    return clip


def run(*, quick: bool = False) -> list[Row]:
    from nemo_contract.audit import audit, default_matrix, default_parallel

    command = ["env", f"REFERENCE_CLIENT={pathlib.Path(sys.executable).parent / 'nemo-contract'}", str(REFERENCE)]
    command.append(str(_clip()))
    chosen = list(QUICK) if quick else default_matrix().names()
    with _all_cpus():
        log(f"audit: {len(chosen)} scenarios side by side (the reference client)")
        started = time.monotonic()
        matrix = audit(command, scenarios=chosen, progress=lambda line: log(f"  {line}"))
        wall = time.monotonic() - started
        durations = {r.scenario.name: r.duration for r in matrix.results}
        slowest = max(durations, key=durations.__getitem__)
        log(f"audit: {slowest} alone")
        started = time.monotonic()
        alone = audit(command, scenarios=[slowest])
        solo = time.monotonic() - started
    broken = [f"{v.scenario}: {v.rule}" for v in matrix.failures + alone.failures]
    ratio = wall / solo
    verdict: typing.Literal["PASS", "MISS", "FAIL"] = "FAIL" if broken else ("PASS" if ratio < TARGET else "MISS")
    note = (
        f"`audit()` of {REFERENCE.relative_to(ROOT)} on {len(chosen)} default scenarios (all at once: default "
        f"parallel {default_parallel(len(chosen))}), then the slowest of them ({slowest}, "
        f"{durations[slowest]:.1f} s in the matrix) alone; both wall times include starting and stopping the "
        "emulators and judging."
        + (f" Broken verdicts: {'; '.join(broken[:3])}." if broken else " Every rule held in every scenario.")
    )
    sequential = sum(durations.values())
    return [
        Row(
            "audit",
            f"default matrix wall time ({len(chosen)} scenarios, reference client)",
            wall,
            "s",
            baseline=solo,
            baseline_name=f"slowest scenario alone: {slowest}",
            target=f"< {TARGET}x",
            verdict=verdict,
            note=note,
        ),
        Row(
            "audit",
            "the same scenarios one after another (sum of their run times)",
            sequential,
            "s",
            baseline=wall,
            baseline_name="side by side",
            verdict="INFO",
            note="What running the scenarios in sequence would take, from the run times measured in the matrix.",
        ),
    ]
