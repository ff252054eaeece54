"""Shared fixtures: an in-process emulator on a frozen clock, a streaming client for it, a live server."""

from __future__ import annotations

import contextlib
import threading
import time
import typing

import httpx
import pytest
import uvicorn
from hypothesis import settings
from starlette.applications import Starlette

from mock_server import create_app
from mock_server._emulator import Emulator
from nemo_contract.testing import StreamingASGITransport

# A failing property test prints the exact @reproduce_failure(...) line that replays it; the emulator's own
# choices come from its seed, so that line is all it takes to see the failure again. The profile's parent is the
# one active now: under CI that is Hypothesis's "ci" profile (derandomized). Schemathesis's state-machine runs
# strip the line; see STATEFUL in tests/test_contract.py.
settings.register_profile("nemo-contract", print_blob=True)
settings.load_profile("nemo-contract")

# tests/toolkit/testing runs pytest inside pytest to prove the plugin from a user's side; pytest takes
# pytest_plugins from a top-level conftest only.
pytest_plugins = ["pytester"]

BASE = "http://emulator.test"
SKILL_HEADERS = {"X-Skill-Source": "video-to-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}
#: Virtual clock start of the in-process fixtures: 2026-03-13T00:00:00Z.
START = 1773360000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> typing.Iterator[Starlette]:
    """A fresh emulator, seed 7, its clock frozen at START (tests move it with ``emulator.clock.advance``)."""
    application = create_app(seed=7, time_scale=0.0, clock_start=START)
    yield application
    application.state.emulator.close()


@pytest.fixture
def emulator(app: Starlette) -> Emulator:
    found: Emulator = app.state.emulator
    return found


@pytest.fixture
async def client(app: Starlette) -> typing.AsyncIterator[httpx.AsyncClient]:
    transport = StreamingASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=SKILL_HEADERS) as http:
        yield http


async def new_token(client: httpx.AsyncClient, client_id: str = "client-1") -> tuple[str, str]:
    """(token, user_id) for a client id."""
    response = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return data["token"], data["user_id"]


async def new_session(client: httpx.AsyncClient, token: str, language: str | None = "en") -> str:
    body: dict[str, str] = {"task_name": "project"}
    if language is not None:
        body["language"] = language
    response = await client.post(
        "/api/tasks/me/with-session/nemo_agent", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    session_id: str = response.json()["data"]["session_id"]
    return session_id


class LiveServer(typing.NamedTuple):
    url: str
    app: Starlette


@contextlib.contextmanager
def serve(application: Starlette) -> typing.Iterator[str]:
    """Run an app under a real uvicorn on a free loopback port, in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=0, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live emulator did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server() -> typing.Iterator[LiveServer]:
    """The emulator under a real uvicorn on a free loopback port (time scale 1000: a minute takes 60 ms)."""
    application = create_app(seed=7, time_scale=1000.0)
    with serve(application) as url:
        yield LiveServer(url, application)
