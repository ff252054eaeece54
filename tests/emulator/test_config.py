"""The knobs not covered elsewhere: durations, costs, credits, lifetimes, Retry-After, the default plan."""

from __future__ import annotations

import httpx
import pytest

from mock_server._emulator import Emulator

from ..helpers import new_session, new_token, one_clip_draft
from ..streams import run_turn, turn_body

pytestmark = pytest.mark.anyio


async def test_turn_durations_and_credit_costs(client: httpx.AsyncClient, emulator: Emulator) -> None:
    await client.put(
        "/__mock__/config",
        json={
            "turn_durations": {"text": [2, 2], "generation": [40, 40]},
            "credit_costs": {"generation": 25, "chat": 1},
        },
    )
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    start = emulator.clock.now()
    await run_turn(client, emulator, token, turn_body(sid, "generate a video"))
    assert emulator.clock.now() - start == pytest.approx(40, abs=0.01)
    start = emulator.clock.now()
    await run_turn(client, emulator, token, turn_body(sid, "hello there"))
    assert emulator.clock.now() - start == pytest.approx(2, abs=0.01)
    balance = (await client.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"})).json()
    assert balance["data"] == {"available": 100 - 25 - 1, "frozen": 0, "total": 74}


async def test_render_duration(client: httpx.AsyncClient, emulator: Emulator) -> None:
    await client.put("/__mock__/config", json={"render_duration": [7, 7]})
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    auth = {"Authorization": f"Bearer {token}"}
    draft = one_clip_draft()
    await client.post("/api/render/proxy/lambda", json={"id": "r", "sessionId": sid, "draft": draft}, headers=auth)
    emulator.clock.advance(6.9)
    assert (await client.get("/api/render/proxy/lambda/r", headers=auth)).json()["status"] == "processing"
    emulator.clock.advance(0.1)
    assert (await client.get("/api/render/proxy/lambda/r", headers=auth)).json()["status"] == "completed"


async def test_initial_credits_token_lifetime_and_default_plan(client: httpx.AsyncClient, emulator: Emulator) -> None:
    await client.put("/__mock__/config", json={"initial_credits": 7, "token_lifetime": 60, "export_allowed": False})
    response = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "k"})
    data = response.json()["data"]
    assert data["credits"] == 7
    assert data["expires_at"] == "2026-03-13T00:01:00Z"
    sid = await new_session(client, data["token"])
    draft = one_clip_draft()
    blocked = await client.post(
        "/api/render/proxy/lambda",
        json={"id": "r", "sessionId": sid, "draft": draft},
        headers={"Authorization": f"Bearer {data['token']}"},
    )
    assert (blocked.status_code, blocked.json()["code"]) == (402, 402)
    emulator.clock.advance(60)
    expired = await client.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {data['token']}"})
    assert expired.json()["code"] == 1001


async def test_retry_after_knob(client: httpx.AsyncClient) -> None:
    await client.put("/__mock__/config", json={"retry_after": 5})
    response = await client.get("/api/credits/balance/simple", headers={"X-Mock-Fault": "429"})
    assert response.headers["Retry-After"] == "5"


async def test_advancing_the_clock_over_http_wakes_a_waiting_stream_at_once(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, "hello"), headers=headers) as response:
        await client.post("/__mock__/clock/advance", json={"seconds": 15})  # a chat turn lasts 5-15 s
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert body.startswith(b"data: {") and body.endswith(b"}\n\n")
