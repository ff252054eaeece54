"""Fault injection: X-Mock-Fault per request, and rules by count, seeded probability, body match, latency."""

from __future__ import annotations

import anyio
import httpx
import pytest

from mock_server._emulator import Emulator
from nemo_contract._protocol import HTTP_STATUS, Code

from .conftest import new_session, new_token

pytestmark = pytest.mark.anyio

FAULT_CODES = [c for c in Code if c is not Code.SUCCESS]


@pytest.mark.parametrize("code", FAULT_CODES, ids=[str(int(c)) for c in FAULT_CODES])
async def test_x_mock_fault_answers_exactly_as_the_backend_would(client: httpx.AsyncClient, code: Code) -> None:
    token, user_id = await new_token(client)
    response = await client.get(
        "/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}", "X-Mock-Fault": str(int(code))}
    )
    assert response.status_code == HTTP_STATUS[code]
    body = response.json()
    assert body["code"] == code
    if code is Code.RATE_LIMITED:
        assert response.headers["Retry-After"] == "30"
    if code is Code.INSUFFICIENT_CREDITS:
        assert body["data"] == {"register_url": f"https://nemovideo.com/register?bind={user_id}"}
    else:
        assert body["data"] is None


@pytest.mark.parametrize("value", ["abc", "0", "500", "", "1001x"])
async def test_a_bad_x_mock_fault_is_400_naming_the_allowed_codes(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/api/credits/balance/simple", headers={"X-Mock-Fault": value})
    assert (response.status_code, response.json()["code"]) == (400, 400)
    assert "1001" in response.json()["message"]


async def test_x_mock_fault_on_run_sse_answers_before_any_stream(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    body = {"app_name": "nemo_agent", "session_id": sid, "new_message": {"parts": [{"text": "hi"}]}}
    response = await client.post(
        "/run_sse", json=body, headers={"Authorization": f"Bearer {token}", "X-Mock-Fault": "1002"}
    )
    assert (response.status_code, response.json()["code"]) == (404, 1002)


async def test_a_rule_for_the_next_k_matches(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    rule = {"method": "GET", "path": "/api/credits/*", "code": 429, "times": 2}
    await client.put("/__mock__/config", json={"faults": [rule]})
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [(await client.get("/api/credits/balance/simple", headers=headers)).status_code for _ in range(4)]
    assert statuses == [429, 429, 200, 200]
    other = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "zzz"})
    assert other.status_code == 200  # the path glob did not match


async def test_a_rule_with_a_seeded_probability_is_reproducible(app: object) -> None:
    from mock_server import create_app
    from nemo_contract._transport import StreamingASGITransport

    async def pattern(seed: int) -> list[int]:
        application = create_app(
            seed=seed, time_scale=0, config={"faults": [{"path": "/api/auth/*", "code": 1001, "probability": 0.5}]}
        )
        async with httpx.AsyncClient(transport=StreamingASGITransport(application), base_url="http://e") as http:
            found = []
            for i in range(40):
                response = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": f"c{i}"})
                found.append(response.status_code)
        application.state.emulator.close()
        return found

    first, second, other = await pattern(1), await pattern(1), await pattern(2)
    assert first == second
    assert first != other
    assert 8 <= first.count(401) <= 32


async def test_a_rule_matching_the_body(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    await client.put(
        "/__mock__/config", json={"faults": [{"path": "/api/tasks/*", "body_contains": "doomed", "code": 1001}]}
    )
    headers = {"Authorization": f"Bearer {token}"}
    ok = await client.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "fine"}, headers=headers)
    bad = await client.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "doomed"}, headers=headers)
    assert (ok.status_code, bad.status_code) == (200, 401)
    assert ok.json()["data"]["session_id"]  # the body was replayed to the handler intact


async def test_latency_waits_on_the_virtual_clock(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    await client.put("/__mock__/config", json={"faults": [{"path": "/api/credits/*", "latency": 30}]})
    answered: list[int] = []

    async def call() -> None:
        response = await client.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"})
        answered.append(response.status_code)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.sleep(0.05)
        assert answered == []  # frozen clock: still waiting
        emulator.clock.advance(30)
    assert answered == [200]


async def test_rate_limit_per_token_with_retry_after_on_the_clock(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _ = await new_token(client)
    await client.put("/__mock__/config", json={"rate_limit": {"requests": 2, "window": 60}})
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [(await client.get("/api/credits/balance/simple", headers=headers)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "60"
    emulator.clock.advance(60)
    assert (await client.get("/api/credits/balance/simple", headers=headers)).status_code == 200


async def test_anonymous_token_limit_per_ip(client: httpx.AsyncClient, emulator: Emulator) -> None:
    await client.put("/__mock__/config", json={"token_limit_per_ip": 2, "token_limit_window": 3600})
    codes = [(await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": f"c{i}"})) for i in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].headers["Retry-After"] == "3600"
    again = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c0"})
    assert again.status_code == 200  # the same client id still gets its token back
    emulator.clock.advance(3600)
    assert (await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c9"})).status_code == 200


async def test_fault_errors_follow_status_mode(client: httpx.AsyncClient) -> None:
    await client.put("/__mock__/config", json={"status_mode": "always200"})
    response = await client.get("/api/credits/balance/simple", headers={"X-Mock-Fault": "429"})
    assert (response.status_code, response.json()["code"], response.headers["Retry-After"]) == (200, 429, "30")
