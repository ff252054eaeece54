"""Bad input of any kind gets an envelope error, never a 500, a traceback or a hang."""

from __future__ import annotations

import threading
import typing

import httpx
import pytest

from mock_server._emulator import Emulator

from ..helpers import new_session, new_token, one_clip_draft

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
    draft = one_clip_draft()
    await client.post("/api/render/proxy/lambda", json={"id": "r", "sessionId": sid, "draft": draft}, headers=auth)
    await client.post("/__mock__/clock/advance", json={"seconds": 100})
    url = (await client.get("/api/render/proxy/lambda/r", headers=auth)).json()["output"]["url"]
    response = await client.get(url, headers={"Range": header})
    assert response.status_code == 200


# -------------------------------------------------------------------------- large bodies and upload counts


async def test_large_bodies_are_parsed_and_checked_in_a_worker_thread() -> None:
    from starlette.requests import Request

    from mock_server._envelope import PARSE_IN_THREAD_BYTES, read_json

    seen: list[int] = []
    for size in (PARSE_IN_THREAD_BYTES - 1, PARSE_IN_THREAD_BYTES):
        raw = b'{"pad":"' + b"a" * (size - 10) + b'"}'
        assert len(raw) == size

        async def receive(raw: bytes = raw) -> dict[str, typing.Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        request = Request({"type": "http", "method": "POST", "headers": []}, receive)
        body = await read_json(request, lambda value: seen.append(threading.get_ident()))
        assert len(body["pad"]) == size - 10
    assert seen == [threading.get_ident(), seen[1]] and seen[1] != threading.get_ident()


async def test_a_large_draft_with_one_bad_segment_is_400(client: httpx.AsyncClient) -> None:
    # Checked in a worker thread (the body is far over PARSE_IN_THREAD_BYTES); the error still gets its envelope.
    auth, sid = await _auth(client)
    segments = [{"id": f"s{i}", "n": "clip", "st": i * 10, "d": 10} for i in range(2000)]
    segments[1999]["st"] = -1
    draft = {"t": [{"tt": 0, "sg": segments}], "d": 20000, "m": {"title": "t", "width": 320, "height": 180, "fps": 25}}
    response = await client.post(
        "/api/render/proxy/lambda", json={"id": "big", "sessionId": sid, "draft": draft}, headers=auth
    )
    assert (response.status_code, response.json()["code"]) == (400, 400)
    assert "[1999]" in response.json()["message"]


def _urls(count: int, start: int = 0) -> dict[str, typing.Any]:
    return {"urls": [f"https://example.com/c{i}.mp4" for i in range(start, start + count)], "source_type": "url"}


async def _held(client: httpx.AsyncClient, auth: dict[str, str], sid: str) -> int:
    state = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)
    return len(state.json()["data"]["state"]["video_infos"])


async def test_one_upload_adds_at_most_100_urls(client: httpx.AsyncClient) -> None:
    from mock_server._api import MAX_URLS_PER_UPLOAD

    auth, sid = await _auth(client)
    path = f"/api/upload-video/nemo_agent/me/{sid}"
    refused = await client.post(path, json=_urls(MAX_URLS_PER_UPLOAD + 1), headers=auth)
    assert (refused.status_code, refused.json()["code"]) == (400, 400)
    assert "too many URLs" in refused.json()["message"]
    assert await _held(client, auth, sid) == 0
    accepted = await client.post(path, json=_urls(MAX_URLS_PER_UPLOAD), headers=auth)
    assert accepted.status_code == 200 and len(accepted.json()["data"]["files"]) == MAX_URLS_PER_UPLOAD


async def test_a_session_keeps_at_most_1000_files(client: httpx.AsyncClient, emulator: Emulator) -> None:
    from mock_server._api import MAX_FILES_PER_SESSION

    auth, sid = await _auth(client)
    path = f"/api/upload-video/nemo_agent/me/{sid}"
    for batch in range(9):
        assert (await client.post(path, json=_urls(100, 100 * batch), headers=auth)).status_code == 200
    assert (await client.post(path, json=_urls(50, 900), headers=auth)).status_code == 200
    over = await client.post(path, json=_urls(51, 950), headers=auth)  # 950 + 51 > 1000
    assert (over.status_code, over.json()["code"]) == (400, 400) and "too many files" in over.json()["message"]
    files = [("files", (f"c{i}.mp4", b"x", "video/mp4")) for i in range(51)]
    over = await client.post(path, files=files, headers=auth)
    assert (over.status_code, over.json()["code"]) == (400, 400) and "too many files" in over.json()["message"]
    assert (await client.post(path, json=_urls(50, 950), headers=auth)).status_code == 200
    assert await _held(client, auth, sid) == MAX_FILES_PER_SESSION
    full = await client.post(path, json=_urls(1, 2000), headers=auth)
    assert (full.status_code, full.json()["code"]) == (400, 400) and "already holds" in full.json()["message"]
    assert await _held(client, auth, sid) == MAX_FILES_PER_SESSION
    assert _stored(emulator) == []


def _stored(emulator: Emulator) -> list[str]:
    folder = emulator.data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_one_upload_holds_at_most_100_files_and_200_parts(client: httpx.AsyncClient, emulator: Emulator) -> None:
    from mock_server._uploads import MAX_FILES_PER_UPLOAD, MAX_PARTS

    auth, sid = await _auth(client)
    path = f"/api/upload-video/nemo_agent/me/{sid}"
    files = [("files", (f"c{i}.mp4", b"x", "video/mp4")) for i in range(MAX_FILES_PER_UPLOAD + 1)]
    refused = await client.post(path, files=files, headers=auth)
    assert (refused.status_code, refused.json()["code"]) == (400, 400)
    assert f"more than {MAX_FILES_PER_UPLOAD} files" in refused.json()["message"]
    assert _stored(emulator) == []  # the 100 files written before the 101st part began are gone
    boundary = "b0undary"
    fields = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="note{i}"\r\n\r\nx\r\n'.encode()
        for i in range(MAX_PARTS)
    )
    one_file = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.mp4"\r\n\r\nx\r\n'.encode()
    refused = await client.post(
        path,
        content=fields + one_file + f"--{boundary}--\r\n".encode(),
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert (refused.status_code, refused.json()["code"]) == (400, 400)
    assert f"more than {MAX_PARTS} parts" in refused.json()["message"]
    assert await _held(client, auth, sid) == 0 and _stored(emulator) == []


def test_the_spec_states_the_upload_counts_the_emulator_enforces() -> None:
    from mock_server._api import MAX_FILES_PER_SESSION, MAX_URLS_PER_UPLOAD
    from mock_server._uploads import MAX_FILES_PER_UPLOAD, MAX_PARTS
    from nemo_contract.protocol.specs import API_SPEC, load_spec

    spec = load_spec(API_SPEC)
    upload = spec["paths"]["/api/upload-video/nemo_agent/{user}/{session_id}"]["post"]
    assert upload["x-max-files-per-upload"] == MAX_FILES_PER_UPLOAD == MAX_URLS_PER_UPLOAD
    assert upload["x-max-parts-per-upload"] == MAX_PARTS
    assert upload["x-max-files-per-session"] == MAX_FILES_PER_SESSION
    schemas = spec["components"]["schemas"]
    assert schemas["UploadUrls"]["properties"]["urls"]["maxItems"] == MAX_URLS_PER_UPLOAD
    assert schemas["UploadForm"]["properties"]["files"]["maxItems"] == MAX_FILES_PER_UPLOAD
    said = " ".join(upload["description"].split())
    assert f"at most {MAX_FILES_PER_UPLOAD} files" in said and f"at most {MAX_PARTS} parts" in said
    assert f"at most {MAX_FILES_PER_SESSION} files" in said
