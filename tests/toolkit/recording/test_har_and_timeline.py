"""Looking at a session (issue 13, line 5): ``cassette har`` writes HAR 1.2 valid against the HAR schema (one entry
per exchange, a stream's text and its events with their times, redacted as the cassette is); ``cassette show``
prints a readable timeline; ``cassette compact`` folds runs of identical polls, and the folded cassette replays
the same answers."""

from __future__ import annotations

import io
import json
import pathlib

import httpx
import jsonschema
import pytest

from nemo_contract._cli import main
from nemo_contract.protocol import PATHS
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import render_request
from nemo_contract.protocol.specs import spec_path
from nemo_contract.recording import AsyncReplayTransport, cassette_path, load
from nemo_contract.testing import Emulated

from .helpers import build, poll, recorded_client, stream, write

pytestmark = pytest.mark.anyio


def _har_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(spec_path("har-1.2.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_the_har_export_is_valid_har_with_a_streams_text_and_timed_events(tmp_path: pathlib.Path) -> None:
    source = cassette_path("video-to-generator")
    out = tmp_path / "session.har"
    status, said, err = _run("cassette", "har", str(source), "-o", str(out))
    cassette = load(source)
    assert status == 0, err
    assert said == f"wrote {out} ({len(cassette.exchanges)} entries, HAR 1.2)\n"
    document = json.loads(out.read_text(encoding="utf-8"))
    validator = _har_validator()
    assert list(validator.iter_errors(document)) == []
    entries = document["log"]["entries"]
    assert len(entries) == len(cassette.exchanges)
    assert entries[0]["request"]["url"] == "http://emulator.test/api/auth/anonymous-token"
    assert entries[0]["startedDateTime"] == "2026-03-13T00:00:00.000Z"
    turn_exchange = next(e for e in cassette.exchanges if e.is_stream)
    turn = entries[cassette.exchanges.index(turn_exchange)]
    messages = turn["_eventSourceMessages"]
    assert [m["data"] for m in messages] == [e.data for e in turn_exchange.events]
    assert messages[0]["time"] == 1773360000 + turn_exchange.events[0].at / 1000
    assert turn["response"]["content"]["text"].startswith("data: {") and turn["_nemo"]["end"]["reason"] == "eof"
    assert "<token#1>" in out.read_text(encoding="utf-8")  # redacted as the cassette is
    upload = next(entry for entry in entries if entry["_nemo"]["op"] == "upload")
    assert upload["request"]["postData"]["params"][0]["fileName"] == "city_timelapse.mp4"
    download = next(entry for entry in entries if entry["_nemo"]["op"] == "getRenderFile")
    assert download["response"]["content"]["comment"].startswith("binary body kept as its digest: sha256 ")


def test_the_har_schema_refuses_what_har_does_not_allow(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "a.har"
    assert _run("cassette", "har", str(cassette_path("auto-generator")), "-o", str(out))[0] == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    validator = _har_validator()
    entry = document["log"]["entries"][0]
    del entry["timings"]
    entry["request"]["url"] = "/no/origin"
    entry["response"]["typo"] = 1
    problems = {error.message for error in validator.iter_errors(document)}
    assert "'timings' is a required property" in problems
    assert any("does not match" in problem for problem in problems)  # a URL without its origin
    assert "'typo' does not match any of the regexes: '^_'" in problems  # only custom fields may be added


def test_the_har_command_refuses_to_replace_a_file_and_to_read_a_foreign_one(tmp_path: pathlib.Path) -> None:
    there = tmp_path / "there.har"
    there.write_text("x", encoding="utf-8")
    status, _, err = _run("cassette", "har", str(cassette_path("auto-generator")), "-o", str(there))
    assert (status, err) == (5, f"nemo-contract: error: {there} already exists (--force replaces a file)\n")
    status, _, err = _run("cassette", "har", str(there), "-o", str(tmp_path / "b.har"))
    assert status == 5 and "not a nemo-cassette (its first line is not JSON)" in err and len(err.splitlines()) == 1
    status, _, err = _run("cassette", "har", str(cassette_path("auto-generator")), "-o", str(tmp_path / "no" / "b.har"))
    assert status == 5 and "cannot write" in err


def test_show_prints_a_readable_timeline() -> None:
    status, said, _ = _run("cassette", "show", str(cassette_path("video-to-generator")))
    assert status == 0
    lines = said.splitlines()
    assert lines[0].endswith("from http://emulator.test; 22 exchanges, 2 streams")
    assert "     0.000s  #1    → anonymousToken  POST /api/auth/anonymous-token" in lines
    assert any(line.endswith("ev 1 tool_call understand_video") for line in lines)
    assert any(" ← 200 processing 33% (application/json, 74 B)" in line for line in lines)
    assert any(line.endswith("end: eof by the server, silent_close, 3 events") for line in lines)  # the quiet edit
    assert any(" ← 429 code 429 (application/json, 49 B)" in line for line in lines)


async def test_compact_folds_runs_of_identical_polls_and_replays_them_alike(tmp_path: pathlib.Path) -> None:
    """A render polled on a frozen clock answers the same until time moves: those polls fold."""
    path = tmp_path / "polls.jsonl"
    with Emulated(seed=2, clock="manual") as emulated:
        async with recorded_client(emulated, path) as http:
            token = (await http.post(PATHS.anonymous_token, headers={"X-Client-Id": "c"})).json()[f.DATA][f.TOKEN]
            http.headers["Authorization"] = f"Bearer {token}"
            session = (await http.post(PATHS.create_session.format(user="me"), json={f.TASK_NAME: "p"})).json()
            segment = {f.ID: "a", f.LABEL: "clip", f.START_MS: 0, f.DURATION_MS: 1000}
            meta = {f.TITLE: "t", f.WIDTH: 640, f.HEIGHT: 360, f.FPS: 25}
            draft = {f.TRACKS: [{f.TRACK_TYPE: 0, f.SEGMENTS: [segment]}], f.DURATION_MS: 1000, f.META: meta}
            body = render_request("render_1", session[f.DATA][f.SESSION_ID], draft)
            assert (await http.post(PATHS.render_start, json=body)).status_code == 200
            seen = []
            for _ in range(3):
                emulated.emulator.clock.advance(10)
                seen += [
                    (await http.get(PATHS.render_poll.format(render_id="render_1"))).json()[f.PROGRESS]
                    for _ in range(4)
                ]
    before = load(path)
    status, said, err = _run("cassette", "compact", str(path))
    assert status == 0, err
    assert (
        said == f"folded 9 identical answers: {path} ({len(before.records) + 1} -> {len(before.records) - 17} lines)\n"
    )
    after = load(path)
    folded = [e.response.repeat.count for e in after.exchanges if e.response is not None and e.response.repeat]
    assert folded == [4, 4, 4]
    async with httpx.AsyncClient(transport=AsyncReplayTransport(after), base_url="http://emulator.test") as http:
        await http.post(PATHS.anonymous_token)
        await http.post(PATHS.create_session.format(user="me"), json={f.TASK_NAME: "p"})
        await http.post(PATHS.render_start, json=body)
        replayed = [(await http.get(PATHS.render_poll.format(render_id="render_1"))).json()[f.PROGRESS] for _ in seen]
    assert replayed == seen and len(set(seen)) == 3


def test_compact_leaves_streams_and_different_answers_alone(tmp_path: pathlib.Path) -> None:
    cassette = build(
        poll(1, 0, "r", "processing", 10),
        poll(2, 10, "r", "processing", 20),
        stream(3, 20, "s", "go", [(1, "")]),
        stream(4, 30, "s", "go", [(1, "")]),
    )
    path = write(tmp_path / "c.jsonl", cassette)
    out = tmp_path / "out.jsonl"
    status, said, _ = _run("cassette", "compact", str(path), "-o", str(out))
    assert (status, said) == (0, f"folded 0 identical answers: {out} (13 -> 13 lines)\n")
    assert out.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
