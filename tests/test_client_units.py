"""The pure pieces: the public surface, the exception tree, envelopes, SSE framing and event formats."""

from __future__ import annotations

import email.utils
import importlib
import pkgutil

import httpx
import pytest
import respx

import nemo_contract
from nemo_contract import (
    APIError,
    AuthenticationError,
    Client,
    Code,
    ExportBlocked,
    FileTooLarge,
    MessageKind,
    NemoError,
    NetworkError,
    OutOfCredits,
    RateLimited,
    ServiceError,
    SessionNotFound,
    UnexpectedResponse,
    UnsupportedFileType,
)
from nemo_contract._envelope import read_body, retry_after
from nemo_contract._events import StreamReader
from nemo_contract._session import service_key
from nemo_contract._text import mask_quotes
from nemo_contract.protocol import HTTP_STATUS
from nemo_contract.protocol.events import EventKind

API = "https://api.example.test"


# -- the public surface -----------------------------------------------------------------------------------------


def test_exported_members_are_sorted_and_public() -> None:
    names = nemo_contract.__all__
    assert names == sorted(names, key=str.lower)
    for name in names:
        assert hasattr(nemo_contract, name), name
        member = getattr(nemo_contract, name)
        if hasattr(member, "__module__") and callable(member):
            assert member.__module__.startswith("nemo_contract"), name


def test_every_private_module_declares_all() -> None:
    for module in pkgutil.iter_modules(nemo_contract.__path__):
        loaded = importlib.import_module(f"nemo_contract.{module.name}")
        assert module.name.startswith("_") or module.name in ("protocol", "recording", "testing"), module.name
        assert isinstance(getattr(loaded, "__all__", None), list), module.name


def test_the_exception_tree_subclasses_the_builtins_it_means() -> None:
    assert issubclass(APIError, NemoError)
    assert issubclass(AuthenticationError, PermissionError)
    assert issubclass(ExportBlocked, PermissionError)
    assert issubclass(SessionNotFound, LookupError)
    assert issubclass(UnsupportedFileType, ValueError)
    assert issubclass(FileTooLarge, ValueError)
    assert issubclass(NetworkError, ConnectionError)
    assert issubclass(nemo_contract.TurnTimeout, TimeoutError)
    assert issubclass(nemo_contract.RenderFailed, RuntimeError)
    doc = nemo_contract._exceptions.__doc__ or ""
    for name in nemo_contract._exceptions.__all__:
        assert name in doc, f"{name} is missing from the tree in the docstring"


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


def test_quoted_text_is_masked_in_place() -> None:
    text = "add \"Export Ready\", “导出”, 'Open Road' and 「拖拽」 but not you're or users' files"
    masked = mask_quotes(text)
    assert len(masked) == len(text)
    for word in ("Export", "导出", "Open", "拖拽"):
        assert word not in masked
    assert "you're" in masked and "users' files" in masked


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


# -- SSE framing and the two event formats ----------------------------------------------------------------------


def test_stream_reader_handles_any_chunking_and_every_heartbeat_form() -> None:
    wire = 'data: {"a":1}\r\n\r\n: ping - 2026\n\ndata:\n\ndata: {"type":"heartbeat"}\n\ndata: {"b":2}'
    for size in (1, 2, 3, 7, len(wire)):
        reader = StreamReader()
        items = []
        for start in range(0, len(wire), size):
            items += reader.feed(wire[start : start + size])
        items += reader.close()
        kinds = [item.kind for item in items]
        assert kinds == [
            EventKind.OTHER,
            EventKind.HEARTBEAT,
            EventKind.HEARTBEAT,
            EventKind.HEARTBEAT,
            EventKind.OTHER,
        ], size


def test_adk_events() -> None:
    def event(data: str) -> list[tuple[EventKind, str]]:
        reader = StreamReader()
        return [(e.kind, e.text) for e in reader.feed(f"data: {data}\n\n")]

    assert event('{"content":{"parts":[{"text":"Hello"}],"role":"model"}}') == [(EventKind.TEXT, "Hello")]
    # a model's thought, and streaming chunks (the whole text follows), are not text for the user
    assert event('{"content":{"parts":[{"text":"thinking","thought":true}]}}') == [(EventKind.OTHER, "")]
    assert event('{"content":{"parts":[{"text":"Hel"}]},"partial":true}') == [(EventKind.OTHER, "")]
    assert event('{"content":{"parts":[{"functionCall":{"name":"edit_multitrack","args":{}}}]}}') == [
        (EventKind.TOOL_CALL, "edit_multitrack")
    ]
    assert event('{"content":{"parts":[{"functionResponse":{"name":"x","response":{}}}]},"actions":{}}') == [
        (EventKind.TOOL_RESULT, "x")
    ]
    assert event('{"error": "agent run failed"}') == [(EventKind.ERROR, "agent run failed")]
    assert event('{"errorCode":"UNKNOWN_ERROR","errorMessage":"model failed"}')[0] == (EventKind.ERROR, "model failed")
    assert event("not json") == [(EventKind.OTHER, "")]


def test_typed_events() -> None:
    def event(data: str) -> list[tuple[EventKind, str]]:
        reader = StreamReader()
        return [(e.kind, e.text) for e in reader.feed(f"data: {data}\n\n")]

    assert event('{"type":"text","content":"Hi"}') == [(EventKind.TEXT, "Hi")]
    assert event('{"type":"tool_call","name":"g","args":{}}') == [(EventKind.TOOL_CALL, "g")]
    assert event('{"type":"tool_result","name":"g","result":{}}') == [(EventKind.TOOL_RESULT, "g")]
    assert event('{"type":"heartbeat"}') == [(EventKind.HEARTBEAT, "")]


def test_codes_map_to_their_exceptions() -> None:
    for code, kind in ((Code.TOKEN_INVALID, AuthenticationError), (Code.EXPORT_BLOCKED, ExportBlocked)):
        with pytest.raises(kind):
            read_body(_response(200, {"code": int(code), "message": "x", "data": None}))


# -- the state file's service keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://localhost:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("HTTP://LocalHost:8000/", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://127.0.0.1:8000"),
        ("https://API.Example.com:443/", "https://api.example.com"),
        ("http://user:secret@h.test:80/Base/", "http://h.test/Base"),
        ("http://[2001:DB8::1]:8080", "http://[2001:db8::1]:8080"),
        ("https://h.test:8443", "https://h.test:8443"),
    ],
)
def test_one_service_has_one_key(url: str, key: str) -> None:
    assert service_key(url) == key


def test_an_upload_url_is_known_by_its_scheme_in_any_case() -> None:
    from nemo_contract._operations import _is_url

    assert _is_url("HTTPS://cdn.example.test/a.mp4") and _is_url("http://cdn.example.test/a.mp4")
    assert not _is_url("ftp://example.test/a.mp4") and not _is_url("httpfile.mp4")
