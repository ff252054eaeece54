"""Fault injection: X-Mock-Fault per request, and rules by count, seeded probability, body match, latency."""

from __future__ import annotations

import itertools

import anyio
import httpx
import pytest

from mock_server._emulator import Emulator
from nemo_contract.protocol import HTTP_STATUS, Code

from ..helpers import new_session, new_token

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
    from nemo_contract.testing import StreamingASGITransport

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


async def test_the_first_matching_rule_applies_and_used_up_rules_leave_the_config(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    rules = [
        {"path": "/api/credits/*", "code": 1002, "times": 1},
        {"path": "/api/credits/*", "code": 429, "times": 1},
    ]
    await client.put("/__mock__/config", json={"faults": rules})
    headers = {"Authorization": f"Bearer {token}"}
    codes = [(await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] for _ in range(3)]
    assert codes == [1002, 429, 0]
    assert (await client.get("/__mock__/config")).json()["data"]["faults"] == []


async def test_a_config_put_without_faults_keeps_what_rules_have_used_up(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    await client.put("/__mock__/config", json={"faults": [{"path": "/api/credits/*", "code": 1002, "times": 2}]})
    assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 1002
    await client.put("/__mock__/config", json={"heartbeat": "json"})
    assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 1002
    assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 0


async def test_latency_on_a_stream_delays_every_event(client: httpx.AsyncClient, emulator: Emulator) -> None:
    from ..streams import run_turn, turn_body

    token, _ = await new_token(client)
    sid = await new_session(client, token)
    plain = await run_turn(client, emulator, token, turn_body(sid, "hello"))
    await client.put("/__mock__/config", json={"faults": [{"path": "/run_sse", "latency": 7}]})
    start = emulator.clock.now()
    slow = await run_turn(client, emulator, token, turn_body(sid, "generate a video"))
    stamps = [e["timestamp"] for e in slow.json_events]
    assert plain.status == slow.status == 200
    # The first event is 7 s late, and each later one 7 s later than its schedule again.
    assert stamps[0] - start >= 7
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 7 - 1e-6


async def test_anonymous_token_limit_per_client_id(client: httpx.AsyncClient, emulator: Emulator) -> None:
    await client.put("/__mock__/config", json={"token_limit_per_client": 2, "token_limit_window": 600})
    answers = [await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same"}) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "600"
    assert (await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "other"})).status_code == 200
    emulator.clock.advance(600)
    assert (await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same"})).status_code == 200


async def test_the_client_id_limit_counts_characters_not_bytes(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/anonymous-token", headers=[(b"X-Client-Id", ("é" * 64).encode())])
    assert response.status_code == 200
    too_long = await client.post("/api/auth/anonymous-token", headers=[(b"X-Client-Id", ("é" * 65).encode())])
    assert too_long.status_code == 400
