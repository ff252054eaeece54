"""Recording through the httpx transports (issue 13, line 2): each exchange written as it happens, a stream event
by event while it is still open, how it ended (server, client leaving, a broken connection), forms part by part,
binary bodies as digests, and the synchronous transport alike."""

from __future__ import annotations

import gzip
import json
import pathlib

import anyio
import httpx
import pytest
import respx

from nemo_contract.protocol import PATHS
from nemo_contract.protocol import fields as f
from nemo_contract.recording import AsyncRecordingTransport, Recorder, RecordingTransport, load
from nemo_contract.testing import Emulated, StreamingASGITransport

from ...clips import make_mp4_bytes
from .helpers import StreamApp, recorded_client

pytestmark = pytest.mark.anyio

BASE = "http://upstream.test"


def _lines(path: pathlib.Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_a_stream_is_written_event_by_event_while_it_is_still_open(tmp_path: pathlib.Path) -> None:
    app = StreamApp([b"data: one\n\n", b": ping\n\n"], [b"data: two\n\n"])
    path = tmp_path / "s.jsonl"
    recorder = Recorder(path, target=BASE)
    async with (
        httpx.AsyncClient(transport=AsyncRecordingTransport(StreamingASGITransport(app), recorder=recorder)) as http,
        http.stream("POST", f"{BASE}/run_sse", json={}) as stream,
    ):
        chunks = stream.aiter_raw()
        assert await anext(chunks) == b"data: one\n\n"
        assert await anext(chunks) == b": ping\n\n"
        written = [line["t"] for line in _lines(path)]
        assert written == ["meta", "req", "res", "ev", "ev"]  # on disk while the upstream still holds the rest
        app.gate.set()
        assert [chunk async for chunk in chunks] == [b"data: two\n\n"]
    recorder.close()
    lines = _lines(path)
    assert [line["t"] for line in lines] == ["meta", "req", "res", "ev", "ev", "ev", "end"]
    assert lines[3]["data"] == "one" and lines[4]["comment"] == "ping" and lines[5]["n"] == 2
    assert lines[6] == {**lines[6], "by": "server", "reason": "eof", "events": 3, "outcome": "silent_close"}


async def test_a_client_that_leaves_and_a_connection_that_breaks_end_as_they_did(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.jsonl"
    recorder = Recorder(path, target=BASE)
    left = StreamApp([b'data: {"type":"text","content":"hi"}\n\n'], [])
    broken = StreamApp([b'data: {"error": "boom"}\n\n'], [b"data: half"], ending="raise")
    broken.gate.set()
    for app in (left, broken):
        transport = AsyncRecordingTransport(StreamingASGITransport(app), recorder=recorder)
        async with httpx.AsyncClient(transport=transport) as http, http.stream("POST", f"{BASE}/run_sse") as stream:
            chunks = stream.aiter_raw()
            await anext(chunks)
            if app is broken:
                with pytest.raises(httpx.ReadError):
                    async for _ in chunks:
                        pass
    recorder.close()
    ends = [line for line in _lines(path) if line["t"] == "end"]
    assert ends[0] == {**ends[0], "by": "client", "reason": "client_disconnect", "outcome": "complete", "events": 1}
    assert ends[1] == {**ends[1], "by": "server", "reason": "reset", "outcome": "error_event", "rest": "data: half"}


async def test_an_emulator_session_records_forms_part_by_part_and_files_as_digests(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.jsonl"
    clip = make_mp4_bytes()
    with Emulated(seed=1) as emulated:
        async with recorded_client(emulated, path) as http:
            token = (await http.post(PATHS.anonymous_token, headers={"X-Client-Id": "c-1"})).json()[f.DATA][f.TOKEN]
            auth = {"Authorization": f"Bearer {token}"}
            made = await http.post(PATHS.create_session.format(user="me"), json={f.TASK_NAME: "p"}, headers=auth)
            session = made.json()[f.DATA][f.SESSION_ID]
            upload = PATHS.upload.format(user="me", session_id=session)
            sent = await http.post(
                upload, files=[("files", ("clip.mp4", clip, "video/mp4"))], data={"n": "1"}, headers=auth
            )
            url = sent.json()[f.DATA][f.FILES][0][f.CDN_URL]
            fetched = await http.get(url)
            assert fetched.content == clip
    cassette = load(path)
    by_op = {e.request.op: e for e in cassette.exchanges}
    form = by_op["upload"].request.body
    assert form is not None and form.type == "multipart/form-data" and form.parts is not None
    note, part = form.parts
    assert (note.name, note.text) == ("n", "1")
    import hashlib

    assert (part.name, part.filename, part.type, part.size) == ("files", "clip.mp4", "video/mp4", len(clip))
    assert part.sha256 == hashlib.sha256(clip).hexdigest() and part.b64 is None
    assert ("Content-Type", "multipart/form-data") in by_op["upload"].request.headers  # no random boundary
    answer = by_op["getUploadedFile"].response
    assert answer is not None and answer.body is not None and answer.body.sha256 == hashlib.sha256(clip).hexdigest()
    assert answer.body.json is not None and not answer.body.is_json and answer.body.b64 is None


def test_the_synchronous_transport_records_alike_and_can_keep_bodies(tmp_path: pathlib.Path) -> None:
    router = respx.MockRouter(assert_all_called=True)
    router.get(f"{BASE}/api/credits/balance/simple").mock(
        return_value=httpx.Response(
            200,
            content=gzip.compress(b'{"code":0,"message":"success","data":{"available":7}}'),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    )
    router.get(f"{BASE}/f.bin").mock(
        return_value=httpx.Response(200, content=b"\x00\x01", headers={"content-type": "x/y"})
    )
    path = tmp_path / "s.jsonl"
    with (
        Recorder(path, keep_bodies=True) as recorder,
        httpx.Client(transport=RecordingTransport(httpx.MockTransport(router.handler), recorder=recorder)) as http,
    ):
        assert http.get(f"{BASE}/api/credits/balance/simple").json()[f.DATA][f.AVAILABLE] == 7
        assert http.get(f"{BASE}/f.bin?a=1").content == b"\x00\x01"
    cassette = load(path)
    assert cassette.meta.target == BASE  # the first request's origin
    credits, binary = cassette.exchanges
    assert credits.request.op == "getCredits" and credits.response is not None and credits.response.body is not None
    assert credits.response.body.json[f.DATA] == {f.AVAILABLE: 7}  # read through its gzip coding
    assert binary.request.query == "a=1" and binary.request.op is None
    assert binary.response is not None and binary.response.body is not None and binary.response.body.b64 == "AAE="


async def test_a_request_that_gets_no_answer_is_recorded_with_why(tmp_path: pathlib.Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    path = tmp_path / "s.jsonl"
    with Recorder(path) as recorder:
        transport = AsyncRecordingTransport(httpx.MockTransport(refuse), recorder=recorder)
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"{BASE}/x")
    (exchange,) = load(path).exchanges
    assert exchange.response is not None and exchange.response.error == "ConnectError: refused"


async def test_closing_the_recorder_mid_stream_ends_the_stream_as_interrupted(tmp_path: pathlib.Path) -> None:
    app = StreamApp([b"data: one\n\n"], [b"data: two\n\n"])
    path = tmp_path / "s.jsonl"
    recorder = Recorder(path, target=BASE)
    async with (
        httpx.AsyncClient(transport=AsyncRecordingTransport(StreamingASGITransport(app), recorder=recorder)) as http,
        http.stream("POST", f"{BASE}/run_sse") as stream,
    ):
        chunks = stream.aiter_raw()
        await anext(chunks)
        recorder.close()
        app.gate.set()
        with anyio.fail_after(5):
            async for _ in chunks:
                pass
    end = load(path).exchanges[0].end
    assert end is not None and (end.by, end.reason, end.events) == ("recorder", "recording_interrupted", 1)
