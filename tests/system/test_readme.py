"""The README's quick start and its walk-through, run as written under ``sh`` against a live emulator."""

from __future__ import annotations

import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import av
import pytest

from ..helpers import start_mock as _start
from ..helpers import stop_process as _stop

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_quick_start_is_exactly_two_commands_that_the_makefile_has() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _walk_through() -> str:
    return README.split("## The API in curl", 1)[1].split("```sh", 1)[1].split("```", 1)[0]


def test_the_walk_through_is_posix_sh() -> None:
    """No bash arrays or other bashisms: ``sh -n`` (dash here) reads it."""
    checked = subprocess.run(["sh", "-n"], input=_walk_through(), capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.live
@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_the_curl_walk_through_works_as_written_under_sh(tmp_path: pathlib.Path) -> None:
    """Run in a folder laid out like the clone (``.venv/bin`` holds the commands, which are not on PATH): the
    walk-through's own first line finds them, it makes its clip, and ``nemo-contract`` talks to the emulator."""
    commands = pathlib.Path(sys.executable).parent
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(commands, target_is_directory=True)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and pathlib.Path(p) != commands)
    assert not shutil.which("nemo-mock", path=path)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NEMO_", "XDG_"))},
        "PATH": path,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    process, url = _start("--time-scale", "1000")
    try:
        result = subprocess.run(
            ["sh", "-eu", "-c", _walk_through()],
            cwd=tmp_path,
            env={**env, "API": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        _stop(process, 15)
    assert result.returncode == 0, result.stderr
    assert '"file_type":"video"' in result.stdout
    assert re.search(
        r"^Claim it later at https://nemovideo.com/workspace/claim\?ct=clm_[A-Za-z0-9]{32}$", result.stdout, re.M
    )
    assert "data: {" in result.stdout and '"status":"completed"' in result.stdout
    for line in result.stdout.splitlines():  # every JSON answer on a line of its own
        if line.startswith(("{", "[")):
            json.loads(line)
    assert "Uploaded clip.mp4 (video, 5s, 640x360)." in result.stdout  # the client, on the emulator
    assert "Credits: 100 available" in result.stdout
    with av.open(str(tmp_path / "clip.mp4")) as clip:
        assert clip.streams.video[0].codec_context.name == "h264"
    data = (tmp_path / "video.mp4").read_bytes()
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        # A landscape upload makes a 1080p landscape draft.
        assert (stream.codec_context.width, stream.codec_context.height) == (1920, 1080)


def test_the_client_is_pointed_at_the_emulator_before_its_first_command() -> None:
    """In every shell block, ``NEMO_API_URL`` is set before the first ``nemo-contract`` command that talks to a
    service (else it talks to the real one), and the text says where the commands are."""
    blocks = [block.split("```", 1)[0] for block in README.split("```sh")[1:]]
    assert any("nemo-contract " in block for block in blocks)
    for block in blocks:
        lines = [line.strip() for line in block.splitlines()]
        first = next((n for n, line in enumerate(lines) if line.startswith("nemo-contract ")), None)
        if first is not None:
            assert any("NEMO_API_URL=" in line for line in lines[:first]), block
    assert ".venv/bin" in README
