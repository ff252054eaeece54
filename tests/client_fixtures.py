"""Fixtures and helpers for the reference client's tests.

``harness``: the emulator in-process on a fast virtual clock (1000 virtual seconds per real second, so a
5-minute generation takes 0.3 s), driven by an ``AsyncClient`` over ``StreamingASGITransport``. The client's
clock is the emulator's and its sleep advances the emulator's clock (and is recorded), so nothing waits in real
time. ``live_harness``: the same emulator under a real uvicorn, driven by the synchronous ``Client``.
"""

from __future__ import annotations

import json
import pathlib
import time
import typing

import httpx
import pytest
import respx
from starlette.applications import Starlette

from mock_server import create_app
from mock_server._emulator import Emulator
from mock_server._journal import Entry
from nemo_contract import AsyncClient, Client, Message, MessageKind
from nemo_contract.testing import StreamingASGITransport

from .clips import make_mp4
from .conftest import BASE, START, serve

__all__ = [
    "API",
    "DRAFT",
    "Harness",
    "LiveHarness",
    "Scripted",
    "adk_text",
    "harness_fixture",
    "live_harness_fixture",
    "ok",
    "texts",
]

#: Virtual seconds per real second of the fast emulators.
FAST = 1000.0
GENERATE = "generate a 10-second video of a city timelapse with lo-fi music"


def texts(messages: typing.Iterable[Message], kind: MessageKind | None = None) -> list[str]:
    return [m.text for m in messages if kind is None or m.kind is kind]


class _Base:
    emulator: Emulator
    base_url: str
    folder: pathlib.Path

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def configure(self, **knobs: typing.Any) -> None:
        """Change the emulator's knobs (as ``PUT /__mock__/config`` does; fault rules count afresh)."""
        self.emulator.set_config(self.emulator.config.merged(knobs))

    def faults(self, *rules: dict[str, typing.Any]) -> None:
        self.configure(faults=list(rules))

    def account(self, user_id: str, **fields: typing.Any) -> None:
        account = self.emulator.store.accounts[user_id]
        for key, value in fields.items():
            setattr(account, key, value)

    def journal(self, method: str | None = None, path: str | None = None) -> list[Entry]:
        return self.emulator.journal.find(method=method, path=path)

    def requests(self) -> list[tuple[str, str, int | None]]:
        """(method, path, code) of every API request so far."""
        return [(e.method, e.path, e.code) for e in self.journal()]

    def clip(self, name: str = "city_timelapse", **size: typing.Any) -> pathlib.Path:
        return make_mp4(self.folder / name, **{"width": 320, "height": 180, "duration": 2.0, **size})


class Harness(_Base):
    """The emulator in-process (fast clock) and a factory of ``AsyncClient``s bound to it."""

    def __init__(self, app: Starlette, folder: pathlib.Path) -> None:
        super().__init__()
        self.app = app
        self.emulator = app.state.emulator
        self.base_url = BASE
        self.folder = folder

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.emulator.clock.advance(seconds)

    def client(self, **options: typing.Any) -> AsyncClient:
        settings: dict[str, typing.Any] = {
            "base_url": BASE,
            "transport": StreamingASGITransport(self.app),
            "clock": self.emulator.clock.now,
            "sleep": self.sleep,
            "download_dir": self.folder,
            **options,
        }
        return AsyncClient(**settings)


class LiveHarness(_Base):
    """The emulator under uvicorn (fast clock), and ``Client``s whose sleep is scaled to it."""

    def __init__(self, url: str, app: Starlette, folder: pathlib.Path) -> None:
        super().__init__()
        self.app = app
        self.emulator = app.state.emulator
        self.base_url = url
        self.folder = folder

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds / FAST)

    def client(self, **options: typing.Any) -> Client:
        settings: dict[str, typing.Any] = {
            "base_url": self.base_url,
            "clock": self.emulator.clock.now,
            "sleep": self.sleep,
            "download_dir": self.folder,
            **options,
        }
        return Client(**settings)


@pytest.fixture(name="harness")
def harness_fixture(tmp_path: pathlib.Path) -> typing.Iterator[Harness]:
    application = create_app(seed=7, time_scale=FAST, clock_start=START)
    yield Harness(application, tmp_path)
    application.state.emulator.close()


@pytest.fixture(name="live_harness")
def live_harness_fixture(tmp_path: pathlib.Path) -> typing.Iterator[LiveHarness]:
    application = create_app(seed=7, time_scale=FAST, clock_start=START)
    with serve(application) as url:
        yield LiveHarness(url, application, tmp_path)


# -- a scripted backend (respx) for what the emulator does not say on demand ----------------------------------------

API = "https://api.example.test"

DRAFT: dict[str, typing.Any] = {
    "t": [
        {"tt": 0, "sg": [{"id": "a", "n": "city timelapse", "st": 0, "d": 10000}]},
        {"tt": 1, "sg": [{"id": "b", "n": "Lo-fi", "st": 0, "d": 10000, "v": 0.35}]},
        {"tt": 7, "sg": [{"id": "c", "n": "Urban Dreams", "st": 0, "d": 3000, "x": "Urban Dreams"}]},
    ],
    "d": 10000,
    "m": {"title": "Urban Dreams", "width": 1920, "height": 1080},
}


def ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "message": "success", "data": data})


def adk_text(text: str) -> bytes:
    event = {"content": {"parts": [{"text": text}], "role": "model"}, "author": "nemo_agent", "id": "x"}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


async def _chunks(parts: list[bytes]) -> typing.AsyncIterator[bytes]:
    for part in parts:
        yield part


class Scripted:
    """Token, session, a sequence of states and of turns; records each /run_sse body.

    Each state read takes the next draft of ``drafts`` (the last one repeats); each turn the next item of
    ``turns``: a list of byte chunks, or any async iterator of them.
    """

    def __init__(self, router: respx.MockRouter, drafts: list[dict[str, typing.Any]], turns: list[typing.Any]) -> None:
        self.drafts, self.turns = list(drafts), list(turns)
        self.bodies: list[dict[str, typing.Any]] = []
        router.post(f"{API}/api/auth/anonymous-token").mock(
            return_value=ok({"token": "nmv_usr_scripted", "user_id": "anon_1", "credits": 100})
        )
        router.post(f"{API}/api/tasks/me/with-session/nemo_agent").mock(
            return_value=ok({"task_id": "task_1", "session_id": "1000000000000000001", "user_id": "anon_1"})
        )
        router.get(url__regex=rf"{API}/api/state/.*").mock(side_effect=self._state)
        router.post(f"{API}/run_sse").mock(side_effect=self._turn)

    def _state(self, request: httpx.Request) -> httpx.Response:
        draft = self.drafts.pop(0) if len(self.drafts) > 1 else self.drafts[0]
        return ok({"session_id": "1000000000000000001", "state": {"draft": draft, "video_infos": []}})

    def _turn(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        content = self.turns.pop(0)
        if isinstance(content, list):
            content = _chunks(content)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)

    @property
    def said(self) -> list[str]:
        """The text of each turn sent."""
        return [body["new_message"]["parts"][0]["text"] for body in self.bodies]
