"""The README's section on recordings: its Python example runs as written, on the shipped cassette, and every
command it shows exists."""

from __future__ import annotations

import io
import pathlib
import subprocess
import sys

import pytest

from nemo_contract._cli import main
from nemo_contract._cli._servers import main as nemo_mock

ROOT = pathlib.Path(__file__).resolve().parents[3]
SECTION = (ROOT / "README.md").read_text(encoding="utf-8").split("## Recording and replaying sessions", 1)[1]


def test_the_python_example_replays_the_shipped_session(tmp_path: pathlib.Path) -> None:
    code = SECTION.split("```python", 1)[1].split("```", 1)[0]
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Uploaded city_timelapse.mp4 (video, 2s, 320x180)." in lines
    assert any(line.startswith("✅ Video ready: saved to ") for line in lines)
    assert lines[-1].startswith("unused: [") and "getCredits" in lines[-1]  # the rest of the session, not asked for


def test_every_command_of_the_shell_example_is_one_that_exists(capsys: pytest.CaptureFixture[str]) -> None:
    block = SECTION.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    for command in commands:
        words = command.rstrip("&").split()
        words = words[1:] if "=" in words[0] else words
        if words[0] == "nemo-mock":
            with pytest.raises(SystemExit) as shown:
                nemo_mock([words[1], "--help"])
            assert shown.value.code == 0
            shown_help = capsys.readouterr().out
        else:
            assert words[0] == "nemo-contract" and words[1] in ("cassette", "say"), command
            out, err = io.StringIO(), io.StringIO()
            argv = [*words[1:3], "--help"] if words[1] == "cassette" else [words[1], "--help"]
            assert main(argv, stdout=out, stderr=err) == 0
            shown_help = out.getvalue()
        for flag in (word for word in words if word.startswith("-")):
            assert flag in shown_help, (command, flag)
