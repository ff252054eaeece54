"""The ``cli`` fixture: ``nemo-contract`` run in-process against the live emulator, in a folder of its own."""

from __future__ import annotations

import pathlib

import pytest

from ...client_fixtures import LiveHarness, live_harness_fixture  # noqa: F401 - fixtures
from .runner import CLI


@pytest.fixture
def cli(live_harness: LiveHarness, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> CLI:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEMO_TOKEN", raising=False)
    return CLI(live_harness, tmp_path / "state.json")
