"""The commands' surface: ``nemo-mock --help`` lists the emulator's commands and the recording ones (the console
script is ``nemo_contract._cli._servers``), ``python -m mock_server`` keeps its own two, and the cassette commands'
bad input is one line."""

from __future__ import annotations

import io
import pathlib
import subprocess
import sys

import pytest

from nemo_contract._cli import main
from nemo_contract._cli._servers import main as nemo_mock

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_nemo_mock_lists_all_four_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        nemo_mock(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for command in ("serve", "sample-clip", "record", "replay"):
        assert f"\n    {command}" in shown
    emulator_only = subprocess.run(
        [sys.executable, "-m", "mock_server", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "sample-clip" in emulator_only.stdout and "record" not in emulator_only.stdout
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'nemo-mock = "nemo_contract._cli._servers:main"' in pyproject


def test_the_emulators_commands_still_run_through_nemo_mock(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert nemo_mock(["sample-clip", str(tmp_path / "a.mp4"), "--seconds", "0.5", "--size", "64x48"]) == 0
    assert (tmp_path / "a.mp4").stat().st_size > 0
    assert nemo_mock(["sample-clip", str(tmp_path / "a.mp4"), "--bogus"]) == 2
    assert nemo_mock(["replay", str(tmp_path / "x.jsonl"), "--bogus"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "nemo-mock sample-clip: error: unrecognized arguments: --bogus",
        "nemo-mock replay: error: unrecognized arguments: --bogus",
    ]


@pytest.mark.parametrize(
    ("argv", "status", "said"),
    [
        (["cassette"], 2, "the following arguments are required: ACTION"),
        (["cassette", "show"], 2, "the following arguments are required: FILE"),
        (["cassette", "show", "/no/such.jsonl"], 5, "cannot read /no/such.jsonl"),
        (["cassette", "check", "x.jsonl"], 2, "the following arguments are required: --url"),
        (["cassette", "check", "x.jsonl", "--url", "http://a", "--speed", "fast"], 2, "a speed is 1, a number"),
        (["cassette", "compact", "/no/such.jsonl"], 5, "cannot read /no/such.jsonl"),
    ],
)
def test_bad_input_to_the_cassette_commands_is_one_line(argv: list[str], status: int, said: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, stdout=out, stderr=err) == status
    assert len(err.getvalue().splitlines()) == 1 and said in err.getvalue(), err.getvalue()
