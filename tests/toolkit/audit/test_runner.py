"""One run: the program's environment, the closed control plane, the timeout that stops its whole process group,
the triggers that act while it runs, and a program that cannot be started."""

from __future__ import annotations

import json
import pathlib
import re
import stat
import sys
import time

import pytest

from nemo_contract.audit import Expect, Matrix, ProgramNotStarted, Scenario, Trigger, audit

from .conftest import probe

#: A scenario that asks nothing of the program: these tests look at the run itself.
ANYTHING = Expect(outcome="either", work=())


def _matrix(*scenarios: Scenario) -> Matrix:
    return Matrix(scenarios, "test")


def test_the_program_gets_its_emulator_a_fresh_home_and_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEMO_TOKEN", "nmv_usr_from_the_callers_environment")
    monkeypatch.setenv("NEMO_CONTRACT_STATE", "/somewhere/state.json")
    matrix = _matrix(Scenario(name="one", expect=ANYTHING), Scenario(name="two", expect=ANYTHING))
    verdicts = audit(probe("env"), matrix=matrix)
    seen = [json.loads(r.stdout.split(" ", 1)[1]) for r in verdicts.results]
    for env in seen:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", env["NEMO_API_URL"])
        assert env["NEMO_TOKEN"] is None and env["NEMO_CONTRACT_STATE"] is None
        home = pathlib.Path(env["HOME"])
        assert env["XDG_CONFIG_HOME"] == str(home / ".config") and env["XDG_DATA_HOME"].startswith(str(home))
        assert not home.exists()  # removed after the run
    assert seen[0]["HOME"] != seen[1]["HOME"] and seen[0]["NEMO_API_URL"] != seen[1]["NEMO_API_URL"]


def test_the_control_plane_is_closed_to_the_program() -> None:
    verdicts = audit(probe("control", "token", "control"), matrix=_matrix(Scenario(name="one", expect=ANYTHING)))
    (result,) = verdicts.results
    assert result.stdout.splitlines() == ["control 404", "token 0", "control 404"]
    assert result.requests == 1  # only the token request is the program's traffic


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie that no init reaps, as in some containers, does not)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_program_past_its_timeout_is_stopped_with_everything_it_started() -> None:
    started = time.monotonic()
    command = ["sh", "-c", "sleep 60 & echo $!; exec sleep 60"]
    verdicts = audit(command, matrix=_matrix(Scenario(name="slow", expect=ANYTHING)), timeout=1)
    (result,) = verdicts.results
    assert result.timed_out and result.exit_status is None
    assert result.notes == ("stopped after the 1 s timeout",)
    assert result.verdict("outcome").status == "fail"
    assert result.verdict("outcome").evidence[0].startswith("the program did not finish: it was stopped at +1.")
    assert not _alive(int(result.stdout.strip()))  # the background sleep went with the group
    assert time.monotonic() - started < 30


def test_output_beyond_the_cap_is_read_and_dropped() -> None:
    command = [sys.executable, "-c", "import sys; sys.stdout.write('x' * 3_000_000)"]
    (result,) = audit(command, matrix=_matrix(Scenario(name="loud", expect=ANYTHING))).results
    assert result.stdout.startswith("x" * 1000)
    assert result.stdout.endswith("[... 1951424 more bytes not kept]")


def test_a_trigger_acts_after_the_nth_matching_request() -> None:
    faults = ({"path": "/api/credits/*", "code": 429, "times": 1},)
    trigger = Trigger(action="add_faults", method="GET", path="/api/credits/*", count=2, when="request", faults=faults)
    scenario = Scenario(name="busy", expect=ANYTHING, triggers=(trigger,))
    (result,) = audit(probe("token", "credits", "credits", "credits"), matrix=_matrix(scenario)).results
    assert result.stdout.splitlines() == ["token 0", "credits 0", "credits 0", "credits 429"]
    assert re.fullmatch(
        r"add fault rules after GET /api/credits/\* #2 arrived \(#3 at \+\d+\.\d\d s\)", result.notes[0]
    )


@pytest.mark.parametrize("action", ["reset", "expire_token"])
def test_a_trigger_resets_the_emulator_or_expires_the_token(action: str) -> None:
    trigger = Trigger(action=action, method="POST", path="/api/tasks/*")  # type: ignore[arg-type]
    scenario = Scenario(name=action.replace("_", "-"), expect=ANYTHING, triggers=(trigger,))
    verdicts = audit(probe("token", "session", "credits", "token", "credits"), matrix=_matrix(scenario))
    (result,) = verdicts.results
    assert result.stdout.splitlines() == ["token 0", "session 0", "credits 1001", "token 0", "credits 0"]
    assert result.requests == 5  # entries from before a reset are kept, and numbered on
    assert result.verdict("after-1001").status == "pass"  # it asked for a new token and sent the call again


def test_a_program_that_cannot_start_is_said_so_before_anything_runs(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    for command, problem in (
        ([str(tmp_path / "missing")], "no such file"),
        (["no-such-program-anywhere"], "no such command on PATH"),
        ([str(script)], "not executable"),
    ):
        with pytest.raises(ProgramNotStarted, match=problem):
            audit(command, scenarios=["baseline"])
    no_shebang = tmp_path / "plain"
    no_shebang.write_bytes(b"\x00\x01not a program")
    no_shebang.chmod(0o700)
    with pytest.raises(ProgramNotStarted, match="cannot start"):
        audit([str(no_shebang)], matrix=_matrix(Scenario(name="one", expect=ANYTHING)))
