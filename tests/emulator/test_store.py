"""mock_server._store: identifiers follow the seed and the epoch; a reset never issues an identifier again."""

from __future__ import annotations

import pathlib

import httpx
import pytest

from mock_server import create_app
from mock_server._emulator import Emulator
from mock_server._store import Ids
from nemo_contract.testing import StreamingASGITransport

from ..clips import make_png
from ..helpers import SKILL_HEADERS, START

pytestmark = pytest.mark.anyio


def _draw(ids: Ids) -> list[str]:
    return [ids.token(), ids.user_id(), ids.session_id(), ids.task_id(), ids.file_id(), ids.render_key()]


def test_ids_follow_the_seed_and_the_epoch() -> None:
    assert _draw(Ids(7)) == _draw(Ids(7))  # a seeded test repeats exactly
    assert _draw(Ids(7, 1)) == _draw(Ids(7, 1))
    first, after_reset, other_seed = _draw(Ids(7)), _draw(Ids(7, 1)), _draw(Ids(8))
    assert not set(first) & set(after_reset)
    assert not set(first) & set(other_seed)
    # Random draws (turn plans, durations, faults) follow the seed alone: a reset repeats them.
    assert Ids(7).rng("turn", "s", 1).random() == Ids(7, 3).rng("turn", "s", 1).random()


def test_file_ids_and_render_keys_are_128_bits() -> None:
    ids = Ids(7)
    assert len(ids.file_id()) == len("f_") + 32
    assert len(ids.render_key()) == 32


async def _identifiers(client: httpx.AsyncClient, png: bytes) -> set[str]:
    """Everything a client is handed: a token and user id, a session and task id, and a file URL."""
    token = (await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same-client"})).json()["data"]
    auth = {"Authorization": f"Bearer {token['token']}"}
    session = (await client.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth)).json()
    sid = session["data"]["session_id"]
    upload = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", files={"files": ("logo.png", png)}, headers=auth
    )
    (file,) = upload.json()["data"]["files"]
    return {token["token"], token["user_id"], sid, session["data"]["task_id"], file["cdn_url"]}


async def test_a_reset_never_issues_an_identifier_issued_before_it(
    client: httpx.AsyncClient, emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    png = make_png(tmp_path / "logo.png").read_bytes()
    seen: list[set[str]] = []
    for _ in range(3):
        seen.append(await _identifiers(client, png))
        assert (await client.post("/__mock__/reset")).status_code == 200
    assert [len(ids) for ids in seen] == [5, 5, 5]
    assert not seen[0] & seen[1] and not seen[0] & seen[2] and not seen[1] & seen[2]
    assert emulator.epoch == 3


async def test_a_new_emulator_with_the_same_seed_issues_the_same_identifiers(tmp_path: pathlib.Path) -> None:
    png = make_png(tmp_path / "logo.png").read_bytes()
    runs = []
    for _ in range(2):
        app = create_app(seed=11, time_scale=0, clock_start=START)
        try:
            transport = StreamingASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://e", headers=SKILL_HEADERS) as http:
                runs.append(await _identifiers(http, png))
        finally:
            app.state.emulator.close()
    assert runs[0] == runs[1]
