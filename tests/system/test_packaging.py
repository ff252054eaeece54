"""`pip install .` (not editable) gives working commands, with the specs inside the wheel and found there."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _pip(command: str, option: str, folder: pathlib.Path, source: pathlib.Path) -> pathlib.Path:
    """``pip <command> --quiet --no-deps <option> <folder> <source>`` (without our dependencies: the test's
    Python has them); the folder."""
    subprocess.run(
        [sys.executable, "-m", "pip", command, "--quiet", "--no-deps", option, str(folder), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = _pip("wheel", "--wheel-dir", tmp_path_factory.mktemp("wheel"), ROOT)
    (found,) = out.glob("nemo_contract-*.whl")
    return found


def test_the_wheel_carries_both_packages_the_specs_and_both_commands(wheel: pathlib.Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    assert "nemo_contract/specs/nemovideo.openapi.yaml" in names
    assert "nemo_contract/specs/mock-admin.openapi.yaml" in names
    assert "mock_server/_app.py" in names and "nemo_contract/protocol/__init__.py" in names
    assert "nemo-mock = nemo_contract._cli._servers:main" in scripts
    assert "nemo_cassette = nemo_contract.recording.plugin" in scripts  # the pytest11 entry point
    assert "nemo_contract/specs/cassette.schema.json" in names and "nemo_contract/specs/har-1.2.schema.json" in names
    assert "nemo_contract/recording/cassettes/video-to-generator.jsonl" in names
    assert "nemo_contract/recording/cassettes/auto-generator.jsonl" in names
    assert "nemo-contract = nemo_contract._cli:main" in scripts
    assert not any(n.startswith("tests/") for n in names)


@pytest.fixture(scope="module")
def installed(wheel: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The wheel installed as ``pip install`` would, into a folder of its own."""
    return _pip("install", "--target", tmp_path_factory.mktemp("site"), wheel)


def test_an_installed_copy_finds_its_specs_inside_itself(installed: pathlib.Path, tmp_path: pathlib.Path) -> None:
    target = installed
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "from nemo_contract.protocol.specs import spec_path, load_spec; print(spec_path()); "
        "print(load_spec()['openapi'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    path, version = result.stdout.split()
    assert path.startswith(str(target))
    assert version.startswith("3.1")
    for command in ("nemo-mock", "nemo-contract"):
        shown = subprocess.run(
            [str(target / "bin" / command), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert shown.returncode == 0, shown.stderr
        assert "usage:" in shown.stdout


def test_the_installed_emulator_serves(installed: pathlib.Path, tmp_path: pathlib.Path) -> None:
    import signal

    import httpx

    target = installed
    env = {**os.environ, "PYTHONPATH": str(target)}
    process = subprocess.Popen(
        [str(target / "bin" / "nemo-mock"), "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("nemo-mock: serving http://127.0.0.1:"), line
        url = line.split()[2]
        assert httpx.get(f"{url}/__mock__/health", timeout=5).json()["data"]["status"] == "ok"
        token = httpx.post(f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": "w"}, timeout=5)
        auth = {"Authorization": f"Bearer {token.json()['data']['token']}"}
        bad = httpx.post(f"{url}/api/tasks/me/with-session/nemo_agent", json={"task_name": 5}, headers=auth, timeout=5)
        # Refused by the schema in the spec found inside the wheel.
        assert (bad.status_code, bad.json()["code"]) == (400, 400)
        assert "task_name" in bad.json()["message"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert process.returncode == 0
