"""Replay (issue 13, line 3): the n-th request of a kind gets the n-th recorded answer; the tail policy decides what
follows; a new run's ids line up with the recorded ones; streams come event by event at the recorded offsets
divided by the speed, and end as they did; a miss names the nearest recorded request and what differed (599 over
HTTP, ``CassetteMiss`` in-process); ``nemo-mock replay --strict`` exits 1 after a miss or with answers unused."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import anyio
import httpx
import pytest

from nemo_contract.protocol import PATHS
from nemo_contract.protocol import fields as f
from nemo_contract.recording import (
    AsyncReplayTransport,
    CassetteMiss,
    ReplayApp,
    ReplayTransport,
    Request,
    Response,
    compact,
)
from nemo_contract.recording._cassette import Repeat
from nemo_contract.recording._match import Miss

from .helpers import ORIGIN, build, envelope, json_body, live_app, poll, stream, write

pytestmark = pytest.mark.anyio

POLLS = build(
    poll(1, 0, "render_1", "processing", 30),
    poll(2, 30_000, "render_1", "processing", 60),
    poll(3, 60_000, "render_1", "completed", 100),
)


async def _statuses(transport: httpx.AsyncBaseTransport, times: int) -> list[str]:
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        answers = [await http.get("/api/render/proxy/lambda/render_1") for _ in range(times)]
    return [f"{a.json()[f.STATUS]} {a.json()[f.PROGRESS]}" for a in answers]


async def test_polls_replay_in_order_and_the_tail_policy_decides_what_follows() -> None:
    replay = AsyncReplayTransport(POLLS)
    assert await _statuses(replay, 3) == ["processing 30", "processing 60", "completed 100"]
    async with httpx.AsyncClient(transport=replay, base_url=ORIGIN) as http:
        with pytest.raises(CassetteMiss) as caught:
            await http.get("/api/render/proxy/lambda/render_1")
    assert isinstance(caught.value, AssertionError)
    assert caught.value.diff == [
        'all 3 recorded answers of getRender(render_id="render_1") were served (tail policy error)'
    ]
    repeating = AsyncReplayTransport(POLLS, tail="repeat-last")
    assert await _statuses(repeating, 5) == ["processing 30", "processing 60", *["completed 100"] * 3]
    assert repeating.unused() == []


async def test_a_folded_answer_is_served_as_many_times_as_it_stands_for() -> None:
    same = build(poll(1, 0, "render_1", "processing", 50), poll(2, 30_000, "render_1", "processing", 50))
    folded, count = compact(same)
    assert count == 1
    answer = folded.records[1]
    assert isinstance(answer, Response) and answer.repeat == Repeat(count=2, every_ms=30_000)
    replay = AsyncReplayTransport(folded)
    assert await _statuses(replay, 2) == ["processing 50", "processing 50"]
    with pytest.raises(CassetteMiss):
        await _statuses(replay, 1)


def _renders() -> list[Request | Response]:
    """Two renders the recorded client named render_A and render_B, each polled once."""
    records: list[Request | Response] = []
    for x, render in ((1, "render_A"), (3, "render_B")):
        body: dict[str, object] = {f.ID: render, f.RENDER_SESSION_ID: "s1", f.DRAFT: {}, f.OUTPUT: {}}
        answer = {f.CODE: 0, f.ID: render, f.STATUS: "pending", f.PROGRESS: 0}
        records += [
            Request(x=x, at=x, method="POST", path=PATHS.render_start, op="startRender", body=json_body(body)),
            Response(x=x, at=x, status=200, headers=(("content-type", "application/json"),), body=json_body(answer)),
        ]
        records += poll(x + 1, x + 1, render, "completed", 100)
    return records


async def test_a_new_runs_ids_line_up_with_the_recorded_ones_by_order() -> None:
    replay = AsyncReplayTransport(build(*_renders()))
    async with httpx.AsyncClient(transport=replay, base_url="http://elsewhere.test") as http:
        for mine in ("render_999", "render_1000"):
            body: dict[str, object] = {f.ID: mine, f.RENDER_SESSION_ID: "s1", f.DRAFT: {}, f.OUTPUT: {}}
            started = await http.post(PATHS.render_start, json=body)
            assert started.json()[f.ID] == mine  # the answer says the new run's id back
            polled = await http.get(PATHS.render_poll.format(render_id=mine))
            assert (polled.json()[f.ID], polled.json()[f.STATUS]) == (mine, "completed")
        with pytest.raises(CassetteMiss, match="render_1001"):
            await http.get(PATHS.render_poll.format(render_id="render_1001"))  # no recorded render left for it


async def test_a_miss_names_the_nearest_recorded_request_and_what_differed() -> None:
    cassette = build(stream(1, 0, "s1", "make it warmer", [(5, '{"type":"text","content":"ok"}')]))
    body = {f.APP: "nemo_agent", f.USER_ID: "me", f.SESSION_ID: "s1", f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: "colder"}]}}
    async with httpx.AsyncClient(transport=AsyncReplayTransport(cassette), base_url=ORIGIN) as http:
        with pytest.raises(CassetteMiss) as caught:
            await http.post(PATHS.run_sse, json=body)
    assert caught.value.diff == ['text: recorded "make it warmer", sent "colder"']
    assert 'nearest recorded: x=1 runSse(session_id="s1", text="make it warmer")' in str(caught.value)


async def test_streams_keep_their_pace_divided_by_the_speed_and_instant_waits_for_nothing() -> None:
    events = [(0, '{"type":"text","content":"a"}'), (300, None), (600, '{"type":"text","content":"b"}')]
    cassette = build(stream(1, 0, "s1", "go", events))
    body = {f.APP: "nemo_agent", f.USER_ID: "me", f.SESSION_ID: "s1", f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: "go"}]}}
    async with httpx.AsyncClient(transport=AsyncReplayTransport(cassette, speed=2.0), base_url=ORIGIN) as http:
        started = time.monotonic()
        arrivals = []
        async with http.stream("POST", PATHS.run_sse, json=body) as answer:
            async for chunk in answer.aiter_raw():
                arrivals.append((time.monotonic() - started, chunk))
    assert [chunk for _, chunk in arrivals] == [
        b'data: {"type":"text","content":"a"}\n\n',
        b": ping\n\n",
        b'data: {"type":"text","content":"b"}\n\n',
    ]
    assert arrivals[1][0] >= 0.15 * 0.95 and arrivals[2][0] >= 0.3 * 0.95  # never early: 300 and 600 ms, halved
    ten_minutes = build(stream(1, 0, "s1", "go", [(0, None), (600_000, '{"type":"text","content":"late"}')]))
    async with httpx.AsyncClient(transport=AsyncReplayTransport(ten_minutes), base_url=ORIGIN) as http:
        with anyio.fail_after(10):  # instant (the transports' default): the ten minutes are not waited
            answer = await http.post(PATHS.run_sse, json=body)
    assert answer.text.endswith('data: {"type":"text","content":"late"}\n\n')


async def test_streams_end_as_they_were_recorded() -> None:
    body = {f.APP: "nemo_agent", f.USER_ID: "me", f.SESSION_ID: "s1", f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: "go"}]}}
    error = '{"error": "the agent failed"}'
    cassette = build(
        stream(1, 0, "s1", "go", [(1, '{"type":"tool_call","name":"x"}'), (2, "")]),  # a silent close
        stream(2, 10, "s1", "go", [(1, error)]),  # a mid-stream error, then the close
        stream(3, 20, "s1", "go", [(1, '{"type":"text","content":"a"}')], reason="reset"),  # cut: the connection broke
        stream(4, 30, "s1", "go", [(1, '{"type":"text","content":"b"}')], reason="client_disconnect"),
    )
    async with httpx.AsyncClient(transport=AsyncReplayTransport(cassette), base_url=ORIGIN) as http:
        silent = await http.post(PATHS.run_sse, json=body)
        assert silent.text == 'data: {"type":"tool_call","name":"x"}\n\ndata:\n\n'
        failed = await http.post(PATHS.run_sse, json=body)
        assert failed.text == f"data: {error}\n\n"
        with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
            await http.post(PATHS.run_sse, json=body)
        with pytest.raises(httpx.ReadTimeout):  # the recorded client left; the stream stays open until ours does
            await http.post(PATHS.run_sse, json=body, timeout=0.2)


def test_the_synchronous_transport_replays_alike() -> None:
    with httpx.Client(transport=ReplayTransport(POLLS), base_url=ORIGIN) as http:
        answers = [http.get("/api/render/proxy/lambda/render_1").json()[f.PROGRESS] for _ in range(3)]
        with pytest.raises(CassetteMiss):
            http.get("/api/render/proxy/lambda/render_1")
    assert answers == [30, 60, 100]


@pytest.mark.live
def test_the_replay_server_answers_misses_with_599_and_rewrites_the_recorded_origin() -> None:
    cassette = build(
        Request(x=1, at=0, method="GET", path=PATHS.credits, op="getCredits"),
        Response(
            x=1,
            at=1,
            status=200,
            headers=(("content-type", "application/json"),),
            body=envelope({f.CDN_URL: f"{ORIGIN}/cdn/uploads/f_1/a.mp4"}),
        ),
        stream(2, 5, "s1", "go", [(1, '{"type":"text","content":"a"}')], reason="reset"),
    )
    misses: list[Miss] = []
    app = ReplayApp(cassette, speed=float("inf"), on_miss=misses.append)
    body = {f.APP: "nemo_agent", f.USER_ID: "me", f.SESSION_ID: "s1", f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: "go"}]}}
    with live_app(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        answer = http.get(PATHS.credits)
        assert answer.json()[f.DATA][f.CDN_URL] == f"{url}/cdn/uploads/f_1/a.mp4"
        with pytest.raises(httpx.RemoteProtocolError):  # a recorded reset drops the connection
            http.post(PATHS.run_sse, json=body)
        missed = http.get(PATHS.credits)
    assert missed.status_code == 599 and missed.headers["x-nemo-replay"] == "miss"
    problem = missed.json()
    assert problem["nearest"] == "x=1 getCredits()"
    assert problem["differences"] == ["all 1 recorded answers of getCredits() were served (tail policy error)"]
    assert missed.headers["content-type"] == "application/problem+json" and len(misses) == 1
    assert app.matcher.unused() == []


def _replay(path: pathlib.Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "nemo_contract._cli._servers", "replay", str(path), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    lines: list[str] = []
    while not (line := process.stderr.readline()).startswith("nemo-mock: replaying"):
        assert line, "".join(lines) + process.stderr.read()
        lines.append(line)
    return process, line.rsplit(" ", 1)[1].strip()


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


@pytest.mark.live
@pytest.mark.parametrize(("asks", "status"), [(3, 0), (2, 1), (4, 1)])
def test_nemo_mock_replay_strict_exits_1_after_a_miss_or_with_answers_unused(
    tmp_path: pathlib.Path, asks: int, status: int
) -> None:
    path = write(tmp_path / "polls.jsonl", POLLS)
    process, url = _replay(path, "--speed", "instant", "--strict")
    try:
        answers = [httpx.get(f"{url}/api/render/proxy/lambda/render_1", timeout=10).status_code for _ in range(asks)]
    finally:
        returncode, err = _stop(process)
    assert answers == [200] * min(asks, 3) + [599] * (asks - 3)
    assert returncode == status, err
    if asks == 2:
        assert "1 recorded exchanges were never asked for: #3 getRender" in err
    if asks == 4:
        assert "nemo-mock: miss: no recorded answer for GET /api/render/proxy/lambda/render_1" in err


@pytest.mark.live
def test_nemo_mock_replay_warns_of_a_torn_line_and_serves_the_rest(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "torn.jsonl", POLLS)
    path.write_text(path.read_text() + '{"t":"req","x":9,', encoding="utf-8")
    process, url = _replay(path)
    try:
        assert httpx.get(f"{url}/api/render/proxy/lambda/render_1", timeout=10).json()[f.PROGRESS] == 30
    finally:
        returncode, err = _stop(process)
    assert returncode == 0  # not --strict: unused answers are reported, not failed
    assert "2 recorded exchanges were never asked for" in err


@pytest.mark.parametrize(
    ("content", "args", "said"),
    [
        ('{"log": {}}\n', [], "not a nemo-cassette"),
        (None, [], "cannot read"),
        (json.dumps({"t": "meta", "format": "nemo-cassette", "v": 7}) + "\n", [], "version 7"),
        ("", ["--speed", "0"], "a speed is 1, a number greater than 0, or instant"),
        ("", ["--tail", "cycle"], "invalid choice: 'cycle'"),
    ],
)
def test_bad_input_to_replay_is_one_line_and_exit_2(
    tmp_path: pathlib.Path, content: str | None, args: list[str], said: str
) -> None:
    path = tmp_path / "c.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "nemo_contract._cli._servers", "replay", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and said in done.stderr, done.stderr


def test_a_port_that_is_taken_is_one_line_and_exit_2(tmp_path: pathlib.Path) -> None:
    import socket

    path = write(tmp_path / "polls.jsonl", POLLS)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for argv in (["replay", str(path)], ["record", "--upstream", "http://x.test", "--out", str(tmp_path / "o")]):
            done = subprocess.run(
                [sys.executable, "-m", "nemo_contract._cli._servers", *argv, "--port", port],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 2 and done.stderr.startswith(f"nemo-mock: cannot listen on 127.0.0.1:{port}: ")
            assert len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()
