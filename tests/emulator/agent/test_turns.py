"""The agent's new edits end to end: POST /run_sse on the in-process emulator, then GET the state."""

from __future__ import annotations

import pathlib
import typing

import httpx
import pytest

from mock_server._emulator import Emulator
from tests.clips import make_mp4
from tests.streams import run_turn, turn_body

from ...helpers import new_session, new_token
from .conftest import SchemaErrors

pytestmark = pytest.mark.anyio

WORDS = {
    "en": (
        "generate a 10-second video of ocean waves",
        "add subtitles",
        "make it black and white",
        "add a 3D hologram",
    ),
    "zh": ("生成一个10秒的海浪视频", "加字幕", "变成黑白", "加一个3D全息投影"),
}


async def _get(client: httpx.AsyncClient, token: str, path: str) -> dict[str, typing.Any]:
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, typing.Any] = response.json()
    return body


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("event_format", ["adk", "typed"])
async def test_subtitles_and_black_and_white_through_the_emulator(
    client: httpx.AsyncClient, emulator: Emulator, language: str, event_format: str, schema_errors: SchemaErrors
) -> None:
    await client.put("/__mock__/config", json={"event_format": event_format})
    token, _ = await new_token(client)
    sid = await new_session(client, token, language)
    state_path, balance_path = f"/api/state/nemo_agent/me/{sid}/latest", "/api/credits/balance/simple"
    generate, subtitles, grey, hologram = WORDS[language]
    assert (await run_turn(client, emulator, token, turn_body(sid, generate))).status == 200

    turn = await run_turn(client, emulator, token, turn_body(sid, subtitles))
    assert turn.status == 200 and turn.tool_calls == ["edit_multitrack"]
    body = await _get(client, token, state_path)
    assert schema_errors("StateEnvelope", body) == []
    tracks = body["data"]["state"]["draft"]["t"]
    assert [t["tt"] for t in tracks] == [0, 1, 7, 7]
    assert [(s["st"], s["d"], s["n"]) for s in tracks[3]["sg"]] == [(i * 2500, 2500, "subtitle") for i in range(4)]

    turn = await run_turn(client, emulator, token, turn_body(sid, grey))
    assert turn.status == 200 and turn.tool_calls == ["edit_multitrack"]
    body = await _get(client, token, state_path)
    assert schema_errors("StateEnvelope", body) == []
    after = body["data"]["state"]["draft"]
    assert [s["fx"] for s in after["t"][0]["sg"]] == ["grayscale"]
    assert after["t"][1:] == tracks[1:]  # only the picture changed
    assert (await _get(client, token, balance_path))["data"]["available"] == 100 - 10 - 5 - 5

    # What it cannot do is a chat: text only, nothing changes, and it costs nothing.
    turn = await run_turn(client, emulator, token, turn_body(sid, hologram))
    assert turn.status == 200 and turn.tool_calls == [] and len(turn.texts) == 1
    assert ("时间线面板" if language == "zh" else "Timeline panel") in turn.texts[0]
    assert (await _get(client, token, state_path))["data"]["state"]["draft"] == after
    assert (await _get(client, token, balance_path))["data"]["available"] == 80


async def test_the_state_shows_the_analyses_after_a_generation_from_uploads(
    client: httpx.AsyncClient, emulator: Emulator, tmp_path: pathlib.Path, schema_errors: SchemaErrors
) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    clip = make_mp4(tmp_path / "beach.mp4", width=64, height=48, duration=1.0, fps=10)
    with clip.open("rb") as stream:
        upload = await client.post(
            f"/api/upload-video/nemo_agent/me/{sid}",
            files={"files": ("beach.mp4", stream, "video/mp4")},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert upload.status_code == 200
    state_path = f"/api/state/nemo_agent/me/{sid}/latest"
    assert (await _get(client, token, state_path))["data"]["state"]["video_analyses"] == {}
    turn = await run_turn(client, emulator, token, turn_body(sid, "generate a video"))
    assert turn.tool_calls[0] == "understand_video"
    body = await _get(client, token, state_path)
    assert schema_errors("StateEnvelope", body) == []
    assert body["data"]["state"]["video_analyses"] == {
        "beach.mp4": {"file_type": "video", "duration": 1.0, "scenes": 1}
    }
