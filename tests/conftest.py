"""Fixtures every folder of tests may use: an in-process emulator on a frozen clock and a streaming client for it,
the same emulator behind a real uvicorn (both from ``nemo_contract.testing``), and the reference client's worlds:
``harness`` (the emulator in-process on a fast clock, ``AsyncClient``s) and ``live_harness`` (the emulator under
uvicorn, the synchronous ``Client``; see ``tests/client/harness.py``)."""

from __future__ import annotations

import pathlib
import typing

import httpx
import pytest
from hypothesis import settings
from starlette.applications import Starlette

from mock_server import Emulator
from nemo_contract.testing import Emulated, Served

from .client.harness import FAST, Harness, LiveHarness
from .helpers import BASE, SKILL_HEADERS, START

# A failing property test prints the exact @reproduce_failure(...) line that replays it; the emulator's own
# choices come from its seed, so that line is all it takes to see the failure again. The profile's parent is the
# one active now: under CI that is Hypothesis's "ci" profile (derandomized). Schemathesis's state-machine runs
# strip the line; see STATEFUL in tests/system/test_contract.py. No deadline: how long an example takes is a
# benchmark's business, and under a busy machine (two workers) Hypothesis's 200 ms made tests flaky.
settings.register_profile("nemo-contract", print_blob=True, deadline=None)
settings.load_profile("nemo-contract")

# tests/toolkit/testing runs pytest inside pytest to prove the plugin from a user's side; pytest takes
# pytest_plugins from a top-level conftest only.
pytest_plugins = ["pytester"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulated() -> typing.Iterator[Emulated]:
    """A fresh emulator, seed 7, its clock frozen at START (tests move it with ``emulator.advance``)."""
    with Emulated(seed=7, clock="manual", clock_start=START) as made:
        yield made


@pytest.fixture
def app(emulated: Emulated) -> Starlette:
    return emulated.app


@pytest.fixture
def emulator(emulated: Emulated) -> Emulator:
    return emulated.emulator


@pytest.fixture
async def client(emulated: Emulated) -> typing.AsyncIterator[httpx.AsyncClient]:
    async with emulated.async_client(base_url=BASE, headers=SKILL_HEADERS) as http:
        yield http


@pytest.fixture
def live_server() -> typing.Iterator[Served]:
    """The emulator under a real uvicorn on a free loopback port (time scale 1000: a minute takes 60 ms)."""
    with Served(seed=7, clock="real", time_scale=1000.0) as served:
        yield served


@pytest.fixture
def harness(tmp_path: pathlib.Path) -> typing.Iterator[Harness]:
    with Emulated(seed=7, clock="real", time_scale=FAST, clock_start=START) as emulated:
        yield Harness(emulated, tmp_path)


@pytest.fixture
def live_harness(tmp_path: pathlib.Path) -> typing.Iterator[LiveHarness]:
    with Served(seed=7, clock="real", time_scale=FAST, clock_start=START) as served:
        yield LiveHarness(served, tmp_path)
