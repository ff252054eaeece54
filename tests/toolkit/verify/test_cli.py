"""``nemo-contract verify``: the summary, the report files, and the exit status (0 holds, 1 fails, 2 usage or an
unreachable server), run in-process against the emulator and a broken server."""

from __future__ import annotations

import io
import json
import os
import pathlib
import socket
import subprocess
import sys
import typing
import xml.etree.ElementTree as ET

import pytest

from nemo_contract import verify
from nemo_contract._cli import _verify, main

from .broken import NoRetryAfter
from .conftest import broken_server, emulator_server

QUICK = ["--phases", "none", "--seed", "7", "--timeout", "10"]


class Run(typing.NamedTuple):
    code: int
    out: str
    err: str


def run(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return Run(code, out.getvalue(), err.getvalue())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_server_that_holds_exits_0_and_writes_both_reports(tmp_path: pathlib.Path) -> None:
    junit, report = tmp_path / "verify.xml", tmp_path / "verify.json"
    with emulator_server() as url:
        done = run("verify", "--url", url, *QUICK, "--junit", str(junit), "--json", str(report))
    assert done.code == 0, done.out + done.err
    assert "HOLDS: 0 failed, 0 errored, 0 not run, 10 passed" in done.out
    assert "verify: sse_streaming" in done.err  # what it is doing, on standard error
    data = json.loads(report.read_text())
    assert data["holds"] is True and {check["name"] for check in data["checks"]} == set(_verify.CHECK_NAMES)
    suites = ET.parse(junit).getroot()
    (suite,) = suites.findall("testsuite")
    assert suite.get("name") == "protocol" and suite.get("tests") == "10" and suite.get("failures") == "0"


def test_a_broken_server_exits_1_naming_the_check(tmp_path: pathlib.Path) -> None:
    junit = tmp_path / "verify.xml"
    with broken_server(NoRetryAfter) as url:
        done = run("verify", "--url", url, *QUICK, "--junit", str(junit))
    assert done.code == 1
    line = next(line for line in done.out.splitlines() if "retry_after" in line)
    assert line.split()[:2] == ["FAIL", "retry_after"]
    assert "a 429 without Retry-After" in done.out
    assert "DOES NOT HOLD: 1 failed" in done.out
    (failure,) = ET.parse(junit).getroot().iter("failure")
    assert "Retry-After" in (failure.get("message") or "")


def test_the_global_json_option_prints_the_report_as_one_object() -> None:
    with emulator_server() as url:
        done = run("--json", "verify", "--url", url, *QUICK, "--checks", "token_required,envelope_status")
    assert done.code == 0
    (line,) = done.out.splitlines()
    data = json.loads(line)
    assert data["holds"] is True and [check["name"] for check in data["checks"]] == [
        "token_required",
        "envelope_status",
    ]


def test_a_check_that_could_not_run_fails_only_a_strict_run() -> None:
    """A chat message runs no tool, so the turn has no heartbeat to judge."""
    with emulator_server() as url:
        lenient = run("verify", "--url", url, *QUICK, "--message", "hello", "--checks", "sse_heartbeats")
        strict = run("verify", "--url", url, *QUICK, "--message", "hello", "--checks", "sse_heartbeats", "--strict")
    assert lenient.code == 0 and "NOT RUN  sse_heartbeats" in lenient.out
    assert "the turn sent no heartbeat" in lenient.out
    assert strict.code == 1


def test_nothing_answering_is_one_line_and_exit_2() -> None:
    done = run("verify", "--url", f"http://127.0.0.1:{_closed_port()}", *QUICK)
    assert done.code == 2 and done.out == ""
    (line,) = done.err.splitlines()
    assert line.startswith("nemo-contract: error: nothing answers at http://127.0.0.1:")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--url", "ftp://example.com"], "must start with http:// or https://"),
        (["--url", "http://x", "--phases", "examples,turbo"], "argument --phases: 'examples,turbo': choose from"),
        (["--url", "http://x", "--checks", "sse_frames,nonsense"], "argument --checks"),
        (["--url", "http://x", "--timeout", "0"], "argument --timeout: '0' must be at least"),
        (["--url", "http://x", "--timeout", "nan"], "argument --timeout: 'nan' must be at least"),
        (["--url", "http://x", "--max-examples", "0"], "argument --max-examples"),
        (["--url", "http://x", "--status-mode", "sometimes"], "argument --status-mode"),
        (["--url", "http://x", "--message", "  "], "--message is empty"),
        (["--url", "http://x", "--junit", "/no/such/folder/v.xml"], "--junit /no/such/folder/v.xml: the folder"),
        (["--url", "http://x", "--json", "/"], "--json /: that is a folder"),
        (["--phases", "none"], "the following arguments are required: --url"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_request(argv: list[str], says: str) -> None:
    done = run("verify", *argv)
    assert done.code == 2 and done.out == ""
    (line,) = done.err.splitlines()
    assert says in line


def test_the_command_line_spells_the_defaults_of_the_package() -> None:
    """The family spells them so that --help need not import the package; they must not drift apart."""
    assert verify.PHASES == _verify.PHASES
    assert tuple(check.name for check in verify.CHECKS) == _verify.CHECK_NAMES
    assert (verify.DEFAULT_TIMEOUT, verify.DEFAULT_MAX_EXAMPLES) == (
        _verify.DEFAULT_TIMEOUT,
        _verify.DEFAULT_MAX_EXAMPLES,
    )


def test_a_run_leaves_no_hypothesis_folder_where_it_was_started(tmp_path: pathlib.Path) -> None:
    """Schemathesis's Hypothesis keeps caches in ./.hypothesis; the command keeps them in a temporary folder."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    with emulator_server() as url:
        argv = ["verify", "--url", url, "--seed", "7", "--phases", "examples", "--max-examples", "1"]
        command = [sys.executable, "-m", "nemo_contract._cli", *argv, "--checks", "token_required"]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "schemathesis" in done.stdout
    assert list(tmp_path.iterdir()) == []
