"""The reference client's world in its tests: the emulator and a factory of clients bound to it.

``Harness``: the emulator in-process (``nemo_contract.testing.Emulated``) on a fast virtual clock (1000 virtual
seconds per real second, so a 5-minute generation takes 0.3 s), driven by an ``AsyncClient`` over the streaming
transport. The client's clock is the emulator's and its sleep advances the emulator's clock (and is recorded), so
nothing waits in real time. ``LiveHarness``: the same emulator under a real uvicorn (``Served``), driven by the
synchronous ``Client``. The fixtures are in ``tests/client/conftest.py``.
"""

from __future__ import annotations

import pathlib
import time
import typing

import pytest

from mock_server import Emulator, Entry
from nemo_contract import AsyncClient, Client, Message, MessageKind, TurnFailed
from nemo_contract.testing import Emulated, Served, StreamingASGITransport

from ..clips import make_mp4

if typing.TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["FAST", "GENERATE", "Harness", "LiveHarness", "texts"]

#: Virtual seconds per real second of the fast emulators.
FAST = 1000.0
GENERATE = "generate a 10-second video of a city timelapse with lo-fi music"


def texts(messages: typing.Iterable[Message], kind: MessageKind | None = None) -> list[str]:
    return [m.text for m in messages if kind is None or m.kind is kind]


class _Base:
    def __init__(self, app: Starlette, emulator: Emulator, base_url: str, folder: pathlib.Path) -> None:
        self.app = app
        self.emulator = emulator
        self.base_url = base_url
        self.folder = folder
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        """The clients' sleep: noted in ``sleeps``, then passed as the harness passes time."""
        self.sleeps.append(seconds)
        self._pass(seconds)

    def _pass(self, seconds: float) -> None:
        raise NotImplementedError

    def _options(self, **options: typing.Any) -> dict[str, typing.Any]:
        """A client's options: bound to the emulator, on its clock, sleeping through ``sleep``."""
        return {
            "base_url": self.base_url,
            "clock": self.emulator.clock.now,
            "sleep": self.sleep,
            "download_dir": self.folder,
            **options,
        }

    def configure(self, **knobs: typing.Any) -> None:
        """Change the emulator's knobs (as ``PUT /__mock__/config`` does; fault rules count afresh)."""
        self.emulator.configure(**knobs)

    def faults(self, *rules: dict[str, typing.Any]) -> None:
        self.emulator.configure(faults=list(rules))

    def account(self, user_id: str, **fields: typing.Any) -> None:
        self.emulator.set_account(user_id, **fields)

    def journal(self, method: str | None = None, path: str | None = None) -> list[Entry]:
        return self.emulator.entries(method=method, path=path)

    def requests(self) -> list[tuple[str, str, int | None]]:
        """(method, path, code) of every API request so far."""
        return [(e.method, e.path, e.code) for e in self.journal()]

    def clip(self, name: str = "city_timelapse", **size: typing.Any) -> pathlib.Path:
        return make_mp4(self.folder / name, **{"width": 320, "height": 180, "duration": 2.0, **size})


class Harness(_Base):
    """The emulator in-process (fast clock) and a factory of ``AsyncClient``s bound to it."""

    def __init__(self, emulated: Emulated, folder: pathlib.Path) -> None:
        super().__init__(emulated.app, emulated.emulator, emulated.base_url, folder)
        self.emulated = emulated

    def _pass(self, seconds: float) -> None:
        self.emulator.advance(seconds)

    def client(self, **options: typing.Any) -> AsyncClient:
        return AsyncClient(**self._options(**{"transport": StreamingASGITransport(self.app), **options}))

    async def failed_turn(self, fault: dict[str, typing.Any]) -> tuple[list[Message], TurnFailed]:
        """A generation under the fault rule ``fault`` (after a first state read), which must end in
        ``TurnFailed``: the messages shown before it, and the error."""
        seen: list[Message] = []
        async with self.client() as client:
            await client.state()
            self.faults(fault)

            async def listen() -> None:
                async for message in client.aiter_turn(GENERATE):
                    seen.append(message)

            with pytest.raises(TurnFailed) as raised:
                await listen()
        return seen, raised.value


class LiveHarness(_Base):
    """The emulator under uvicorn (fast clock), and ``Client``s whose sleep is scaled to it."""

    def __init__(self, served: Served, folder: pathlib.Path) -> None:
        super().__init__(served.app, served.emulator, served.url, folder)

    def _pass(self, seconds: float) -> None:
        time.sleep(seconds / FAST)

    def client(self, **options: typing.Any) -> Client:
        return Client(**self._options(**options))
