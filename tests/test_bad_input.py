"""Bad input of any kind gets an envelope error, never a 500, a traceback or a hang."""

from __future__ import annotations

import typing

import httpx
import pytest

from .conftest import new_session, new_token

pytestmark = pytest.mark.anyio


async def _auth(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    token, _ = await new_token(client)
    return {"Authorization": f"Bearer {token}"}, await new_session(client, token)


@pytest.mark.parametrize(
    "body",
    [
        b'{"task_name": "\\ud800"}',  # a lone surrogate: valid JSON escapes, not a string anyone can send back
        b'{"task_name": "p", "language": 1e999}',
        b'{"task_name": NaN}',
        b"[" * 200 + b"]" * 200,
        b"\xff\xfe{}",
        b"",
    ],
)
async def test_json_that_the_emulator_could_not_keep_is_refused(client: httpx.AsyncClient, body: bytes) -> None:
    auth, _ = await _auth(client)
    response = await client.post(
        "/api/tasks/me/with-session/nemo_agent", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_config_numbers_out_of_range_are_refused_and_the_config_stays_valid_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put(
        "/__mock__/config", content=b'{"token_lifetime": 1e999}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (await client.get("/__mock__/config")).json()["data"]["token_lifetime"] == 604800


async def test_a_json_body_over_the_limit_is_refused_without_being_kept(client: httpx.AsyncClient) -> None:
    from mock_server._envelope import MAX_JSON_BYTES

    auth, sid = await _auth(client)
    declared = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        content=b"{}",
        headers={**auth, "Content-Type": "application/json", "Content-Length": str(MAX_JSON_BYTES + 1)},
    )
    assert (declared.status_code, declared.json()["code"]) == (400, 400)

    async def chunks() -> typing.AsyncIterator[bytes]:
        for _ in range(MAX_JSON_BYTES // 65536 + 2):
            yield b" " * 65536

    streamed = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    assert (streamed.status_code, streamed.json()["code"]) == (400, 400)
    assert "too large" in streamed.json()["message"]


async def test_a_url_that_cannot_be_parsed_is_400(client: httpx.AsyncClient) -> None:
    auth, sid = await _auth(client)
    response = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": ["https://[::1/a.mp4"], "source_type": "url"},
        headers=auth,
    )
    assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_a_deeply_nested_draft_is_400(client: httpx.AsyncClient) -> None:
    auth, sid = await _auth(client)
    junk: object = []
    for _ in range(100):
        junk = [junk]
    response = await client.post(
        "/api/render/proxy/lambda", json={"id": "r1", "sessionId": sid, "draft": {"junk": junk}}, headers=auth
    )
    assert (response.status_code, response.json()["code"]) == (400, 400)


@pytest.mark.parametrize("render_id", ["a/b", "a b", "é", "x" * 129])
async def test_render_ids_that_cannot_go_into_a_url_are_400(client: httpx.AsyncClient, render_id: str) -> None:
    auth, sid = await _auth(client)
    response = await client.post(
        "/api/render/proxy/lambda", json={"id": render_id, "sessionId": sid, "draft": {}}, headers=auth
    )
    assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_overlong_messages_are_400(client: httpx.AsyncClient) -> None:
    auth, sid = await _auth(client)
    for parts in ([{"text": "a" * 4001}], [{"text": "hi"}] * 9):
        body = {"app_name": "nemo_agent", "session_id": sid, "new_message": {"parts": parts}}
        response = await client.post("/run_sse", json=body, headers=auth)
        assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_a_tiny_heartbeat_interval_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.put("/__mock__/config", json={"heartbeat_interval": 1e-9})
    assert (response.status_code, response.json()["code"]) == (400, 400)


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "bytes=0-1, 3-4"])
async def test_multi_range_requests_get_the_whole_file(client: httpx.AsyncClient, header: str) -> None:
    auth, sid = await _auth(client)
    draft = {
        "t": [{"tt": 0, "sg": [{"id": "a", "n": "clip", "st": 0, "d": 1000}]}],
        "d": 1000,
        "m": {"title": "t", "width": 320, "height": 180, "fps": 25},
    }
    await client.post("/api/render/proxy/lambda", json={"id": "r", "sessionId": sid, "draft": draft}, headers=auth)
    await client.post("/__mock__/clock/advance", json={"seconds": 100})
    url = (await client.get("/api/render/proxy/lambda/r", headers=auth)).json()["output"]["url"]
    response = await client.get(url, headers={"Range": header})
    assert response.status_code == 200
