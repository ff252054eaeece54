"""The README's quick start and its curl walk-through, run as written against a live emulator."""

from __future__ import annotations

import io
import os
import pathlib
import re
import shutil
import subprocess

import av
import pytest

from .clips import make_mp4
from .test_mock_cli import _start, _stop

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_quick_start_is_exactly_two_commands_that_the_makefile_has() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.live
@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")), reason="needs curl and jq"
)
def test_the_curl_walk_through_works_as_written(tmp_path: pathlib.Path) -> None:
    script = README.split("## The API in curl", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    make_mp4(tmp_path / "clip.mp4", width=320, height=180, duration=2.0, fps=25)
    process, url = _start("--time-scale", "1000")
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env={**os.environ, "API": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        _stop(process, 15)
    assert result.returncode == 0, result.stderr
    assert '"file_type":"video"' in result.stdout
    assert "data: {" in result.stdout and '"status":"completed"' in result.stdout
    data = (tmp_path / "video.mp4").read_bytes()
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        # A landscape upload makes a 1080p landscape draft.
        assert (stream.codec_context.width, stream.codec_context.height) == (1920, 1080)
