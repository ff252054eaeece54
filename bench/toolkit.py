"""7. The toolkit: what the pytest plugin costs a test, a whole workflow through it, and ClientMachine's pace.

* The ``nemo_emulator`` fixture's set-up and tear-down: a pytest run in a fresh interpreter (a folder of its
  own under ``bench/out``) of N tests that take the fixture and N that do nothing, each test's set-up + call +
  tear-down as pytest measures them; the fixture's cost is the difference of the two medians.
* A whole workflow through the fixture: tests that each take ``nemo_emulator`` and drive the reference
  ``AsyncClient`` through it (token and session, an upload, a generation turn, the state, an export: the render
  and the download of its MP4); each test's whole time counts, fixture included. The first test of the run pays
  the imports (the client, the agent's tables, PyAV) and is shown on a row of its own.
* ClientMachine against the reference client: steps (rules run) per second over a derandomized search.
* Loading the plugin: the import of ``nemo_contract.testing.plugin`` in a fresh interpreter that has pytest,
  what every pytest run pays once the package is installed.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import time

from ._common import OUT_DIR, ROOT, Row, log, median

__all__ = ["run"]

SECTION = "7 toolkit"

BARE = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_bare(n):
    pass
"""
FIXTURE = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_fixture(nemo_emulator, n):
    pass
"""
WORKFLOW = """
import json, pathlib, time
import pytest
from nemo_contract import AsyncClient
from nemo_contract.testing._machine import png_bytes

FOLDER = pathlib.Path({folder!r})
PICTURE = FOLDER / "still.png"
PICTURE.write_bytes(png_bytes())

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.parametrize("n", range({count}))
@pytest.mark.anyio
async def test_workflow(nemo_emulator, n):
    started = time.perf_counter()
    emulator = nemo_emulator.emulator
    async with AsyncClient(base_url=nemo_emulator.base_url, transport=nemo_emulator.transport(),
                           clock=emulator.clock.now, sleep=emulator.advance, download_dir=FOLDER,
                           auto_export=False) as client:
        await client.upload(PICTURE)
        await client.say("generate a 10-second video of ocean waves")
        assert (await client.state()).draft
        exported = await client.export()
    exported.path.unlink()
    with open(FOLDER / "bodies.jsonl", "a") as out:
        out.write(json.dumps(time.perf_counter() - started) + "\\n")
"""


#: Each phase's duration, as pytest measures it (perf_counter), written by the runs' own conftest.
CONFTEST = """
import json, pathlib

def pytest_runtest_logreport(report):
    with open(pathlib.Path(__file__).parent / "phases.jsonl", "a") as out:
        out.write(json.dumps([report.nodeid, report.when, report.duration]) + "\\n")
"""


def _pytest(folder: pathlib.Path) -> dict[str, list[float]]:
    """Run the tests of ``folder`` in a fresh interpreter; each test function's set-up + call + tear-down (s),
    in order."""
    (folder / "conftest.py").write_text(CONFTEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the bench's pytest run failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    per_test: dict[str, float] = {}
    for line in (folder / "phases.jsonl").read_text().splitlines():
        nodeid, _, seconds = json.loads(line)
        per_test[nodeid] = per_test.get(nodeid, 0.0) + seconds
    times: dict[str, list[float]] = {}
    for nodeid, seconds in per_test.items():
        times.setdefault(nodeid.split("::")[-1].split("[")[0], []).append(seconds)
    return times


def _fixture(count: int, folder: pathlib.Path) -> list[Row]:
    (folder / "test_bare.py").write_text(BARE.format(count=count))
    (folder / "test_fixture.py").write_text(FIXTURE.format(count=count))
    times = _pytest(folder)
    bare, fixture = median(times["test_bare"]), median(times["test_fixture"][1:])
    cost = (fixture - bare) * 1000
    note = (
        f"{count} tests with the fixture against {count} without, one pytest run (each test's set-up, call "
        "and tear-down as pytest times them): "
        f"median {fixture * 1000:.3f} ms against {bare * 1000:.3f} ms; the first test with the fixture "
        f"({times['test_fixture'][0] * 1000:.0f} ms, the emulator's imports) is left out. The emulator's files "
        "are deleted by a thread of the plugin after the test"
    )
    return [Row.below(SECTION, "nemo_emulator set-up + tear-down per test", cost, "ms", 2, note=note)]


def _workflow(count: int, folder: pathlib.Path) -> list[Row]:
    (folder / "test_workflow.py").write_text(WORKFLOW.format(count=count, folder=str(folder)))
    times = _pytest(folder)["test_workflow"]
    first, warm = times[0] * 1000, [t * 1000 for t in times[1:]]
    bodies = [float(line) * 1000 for line in (folder / "bodies.jsonl").read_text().splitlines()]
    note = (
        f"{len(warm)} tests after the first, each test's whole time (fixture included): median "
        f"{median(warm):.1f} ms; the workflow alone (upload, generation turn, state, export with render and "
        f"download) median {median(bodies[1:]):.1f} ms"
    )
    metric = "whole workflow through nemo_emulator, slowest"
    return [
        Row.below(SECTION, metric, max(warm), "ms", 50, target="< 50 ms each", note=note),
        Row(SECTION, "first workflow test of a run (cold)", first, "ms", note="one-time imports, not in the row above"),
    ]


def _machine(examples: int) -> list[Row]:
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import invariant, run_state_machine_as_test

    from nemo_contract.testing import ClientMachine

    steps = [0]

    class Counted(ClientMachine):
        @invariant()
        def count(self) -> None:  # runs after the set-up and after every step
            steps[0] += 1

    chosen = settings(
        max_examples=examples,
        stateful_step_count=20,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    started = time.perf_counter()
    run_state_machine_as_test(Counted, settings=chosen)
    seconds = time.perf_counter() - started
    rules = steps[0] - examples  # the set-up of each example is not a step
    return [
        Row(
            SECTION,
            "ClientMachine steps per second (reference client)",
            rules / seconds,
            "steps/s",
            note=f"{examples} examples of at most 20 steps, derandomized: {rules} steps in {seconds:.1f} s, in this "
            "process (the emulator on a thread of its own, the client synchronous)",
        )
    ]


def _plugin_import(runs: int) -> list[Row]:
    probe = (
        "import time, pytest; started = time.perf_counter(); import nemo_contract.testing.plugin; "
        "print(time.perf_counter() - started)"
    )
    found = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
        found.append(float(done.stdout) * 1000)
    return [
        Row(
            SECTION,
            "loading the pytest plugin",
            median(found),
            "ms",
            note=f"median of {runs} fresh interpreters that have imported pytest: what every pytest run pays once "
            "nemo-contract is installed (no starlette, uvicorn, httpx or Hypothesis)",
        )
    ]


def run(*, tests: int = 500, workflows: int = 31, examples: int = 30) -> list[Row]:
    folder = OUT_DIR / "toolkit"
    shutil.rmtree(folder, ignore_errors=True)
    runs = {name: folder / name for name in ("fixture", "workflow")}
    for path in runs.values():
        path.mkdir(parents=True)
        (path / "pytest.ini").write_text("[pytest]\n")  # the run's own root: not the project's settings
    log(f"toolkit: the fixture over {tests} tests, {workflows} workflows, the machine over {examples} examples")
    rows = _fixture(tests, runs["fixture"])
    rows += _workflow(workflows, runs["workflow"])
    rows += _machine(examples)
    rows += _plugin_import(7)
    log("toolkit: " + json.dumps({row.metric: round(row.ours or 0, 3) for row in rows}))
    return rows
