"""The ``cli`` fixture: ``nemo-contract`` run in-process against the live emulator, in a folder of its own, with
its download folder (``$XDG_DATA_HOME``) in there too."""

from __future__ import annotations

import pathlib

import pytest

from ..harness import LiveHarness
from .runner import CLI


@pytest.fixture
def cli(live_harness: LiveHarness, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> CLI:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEMO_TOKEN", raising=False)
    monkeypatch.delenv("NEMO_CONTRACT_DOWNLOADS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the download folder: never the real one
    return CLI(live_harness, tmp_path / "state.json", downloads=tmp_path / "data" / "nemo-contract" / "exports")
