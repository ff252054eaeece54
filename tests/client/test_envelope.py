"""Reading answers: the envelope code decides, the status only without one; Retry-After."""

from __future__ import annotations

import email.utils

import httpx
import pytest
import respx

from nemo_contract import (
    APIError,
    AuthenticationError,
    Client,
    Code,
    OutOfCredits,
    RateLimited,
    ServiceError,
    UnexpectedResponse,
)
from nemo_contract._envelope import read_body, retry_after
from nemo_contract.protocol import HTTP_STATUS

API = "https://api.example.test"


# -- envelopes --------------------------------------------------------------------------------------------------


def _response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize("status", [200, 402])
def test_the_envelope_code_decides_not_the_status(status: int) -> None:
    body = {"code": 2001, "message": "insufficient credits", "data": {"register_url": "https://x/register?bind=a"}}
    with pytest.raises(OutOfCredits) as raised:
        read_body(_response(status, body))
    assert raised.value.http_status == status
    assert raised.value.detail == "insufficient credits"
    assert raised.value.register_url == "https://x/register?bind=a"
    assert read_body(_response(200, {"code": 0, "data": {"a": 1}}))["data"] == {"a": 1}
    assert read_body(_response(200, {"success": True, "data": {"status": "pending"}}))["success"] is True


def test_without_an_envelope_the_status_is_read() -> None:
    with pytest.raises(AuthenticationError):
        read_body(httpx.Response(401, text="<html>gateway</html>"))
    with pytest.raises(ServiceError) as raised:
        read_body(httpx.Response(502, text="bad gateway"))
    assert raised.value.code == 502
    assert "bad gateway" not in str(raised.value)
    with pytest.raises(UnexpectedResponse):
        read_body(httpx.Response(200, text="ok"))


def test_without_an_envelope_a_status_means_the_protocols_code() -> None:
    """The client reads ``HTTP_STATUS`` backwards; where several codes share a status, the HTTP-level one."""
    for code, status in HTTP_STATUS.items():
        if code == Code.SUCCESS:
            continue
        sharing = [c for c, s in HTTP_STATUS.items() if s == status]
        expected = status if status in sharing else code
        with pytest.raises(APIError) as raised:
            read_body(httpx.Response(status, text="<html>proxy page</html>"))
        assert raised.value.code == expected, (code, status)
        assert raised.value.http_status == status


def test_the_status_table_is_the_protocol_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """No copy of it: a status the protocol module gives a code is read as that code."""
    monkeypatch.setitem(HTTP_STATUS, Code.RATE_LIMITED, 420)
    with pytest.raises(RateLimited):
        read_body(httpx.Response(420, text="Enhance your calm"))


def test_retry_after() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "12"})) == 12
    assert retry_after(httpx.Response(429)) == 30
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) == 30
    when = email.utils.formatdate(1000.0 + 45, usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": when}), now=1000.0) == 45
    with pytest.raises(RateLimited) as raised:
        read_body(_response(429, {"code": 429, "message": "rate limited", "data": None}, **{"Retry-After": "7"}))
    assert "7 seconds" in raised.value.advice


def test_a_429_without_retry_after_waits_30_seconds() -> None:
    slept: list[float] = []
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{API}/api/credits/balance/simple").mock(
            side_effect=[
                httpx.Response(429, json={"code": 429, "message": "slow down", "data": None}),
                httpx.Response(200, json={"code": 0, "data": {"available": 1, "frozen": 0, "total": 1}}),
            ]
        )
        with Client(base_url=API, token="t", sleep=slept.append) as client:
            assert client.credits().total == 1
    assert slept == [30.0]
