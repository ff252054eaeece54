"""The Makefile's first hour: ``make run ARGS=...`` reaches the emulator; a Python that is too old, or a venv that
fails half-way, leaves one clear line and no broken ``.venv`` behind. Fake interpreters stand in for old ones."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def _fake_python(folder: pathlib.Path, *, version: tuple[int, int], venv_fails: bool) -> pathlib.Path:
    """A script that answers ``-c CODE`` as Python ``version`` would (this Python, told its version is that), and
    makes a venv's folder for ``-m venv DIR``, then fails if ``venv_fails`` (as a Python without ensurepip does)."""
    fake = folder / f"python{version[0]}.{version[1]}"
    pretend = f"import sys; sys.version_info = ({version[0]}, {version[1]}, 0, 'final', 0); exec(sys.argv[1])"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-c" ]; then exec {sys.executable} -c "{pretend}" "$2"; fi\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin"; '
        f"exit {1 if venv_fails else 0}; fi\n"
        "exit 1\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    return fake


def test_make_run_passes_args_to_the_emulator(tmp_path: pathlib.Path) -> None:
    shown = _make("-n", "run", f"VENV={tmp_path / 'venv'}", "ARGS=--time-scale 60 --seed 3")
    assert shown.returncode == 0, shown.stderr
    serve = [line for line in shown.stdout.splitlines() if "nemo-mock serve" in line]
    assert serve == [f"{tmp_path / 'venv'}/bin/nemo-mock serve --host 127.0.0.1 --port 8000 --time-scale 60 --seed 3"]


def test_an_old_python_is_one_line_and_leaves_no_venv(tmp_path: pathlib.Path) -> None:
    venv = tmp_path / ".venv"
    old = _fake_python(tmp_path, version=(3, 10), venv_fails=False)
    done = _make("run", f"PYTHON={old}", f"VENV={venv}")
    assert done.returncode != 0
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "needs Python 3.11 or newer" in done.stderr and f"{old} is 3.10" in done.stderr
    assert not venv.exists()
    missing = _make("run", f"PYTHON={tmp_path / 'nothing'}", f"VENV={venv}")
    assert missing.returncode != 0 and len(missing.stderr.splitlines()) == 1
    assert "is not a Python that runs" in missing.stderr
    assert not venv.exists()


def test_a_venv_that_fails_half_way_is_removed_unless_it_was_there(tmp_path: pathlib.Path) -> None:
    venv = tmp_path / ".venv"
    broken = _fake_python(tmp_path, version=(3, 12), venv_fails=True)
    assert _make("run", f"PYTHON={broken}", f"VENV={venv}").returncode != 0
    assert not venv.exists()
    venv.mkdir()
    (venv / "keep.txt").write_text("mine")
    assert _make("run", f"PYTHON={broken}", f"VENV={venv}").returncode != 0
    assert (venv / "keep.txt").read_text() == "mine"  # a folder that was there before is never removed
