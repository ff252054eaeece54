"""``audit()``: run a program once per scenario, side by side, and judge every run.

Scenarios run in parallel, as many at once as the machine carries (a run mostly waits: a correct program spends
a 30-second polling interval per export), so the default matrix takes about as long as its slowest scenario. Each
run is judged as soon as it ends, except an always200 twin, which waits for its http scenario.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import shlex
import shutil
import threading
import time
import typing

from ._catalogue import RULE_NAMES, RULES, judge_run
from ._facts import Run
from ._runner import ProgramNotStarted, run_scenario
from ._scenarios import Matrix, ScenarioError, default_matrix, load_matrix
from ._verdicts import ScenarioResult, Verdicts

__all__ = ["DEFAULT_TIMEOUT", "audit", "default_parallel"]

#: How long one run may take before the program is stopped (and judged on what it did).
DEFAULT_TIMEOUT = 240.0
#: What one run costs the machine, roughly: an emulator in a thread and the program (a Python one is ~50 MiB).
_RUN_MEMORY = 160 * 1024 * 1024


def default_parallel(scenarios: int) -> int:
    """As many runs at once as the machine carries: a run mostly waits, so CPUs bound it loosely (16 each) and
    the memory available more tightly."""
    cpus = os.cpu_count() or 1
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        available = 4 * 1024**3
    return max(1, min(scenarios, cpus * 16, max(1, available // _RUN_MEMORY), 64))


def _argv(command: str | typing.Sequence[str]) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else [os.fspath(part) for part in command]
    if not argv:
        raise ValueError("no command to audit")
    return argv


def _check_program(argv: list[str]) -> None:
    """Fail before anything runs when the program cannot be started."""
    program = argv[0]
    if os.sep in program or (os.altsep and os.altsep in program):
        path = pathlib.Path(program)
        if not path.is_file():
            raise ProgramNotStarted(f"cannot start {program}: no such file")
        if not os.access(path, os.X_OK):
            raise ProgramNotStarted(f"cannot start {program}: it is not executable")
    elif shutil.which(program) is None:
        raise ProgramNotStarted(f"cannot start {program}: no such command on PATH")


def _matrix(matrix: Matrix | str | os.PathLike[str] | None) -> Matrix:
    if matrix is None:
        return default_matrix()
    if isinstance(matrix, Matrix):
        return matrix
    return load_matrix(matrix, rules=RULE_NAMES)


def _result(run: Run) -> ScenarioResult:
    return ScenarioResult(
        scenario=run.scenario,
        exit_status=run.exit_status,
        timed_out=run.timed_out,
        duration=run.finished - run.started,
        requests=len(run.entries),
        notes=tuple(run.notes),
        verdicts=judge_run(run),
        stdout=run.stdout,
        stderr=run.stderr,
    )


def audit(
    command: str | typing.Sequence[str],
    *,
    scenarios: typing.Iterable[str] | None = None,
    matrix: Matrix | str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    parallel: int | None = None,
    progress: typing.Callable[[str], object] | None = None,
) -> Verdicts:
    """Run ``command`` once per scenario against a fresh emulator each, and judge the traffic and the output.

    ``scenarios``: names to run (default all; an always200 twin brings its http scenario along); ``matrix``: a
    matrix file or a ``Matrix`` (default the one shipped); ``timeout``: seconds a run may take before the program
    is stopped; ``parallel``: runs at once (default: as many as the machine carries); ``progress``: called with
    a line as each scenario ends. Raises ``ScenarioError`` (a bad matrix or name) and ``ProgramNotStarted``.
    """
    argv = _argv(command)
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if parallel is not None and parallel < 1:
        raise ValueError(f"parallel must be at least 1, not {parallel!r}")
    chosen = _matrix(matrix).select(scenarios)
    unknown = {r for s in chosen.scenarios for r in s.exercises} - set(RULE_NAMES)
    if unknown:
        raise ScenarioError(f"{chosen.source}: no such rule: {', '.join(sorted(unknown))}")
    _check_program(argv)
    started = time.monotonic()
    workers = parallel or default_parallel(len(chosen.scenarios))
    runs: dict[str, Run] = {}
    results: dict[str, ScenarioResult] = {}

    def finish(run: Run) -> None:
        result = results[run.scenario.name] = _result(run)
        if progress is not None:
            mark = "✓" if result.passed else "✗"
            ended = "stopped at the timeout" if run.timed_out else f"exit {run.exit_status}"
            progress(f"{mark} {run.scenario.name} ({ended}, {result.duration:.1f} s, {len(run.entries)} requests)")

    cancel = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="nemo-audit")
    try:
        futures = [pool.submit(run_scenario, s, argv, timeout=timeout, cancel=cancel) for s in chosen.scenarios]
        for future in concurrent.futures.as_completed(futures):
            run = future.result()
            runs[run.scenario.name] = run
            original = run.scenario.compare_with
            if original is None:
                finish(run)
                for twin in [r for r in runs.values() if r.scenario.compare_with == run.scenario.name]:
                    twin.original = run
                    finish(twin)
            elif original in runs:
                run.original = runs[original]
                finish(run)
    except BaseException:
        cancel.set()  # Ctrl-C, or a program that cannot start: every run still going is stopped now
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    ordered = [results[s.name] for s in chosen.scenarios]
    return Verdicts(command=argv, rules=RULES, results=ordered, wall_time=time.monotonic() - started)
