"""Fixtures and helpers for the reference client's tests.

``harness``: the emulator in-process on a fast virtual clock (1000 virtual seconds per real second, so a
5-minute generation takes 0.3 s), driven by an ``AsyncClient`` over ``StreamingASGITransport``. The client's
clock is the emulator's and its sleep advances the emulator's clock (and is recorded), so nothing waits in real
time. ``live_harness``: the same emulator under a real uvicorn, driven by the synchronous ``Client``.
"""

from __future__ import annotations

import pathlib
import time
import typing

import pytest
from starlette.applications import Starlette

from mock_server import create_app
from mock_server._emulator import Emulator
from mock_server._journal import Entry
from nemo_contract import AsyncClient, Client, Message, MessageKind, StreamingASGITransport

from .clips import make_mp4
from .conftest import BASE, START, serve

__all__ = [
    "Harness",
    "LiveHarness",
    "harness_fixture",
    "live_harness_fixture",
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
