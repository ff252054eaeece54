"""The recording reverse proxy (issue 13, line 2): a client pointed at it talks to the upstream; each exchange is
written as it happens; a stream passes event by event (the client has the first event while the upstream still
holds the rest); URLs in answers that point at the upstream go through the proxy; a broken upstream stream breaks
the client's too; ``nemo-mock record`` as a process, and its bad input."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import typing

import httpx
import pytest

from nemo_contract.protocol import PATHS
from nemo_contract.protocol import fields as f
from nemo_contract.recording import Recorder, RecordingProxy, load
from nemo_contract.testing import Served

from ...clips import make_mp4_bytes
from .helpers import StreamApp, live_app

pytestmark = pytest.mark.live


def test_a_stream_passes_event_by_event_and_the_file_follows(tmp_path: pathlib.Path) -> None:
    upstream = StreamApp([b"data: one\n\n"], [b"data: two\n\n", b"data: three\n\n"])
    path = tmp_path / "p.jsonl"
    with live_app(upstream) as up:
        recorder = Recorder(path, target=up)
        with live_app(RecordingProxy(upstream=up, recorder=recorder)) as proxy, httpx.Client(timeout=10) as http:
            with http.stream("POST", f"{proxy}/run_sse", json={}) as stream:
                lines = stream.iter_lines()
                assert next(lines) == "data: one"  # the upstream still holds the rest: nothing was gathered
                assert [json.loads(line)["t"] for line in path.read_text().splitlines()] == ["meta", "req", "res", "ev"]
                upstream.gate.set()
                assert [line for line in lines if line] == ["data: two", "data: three"]
            answer = http.get(f"{proxy}/api/credits/balance/simple")
            assert answer.json()[f.DATA][f.CDN_URL] == f"{proxy}/cdn/x.mp4"  # the upstream's URL, through the proxy
        recorder.close()
    cassette = load(path)
    turn, credits = cassette.exchanges
    assert [e.data for e in turn.events] == ["one", "two", "three"] and turn.end is not None
    assert turn.end.reason == "eof"
    assert credits.response is not None and credits.response.body is not None
    assert credits.response.body.json[f.DATA][f.CDN_URL] == f"{up}/cdn/x.mp4"  # the cassette keeps the upstream's


def test_an_upstream_that_breaks_mid_stream_breaks_the_clients_stream_too(tmp_path: pathlib.Path) -> None:
    upstream = StreamApp([b'data: {"type":"text","content":"a"}\n\n'], [b"data: cut sh"], ending="drop")
    upstream.gate.set()
    path = tmp_path / "p.jsonl"
    with live_app(upstream) as up:
        recorder = Recorder(path, target=up)
        with (
            live_app(RecordingProxy(upstream=up, recorder=recorder)) as proxy,
            httpx.Client(timeout=10) as http,
            pytest.raises(httpx.RemoteProtocolError),
            http.stream("POST", f"{proxy}/run_sse") as stream,
        ):
            for _ in stream.iter_raw():
                pass
        recorder.close()
    end = load(path).exchanges[0].end
    assert end is not None and (end.by, end.reason, end.rest) == ("server", "reset", "data: cut sh")


def test_an_upstream_that_is_not_there_is_a_502_and_a_recorded_error(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "p.jsonl"
    recorder = Recorder(path, target="http://127.0.0.1:9")
    with live_app(RecordingProxy(upstream="http://127.0.0.1:9", recorder=recorder)) as proxy:
        answer = httpx.get(f"{proxy}{PATHS.credits}", timeout=10)
    recorder.close()
    assert answer.status_code == 502 and "did not answer" in answer.text
    (exchange,) = load(path).exchanges
    assert exchange.response is not None and exchange.response.error is not None
    assert exchange.response.error.startswith("ConnectError")


def _start_recording(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "nemo_contract._cli._servers", "record", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("nemo-mock: recording http://127.0.0.1:"), line + process.stderr.read()
    return process, line.split()[2]


def _session(proxy: str) -> str:
    """Token, session, an upload, a turn, and the uploaded file fetched back by its cdn_url; returns the token."""
    headers = {"X-Skill-Source": "auto-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}
    with httpx.Client(base_url=proxy, headers=headers, timeout=30) as http:
        token = http.post(PATHS.anonymous_token, headers={"X-Client-Id": "cli-1"}).json()[f.DATA][f.TOKEN]
        http.headers["Authorization"] = f"Bearer {token}"
        session = http.post(PATHS.create_session.format(user="me"), json={f.TASK_NAME: "p"}).json()[f.DATA][
            f.SESSION_ID
        ]
        clip = make_mp4_bytes()
        sent = http.post(
            PATHS.upload.format(user="me", session_id=session), files=[("files", ("a.mp4", clip, "video/mp4"))]
        )
        url = sent.json()[f.DATA][f.FILES][0][f.CDN_URL]
        assert url.startswith(proxy)  # rewritten to come back through the proxy...
        assert http.get(url).content == clip  # ...and it works
        body = {f.APP: "nemo_agent", f.USER_ID: "me", f.SESSION_ID: session, f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: "hi"}]}}
        with http.stream("POST", PATHS.run_sse, json=body) as stream:
            assert any(line.startswith("data: {") for line in stream.iter_lines())  # read to its end
        return typing.cast(str, token)


def test_nemo_mock_record_records_a_session_and_exits_0_on_sigterm(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "live.jsonl"
    with Served(seed=5, clock="real", time_scale=1000) as served:
        process, proxy = _start_recording("--upstream", served.url, "--out", str(path))
        try:
            token = _session(proxy)
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert err.strip().endswith(f"recorded 5 exchanges into {path}")
    text = path.read_text(encoding="utf-8")
    assert token not in text and "cli-1" not in text
    cassette = load(path)
    assert cassette.meta.target == served.url
    ops = [e.request.op for e in cassette.exchanges]
    assert ops == ["anonymousToken", "createSession", "upload", "getUploadedFile", "runSse"]
    fetched = next(e for e in cassette.exchanges if e.request.op == "getUploadedFile")
    assert fetched.response is not None and fetched.response.status == 200
    turn = next(e for e in cassette.exchanges if e.request.op == "runSse")
    assert turn.end is not None and turn.end.reason == "eof" and turn.events


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--upstream", "ftp://x", "--out", "{dir}/a.jsonl"], "argument --upstream: not an http(s) URL: 'ftp://x'"),
        (["--upstream", "http://x.test", "--out", "{dir}/there.jsonl"], "{dir}/there.jsonl already exists"),
        (["--upstream", "http://x.test", "--out", "{dir}/no/such/a.jsonl"], "cannot write {dir}/no/such/a.jsonl"),
        (["--upstream", "http://x.test"], "the following arguments are required: --out"),
        (["--upstream", "http://x.test", "--out", "{dir}/a", "--redact-pattern", "("], "not a regular expression"),
        (["--upstream", "http://x.test", "--out", "{dir}/a", "--port", "70000"], "not a port number"),
    ],
)
def test_bad_input_to_record_is_one_line_and_exit_2(tmp_path: pathlib.Path, args: list[str], said: str) -> None:
    (tmp_path / "there.jsonl").write_text("", encoding="utf-8")
    argv = [arg.format(dir=tmp_path) for arg in args]
    done = subprocess.run(
        [sys.executable, "-m", "nemo_contract._cli._servers", "record", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and said.format(dir=tmp_path) in done.stderr, done.stderr
