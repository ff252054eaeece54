"""Token, session, credits and state endpoints; auth and ownership rules."""

from __future__ import annotations

import httpx
import pytest

from mock_server._emulator import Emulator
from nemo_contract.protocol import MESSAGES, TOKEN_LIFETIME, Code, register_url
from nemo_contract.protocol.specs import API_SPEC, schema_validator

from ..helpers import new_session, new_token

pytestmark = pytest.mark.anyio


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_anonymous_token_has_the_documented_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "3f1c0a52"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert b": " not in response.content and b", " not in response.content  # compact JSON
    body = response.json()
    assert body["code"] == 0 and body["message"] == "success"
    data = body["data"]
    assert data["token"].startswith("nmv_usr_")
    assert data["user_id"].startswith("anon_")
    assert data["expires_at"] == "2026-03-20T00:00:00Z"  # clock start + 7 days
    assert data["credits"] == 100


@pytest.mark.parametrize("headers", [{}, {"X-Client-Id": ""}, {"X-Client-Id": "x" * 65}])
async def test_anonymous_token_needs_a_client_id_of_1_to_64_chars(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/api/auth/anonymous-token", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["data"] is None


async def test_same_client_id_within_seven_days_gets_the_same_token(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    first = await new_token(client, "same")
    emulator.clock.advance(TOKEN_LIFETIME - 1)
    assert await new_token(client, "same") == first
    assert (await new_token(client, "other"))[0] != first[0]


async def test_tokens_expire_after_seven_days_with_1001_and_the_client_id_then_gets_a_new_one(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, user_id = await new_token(client, "expiring")
    assert (await client.get("/api/credits/balance/simple", headers=bearer(token))).status_code == 200
    emulator.clock.advance(TOKEN_LIFETIME)
    response = await client.get("/api/credits/balance/simple", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["code"] == 1001
    renewed, same_user = await new_token(client, "expiring")
    assert renewed != token and same_user == user_id


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nmv_usr_unknown", "Basic abc", "nmv_usr_x"])
async def test_missing_or_bad_tokens_get_1001(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await client.get("/api/credits/balance/simple", headers=headers)
    assert response.status_code == 401
    message = "token missing or invalid" if header is None else MESSAGES[Code.TOKEN_INVALID]
    assert response.json() == {"code": 1001, "message": message, "data": None}


async def test_session_creation_and_state_of_a_new_session(client: httpx.AsyncClient) -> None:
    token, user_id = await new_token(client)
    response = await client.post(
        "/api/tasks/me/with-session/nemo_agent", json={"task_name": "project", "language": "en"}, headers=bearer(token)
    )
    data = response.json()["data"]
    assert data["task_id"].startswith("task_")
    assert len(data["session_id"]) == 19 and data["session_id"].isdigit()
    assert data["user_id"] == user_id
    state = await client.get(f"/api/state/nemo_agent/me/{data['session_id']}/latest", headers=bearer(token))
    assert state.json()["data"] == {
        "session_id": data["session_id"],
        "task_id": data["task_id"],
        "task_name": "project",
        "state": {"video_infos": [], "draft": {}, "canvas_config": {}, "video_analyses": {}, "generated_media": []},
    }


async def test_language_is_optional_as_in_the_auto_generator_quick_start(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    assert await new_session(client, token, language=None)


async def test_the_own_user_id_works_in_place_of_me_and_any_other_user_gets_1002(client: httpx.AsyncClient) -> None:
    token, user_id = await new_token(client, "a")
    _, other_user = await new_token(client, "b")
    sid = await new_session(client, token)
    own = await client.get(f"/api/state/nemo_agent/{user_id}/{sid}/latest", headers=bearer(token))
    assert own.status_code == 200
    foreign = await client.get(f"/api/state/nemo_agent/{other_user}/{sid}/latest", headers=bearer(token))
    assert (foreign.status_code, foreign.json()["code"]) == (404, 1002)
    created = await client.post(
        f"/api/tasks/{other_user}/with-session/nemo_agent", json={"task_name": "p"}, headers=bearer(token)
    )
    assert created.json()["code"] == 1002


async def test_another_users_session_is_not_found(client: httpx.AsyncClient) -> None:
    owner, _ = await new_token(client, "owner")
    intruder, _ = await new_token(client, "intruder")
    sid = await new_session(client, owner)
    response = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=bearer(intruder))
    assert (response.status_code, response.json()["code"]) == (404, 1002)
    unknown = await client.get("/api/state/nemo_agent/me/1234567890123456789/latest", headers=bearer(owner))
    assert unknown.json()["code"] == 1002


async def test_credits_of_a_new_user(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    response = await client.get("/api/credits/balance/simple", headers=bearer(token))
    assert response.json()["data"] == {"available": 100, "frozen": 0, "total": 100}


async def test_the_balance_follows_every_change_of_the_account(client: httpx.AsyncClient, emulator: Emulator) -> None:
    # The balance's bytes are cached by value: each change must still show, back and forth.
    token, user_id = await new_token(client)
    account = emulator.store.accounts[user_id]
    states = [(100, 0), (40, 0), (40, 25), (100, 0), (0, 7)]
    seen = []
    for account.available, account.frozen in states:
        seen.append((await client.get("/api/credits/balance/simple", headers=bearer(token))).json()["data"])
    assert seen == [{"available": a, "frozen": f, "total": a + f} for a, f in states]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "body"),
        (b"{}", "task_name"),
        (b'{"task_name": 5}', "task_name"),
        (b'{"task_name": "p", "language": 7}', "language"),
    ],
)
async def test_bad_session_bodies_get_400_naming_the_problem(
    client: httpx.AsyncClient, body: bytes, problem: str
) -> None:
    token, _ = await new_token(client)
    response = await client.post(
        "/api/tasks/me/with-session/nemo_agent",
        content=body,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert problem in response.json()["message"]


async def test_status_mode_always200_sends_every_error_with_http_200(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await client.put("/__mock__/config", json={"status_mode": "always200"})
    response = await client.get("/api/credits/balance/simple")
    assert (response.status_code, response.json()["code"]) == (200, 1001)
    missing = await client.post("/api/auth/anonymous-token")
    assert (missing.status_code, missing.json()["code"]) == (200, 400)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/no/such/path", 404, 404),
        ("DELETE", "/api/credits/balance/simple", 405, 405),
        ("GET", "/run_sse", 405, 405),
        ("PATCH", "/api/auth/anonymous-token", 405, 405),
    ],
)
async def test_unknown_paths_and_methods_get_envelopes(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.json()["code"] == code
    if status == 405:
        assert "Allow" in response.headers


async def test_register_url_of_anonymous_users_ends_with_bind_user_id() -> None:
    assert register_url("anon_1").endswith("?bind=anon_1")


async def test_a_claim_token_is_issued_for_the_callers_own_session(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    created = await client.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "project"}, headers=auth)
    task_id, session_id = created.json()["data"]["task_id"], created.json()["data"]["session_id"]
    body = {"task_id": task_id, "session_id": session_id}
    first = await client.post("/api/auth/claim-token", json=body, headers=auth)
    second = await client.post("/api/auth/claim-token", json=body, headers=auth)
    assert first.status_code == 200
    validator = schema_validator("#/components/schemas/ClaimTokenEnvelope", API_SPEC)
    assert not [e.message for e in validator.iter_errors(first.json())]
    assert first.json()["data"]["expires_in"] == 604800
    assert first.json()["data"]["claim_token"] != second.json()["data"]["claim_token"]


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("owner", {"task_id": "task_nope", "session_id": "SESSION"}, 404, 1002),  # not the session's task
        ("other", {"task_id": "TASK", "session_id": "SESSION"}, 404, 1002),  # another user's session
        ("owner", {"task_id": "TASK", "session_id": "1234567890123456789"}, 404, 1002),
        ("nobody", {"task_id": "TASK", "session_id": "SESSION"}, 401, 1001),
        ("owner", {"task_id": "TASK"}, 400, 400),
        ("owner", {"task_id": 7, "session_id": "SESSION"}, 400, 400),
    ],
)
async def test_a_claim_token_follows_the_session_rules(
    client: httpx.AsyncClient, who: str, body: dict[str, object], status: int, code: int
) -> None:
    token, _ = await new_token(client)
    other, _ = await new_token(client, "someone-else")
    auth = {"Authorization": f"Bearer {token}"}
    created = (await client.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth)).json()
    real = {"TASK": created["data"]["task_id"], "SESSION": created["data"]["session_id"]}
    sent = {key: real.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    headers = {"owner": auth, "other": {"Authorization": f"Bearer {other}"}, "nobody": {}}[who]
    response = await client.post("/api/auth/claim-token", json=sent, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code)
