"""One seed: two fresh emulators with the same seed, clock and requests answer byte for byte the same."""

from __future__ import annotations

import pathlib

import httpx
import pytest

from mock_server import create_app
from nemo_contract.testing import StreamingASGITransport

from ..clips import make_mp4
from ..helpers import SKILL_HEADERS, START
from ..streams import run_turn, turn_body

pytestmark = pytest.mark.anyio


async def _script(seed: int, clip: pathlib.Path) -> list[bytes]:
    app = create_app(seed=seed, time_scale=0, clock_start=START)
    emulator = app.state.emulator
    transcript: list[bytes] = []
    try:
        async with httpx.AsyncClient(
            transport=StreamingASGITransport(app), base_url="http://e", headers=SKILL_HEADERS
        ) as http:
            token_response = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same-client"})
            transcript.append(token_response.content)
            token = token_response.json()["data"]["token"]
            auth = {"Authorization": f"Bearer {token}"}
            session = await http.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth)
            transcript.append(session.content)
            sid = session.json()["data"]["session_id"]
            with clip.open("rb") as stream:
                upload = await http.post(
                    f"/api/upload-video/nemo_agent/me/{sid}",
                    files={"files": ("clip.mp4", stream, "video/mp4")},
                    headers=auth,
                )
            transcript.append(upload.content)
            for text in ["generate a video with music", "add transitions", "trim to 2 seconds", "hello"]:
                transcript.append((await run_turn(http, emulator, token, turn_body(sid, text))).raw)
            state = await http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)
            transcript.append(state.content)
            draft = state.json()["data"]["state"]["draft"]
            render = await http.post(
                "/api/render/proxy/lambda", json={"id": "render_1", "sessionId": sid, "draft": draft}, headers=auth
            )
            transcript.append(render.content)
            emulator.clock.advance(45)
            transcript.append((await http.get("/api/render/proxy/lambda/render_1", headers=auth)).content)
            transcript.append((await http.get("/api/credits/balance/simple", headers=auth)).content)
    finally:
        emulator.close()
    return transcript


async def test_same_seed_same_everything_and_another_seed_differs(tmp_path: pathlib.Path) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", width=320, height=180, duration=1.0, fps=10)
    first, second = await _script(11, clip), await _script(11, clip)
    assert first == second
    other = await _script(12, clip)
    assert other[0] != first[0]  # a different token
    assert other != first
