"""POST /run_sse: events, knobs, silent closes, faults, credits, concurrency, disconnects."""

from __future__ import annotations

import json
import pathlib

import anyio
import httpx
import pytest

from mock_server._emulator import Emulator
from nemo_contract._summary import format_timeline
from nemo_contract.protocol import TrackType

from ..helpers import new_session, new_token
from ..streams import run_turn, turn_body

pytestmark = pytest.mark.anyio

GENERATE = "generate a short promo video with music"


async def _setup(client: httpx.AsyncClient, language: str | None = "en") -> tuple[str, str, str]:
    token, user_id = await new_token(client)
    return token, user_id, await new_session(client, token, language)


async def _after_a_generation(
    client: httpx.AsyncClient, emulator: Emulator, silent_close_rate: float
) -> tuple[str, str]:
    """(token, session id) of a session that has a draft (a generation turn ran), the knob set for the edits."""
    token, _, sid = await _setup(client)
    await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    await client.put("/__mock__/config", json={"silent_close_rate": silent_close_rate})
    return token, sid


async def _state(client: httpx.AsyncClient, token: str, sid: str) -> dict[str, object]:
    response = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers={"Authorization": f"Bearer {token}"})
    state: dict[str, object] = response.json()["data"]["state"]
    return state


async def _credits(client: httpx.AsyncClient, token: str) -> dict[str, int]:
    response = await client.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"})
    data: dict[str, int] = response.json()["data"]
    return data


async def test_a_generation_turn_streams_adk_events_and_builds_a_draft(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _, sid = await _setup(client)
    turn = await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    assert turn.status == 200
    # Wire format: only "data:" lines and blank lines, LF only, no event:/id: fields.
    assert b"\r" not in turn.raw
    for line in turn.raw.decode().split("\n"):
        assert line == "" or line.startswith("data:"), line
    events = turn.json_events
    for event in events:
        assert set(event) >= {"content", "invocationId", "author", "actions", "id", "timestamp"}
        assert event["author"] == "nemo_agent"
        assert event["invocationId"].startswith("e-")
        assert set(event["actions"]) >= {"stateDelta", "artifactDelta", "requestedAuthConfigs"}
    assert len({e["invocationId"] for e in events}) == 1
    parts = [p for e in events for p in e["content"]["parts"]]
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    results = [p["functionResponse"] for p in parts if "functionResponse" in p]
    assert calls and [c["id"] for c in calls] == [r["id"] for r in results]
    assert "text" in events[0]["content"]["parts"][0] and "text" in events[-1]["content"]["parts"][0]
    assert GENERATE not in " ".join(turn.texts)  # the user's message is not echoed
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)
    # Heartbeats (bare "data:" lines) while the tools run, every 15 virtual seconds by default.
    assert sum(1 for e in turn.events if e.data == "") >= 100 // 15 - len(calls)
    draft = (await _state(client, token, sid))["draft"]
    assert isinstance(draft, dict)
    assert {t["tt"] for t in draft["t"]} == {TrackType.VIDEO, TrackType.AUDIO, TrackType.TEXT}
    last_delta = [e["actions"]["stateDelta"] for e in events if e["actions"]["stateDelta"]][-1]
    assert last_delta["draft"] == draft
    assert format_timeline(draft).startswith("Timeline (3 tracks): 1. Video:")


async def test_credits_are_frozen_during_a_turn_and_consumed_after(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _, sid = await _setup(client)
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, GENERATE), headers=headers) as response:
        assert response.status_code == 200
        assert await _credits(client, token) == {"available": 90, "frozen": 10, "total": 100}
        async with anyio.create_task_group() as tg:

            async def tick() -> None:
                while True:
                    emulator.clock.advance(10)
                    await anyio.sleep(0.0005)

            tg.start_soon(tick)
            async for _ in response.aiter_raw():
                pass
            tg.cancel_scope.cancel()
    assert await _credits(client, token) == {"available": 90, "frozen": 0, "total": 90}


async def test_an_edit_turn_changes_the_draft_and_can_close_silently(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, sid = await _after_a_generation(client, emulator, silent_close_rate=1.0)
    before = (await _state(client, token, sid))["draft"]
    turn = await run_turn(client, emulator, token, turn_body(sid, 'add a title "Urban Dreams"'))
    assert turn.status == 200
    assert turn.texts == []  # silent: tool calls, tool responses, heartbeats only
    assert any("functionResponse" in p for e in turn.json_events for p in e["content"]["parts"])
    after = (await _state(client, token, sid))["draft"]
    assert after != before
    assert isinstance(after, dict)
    assert '"Urban Dreams"' in format_timeline(after)
    assert (await _credits(client, token))["available"] == 100 - 10 - 5


async def test_an_edit_turn_with_silent_close_rate_zero_always_has_text(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, sid = await _after_a_generation(client, emulator, silent_close_rate=0.0)
    for text in ["remove the music", "trim to 5 seconds", "make it 9:16"]:
        turn = await run_turn(client, emulator, token, turn_body(sid, text))
        assert turn.texts, text
    draft = (await _state(client, token, sid))["draft"]
    assert isinstance(draft, dict)
    assert draft["d"] == 5000
    assert (draft["m"]["width"], draft["m"]["height"]) == (1080, 1920)
    assert all(t["tt"] != TrackType.AUDIO for t in draft["t"])


async def test_chinese_sessions_get_chinese_texts_with_gui_words(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _, sid = await _setup(client, language="zh-CN")
    turn = await run_turn(client, emulator, token, turn_body(sid, "生成一个带音乐的宣传视频"))
    text = "".join(turn.texts)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)
    assert "导出" in text or "点击" in text


async def test_typed_event_format(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _, sid = await _setup(client)
    await client.put("/__mock__/config", json={"event_format": "typed", "heartbeat": "json"})
    turn = await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    types = [e["type"] for e in turn.json_events]
    assert set(types) == {"text", "tool_call", "tool_result", "heartbeat"}
    assert types[0] == "text" and types[-1] == "text"


@pytest.mark.parametrize("mode", ["empty", "comment", "json"])
async def test_heartbeat_knob_and_interval(client: httpx.AsyncClient, emulator: Emulator, mode: str) -> None:
    token, _, sid = await _setup(client)
    await client.put("/__mock__/config", json={"heartbeat": mode, "heartbeat_interval": 5})
    turn = await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    raw = turn.raw.decode()
    if mode == "empty":
        beats = raw.count("data:\n\n")
    elif mode == "comment":
        beats = raw.count(": ping - ")
        assert "+00:00\n\n" in raw
    else:
        beats = raw.count('data: {"type":"heartbeat"}\n\n')
    assert beats >= 100 // 5 - 5  # a generation's tools run at least ~100 virtual seconds


async def test_camel_case_aliases_are_accepted_as_adk_does(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _, sid = await _setup(client)
    body = {"appName": "nemo_agent", "userId": "me", "sessionId": sid, "newMessage": {"parts": [{"text": "hello"}]}}
    turn = await run_turn(client, emulator, token, body)
    assert turn.status == 200 and turn.texts


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("app_name"),
        lambda b: b.update(app_name="other_app"),
        lambda b: b.pop("session_id"),
        lambda b: b.update(new_message={"parts": []}),
        lambda b: b.update(new_message={"parts": [{"text": 5}]}),
        lambda b: b.update(session_id=12),
    ],
)
async def test_bad_run_sse_bodies_get_400_before_any_stream(
    client: httpx.AsyncClient, emulator: Emulator, mutate: object
) -> None:
    token, _, sid = await _setup(client)
    body = turn_body(sid, "hi")
    mutate(body)  # type: ignore[operator]
    response = await client.post("/run_sse", json=body, headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_unknown_or_foreign_sessions_get_1002(client: httpx.AsyncClient) -> None:
    token, _, sid = await _setup(client)
    other, _ = await new_token(client, "other")
    for who, body in [
        (token, turn_body("1234567890123456789", "hi")),
        (other, turn_body(sid, "hi")),
        (token, turn_body(sid, "hi") | {"user_id": "anon_someone_else"}),
    ]:
        response = await client.post("/run_sse", json=body, headers={"Authorization": f"Bearer {who}"})
        assert (response.status_code, response.json()["code"]) == (404, 1002)


async def test_a_second_turn_on_a_busy_session_gets_409(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.configure(on_disconnect="cancel")
    token, _, sid = await _setup(client)
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, GENERATE), headers=headers) as first:
        assert first.status_code == 200
        second = await client.post("/run_sse", json=turn_body(sid, "hello"), headers=headers)
        assert (second.status_code, second.json()["code"]) == (409, 409)
    # The first stream was abandoned: the session is free again and its credits came back.
    await anyio.sleep(0.05)
    assert await _credits(client, token) == {"available": 100, "frozen": 0, "total": 100}
    assert (await run_turn(client, emulator, token, turn_body(sid, "hello"))).status == 200


async def test_a_client_that_disconnects_cancels_its_turn_and_gets_its_credits_back(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.configure(on_disconnect="cancel")
    token, _, sid = await _setup(client)
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, GENERATE), headers=headers) as response:
        emulator.clock.advance(20)  # the opening text is out, the first tool is running
        async for chunk in response.aiter_raw():
            assert chunk.startswith(b"data: ")
            break
    await anyio.sleep(0.05)
    assert await _credits(client, token) == {"available": 100, "frozen": 0, "total": 100}
    assert (await _state(client, token, sid))["draft"] == {}
    assert not emulator.store.sessions[sid].busy


async def test_2001_when_a_turn_costs_more_than_available(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, user_id, sid = await _setup(client)
    await client.put(f"/__mock__/accounts/{user_id}", json={"available": 9})
    response = await client.post(
        "/run_sse", json=turn_body(sid, GENERATE), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 402
    body = response.json()
    assert body["code"] == 2001
    assert body["data"]["register_url"].endswith(f"?bind={user_id}")
    chat = await run_turn(client, emulator, token, turn_body(sid, "hello"))  # chat is free
    assert chat.status == 200
    await client.put(f"/__mock__/accounts/{user_id}", json={"registered": True})
    registered = await client.post(
        "/run_sse", json=turn_body(sid, GENERATE), headers={"Authorization": f"Bearer {token}"}
    )
    assert registered.json() == {"code": 2001, "message": registered.json()["message"], "data": None}


async def test_a_mid_stream_failure_ends_with_an_error_event_and_refunds(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _, sid = await _setup(client)
    await client.put("/__mock__/config", json={"faults": [{"path": "/run_sse", "error_after": 2, "times": 1}]})
    turn = await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    assert turn.status == 200
    last = turn.events[-1]
    assert json.loads(last.data) == {"error": json.loads(last.data)["error"]}
    assert turn.raw.endswith(b'"}\n\n') and b'data: {"error": "' in turn.raw
    assert len([e for e in turn.json_events if "content" in e]) == 2
    assert await _credits(client, token) == {"available": 100, "frozen": 0, "total": 100}
    again = await run_turn(client, emulator, token, turn_body(sid, GENERATE))  # times: 1 -> only once
    assert "error" not in again.json_events[-1]


async def test_a_stream_cut_after_n_events_just_closes(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _, sid = await _setup(client)
    await client.put("/__mock__/config", json={"faults": [{"path": "/run_sse", "cut_after": 1}]})
    turn = await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    assert [e for e in turn.json_events if "content" in e] == turn.json_events
    assert len(turn.json_events) == 1
    assert (await _credits(client, token))["frozen"] == 0


async def test_generated_media_urls_serve_real_files(client: httpx.AsyncClient, emulator: Emulator) -> None:
    import io

    import av

    token, _, sid = await _setup(client)
    await run_turn(client, emulator, token, turn_body(sid, "generate a 4-second video with jazz music"))
    media = (await _state(client, token, sid))["generated_media"]
    assert isinstance(media, list)
    assert {m["media_type"] for m in media} == {"video", "audio"}
    for item in media:
        response = await client.get(item["url"])
        assert response.status_code == 200, item
        with av.open(io.BytesIO(response.content), mode="r") as container:
            assert abs(float(container.duration or 0) / av.time_base - item["duration"]) <= 0.1
    assert (await client.get("/cdn/generated/nothing.mp4")).status_code == 404


async def test_a_generation_from_long_uploads_stops_at_thirty_minutes(
    client: httpx.AsyncClient, emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    from mock_server._media import render_mp4

    token, _, sid = await _setup(client)
    clip = tmp_path / "long.mp4"
    render_mp4(clip, width=64, height=64, duration_ms=20 * 60 * 1000, fps=1)
    files = [("files", (f"long{i}.mp4", clip.read_bytes(), "video/mp4")) for i in range(2)]
    upload = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers={"Authorization": f"Bearer {token}"}
    )
    assert upload.status_code == 200
    await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    draft = (await _state(client, token, sid))["draft"]
    assert isinstance(draft, dict)
    assert draft["d"] == 30 * 60 * 1000
    video = next(t for t in draft["t"] if t["tt"] == TrackType.VIDEO)
    assert [s["d"] for s in video["sg"]] == [20 * 60 * 1000, 10 * 60 * 1000]
