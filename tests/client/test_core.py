"""The exchange with recovery: the token request, network failures, the sync driver."""

from __future__ import annotations

import httpx
import pytest
import respx

import nemo_contract
from nemo_contract import (
    Client,
    MessageKind,
    NetworkError,
)

API = "https://api.example.test"


def test_a_token_request_without_a_client_id_is_retried_with_a_new_one() -> None:
    """400 on the anonymous-token request ("missing X-Client-Id"): a new client id, and one more try."""
    missing = httpx.Response(400, json={"code": 400, "message": "missing X-Client-Id", "data": None})
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{API}/api/auth/anonymous-token").mock(
            side_effect=[missing, httpx.Response(200, json={"code": 0, "data": {"token": "t", "user_id": "anon_1"}})]
        )
        session = {"code": 0, "data": {"session_id": "9"}}
        router.post(f"{API}/api/tasks/me/with-session/nemo_agent").respond(json=session)
        router.get(f"{API}/api/credits/balance/simple").respond(
            json={"code": 0, "data": {"available": 100, "frozen": 0, "total": 100}}
        )
        with Client(base_url=API, sleep=lambda s: None) as client:
            assert client.credits().available == 100
            first, second = (call.request.headers["X-Client-Id"] for call in token.calls)
            assert token.call_count == 2
            assert first != second
            assert client.credentials.client_id == second


def test_a_second_400_on_the_token_request_is_not_retried_again() -> None:
    missing = httpx.Response(400, json={"code": 400, "message": "missing X-Client-Id", "data": None})
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{API}/api/auth/anonymous-token").mock(side_effect=[missing, missing, missing])
        with Client(base_url=API, sleep=lambda s: None) as client, pytest.raises(nemo_contract.BadRequest):
            client.credits()
    assert token.call_count == 2


def test_network_failures_are_one_clear_error() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{API}/api/credits/balance/simple").mock(side_effect=httpx.ConnectError("refused"))
        with Client(base_url=API, token="t") as client, pytest.raises(NetworkError) as raised:
            client.credits()
    assert str(raised.value) == "Cannot connect to the service"
    assert "NEMO_API_URL" in raised.value.advice


def test_the_sync_client_routes_and_streams() -> None:
    stream = b'data: {"type":"text","content":"Hi! Open the Timeline panel to see it."}\n\ndata:\n\n'
    ok = {"code": 0, "message": "success"}
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{API}/api/tasks/me/with-session/nemo_agent").respond(json={**ok, "data": {"session_id": "9"}})
        router.get(f"{API}/api/state/nemo_agent/me/9/latest").respond(json={**ok, "data": {"state": {"draft": {}}}})
        router.post(f"{API}/run_sse").respond(content=stream, headers={"content-type": "text/event-stream"})
        with Client(base_url=API, token="t", sleep=lambda s: None) as client:
            messages = list(client.iter_handle("hi"))
    assert [(m.kind, m.text) for m in messages] == [
        (MessageKind.NOTICE, "Setting up..."),
        (MessageKind.REPLY, "Hi!"),
        (MessageKind.TIMELINE, "Timeline (0 tracks): empty"),
    ]
