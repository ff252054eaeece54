"""The cassette format (issue 13, line 1): JSON Lines with a meta line first, one record per request, answer,
event and stream end, a schema in specs/, binary bodies as digests, a torn last line dropped with a warning, a newer
version refused, older ones read through converters."""

from __future__ import annotations

import json
import pathlib
import re

import jsonschema
import pytest

from nemo_contract.protocol.specs import spec_path
from nemo_contract.recording import (
    Body,
    CassetteError,
    CassetteVersionError,
    CassetteWarning,
    End,
    Event,
    Request,
    Response,
    load,
    loads,
)
from nemo_contract.recording._cassette import VERSION, encode
from nemo_contract.recording._versions import CONVERTERS, upgrade, validate

from .helpers import build, envelope, poll, stream, write


def _cassette_text() -> str:
    return build(
        Request(x=1, at=0, method="POST", path="/api/auth/anonymous-token", op="anonymousToken"),
        Response(x=1, at=3, status=200, headers=(("content-type", "application/json"),), body=envelope({})),
        stream(2, 10, "s1", "hello", [(5, '{"type":"text","content":"hi"}'), (9, None)]),
        poll(3, 40, "render_1", "processing", 50),
    ).dumps()


def test_every_line_is_one_record_and_the_schema_holds_them(tmp_path: pathlib.Path) -> None:
    text = _cassette_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0] == {
        "t": "meta",
        "format": "nemo-cassette",
        "v": 1,
        "recorded_at": "2026-03-13T00:00:00.000Z",
        "recorder": "tests",
        "target": "http://recorded.test",
        "redaction": "default",
    }
    assert [line["t"] for line in lines] == ["meta", "req", "res", "req", "res", "ev", "ev", "end", "req", "res"]
    schema = json.loads(spec_path("cassette.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for line in lines:
        jsonschema.validate(line, schema)
    cassette = load(write(tmp_path / "c.jsonl", loads(text)))
    assert cassette.dumps() == text  # read and written back, byte for byte
    (_, turn, _) = cassette.exchanges
    assert [e.n for e in turn.events] == [0, 1] and turn.events[1].comment == "ping"
    assert turn.end is not None and turn.end.reason == "eof"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ({"t": "ev", "x": 1, "at": 3}, "'n' is a required property"),
        ({"t": "req", "x": 0, "at": 0, "method": "GET", "path": "/"}, "x: 0 is less than the minimum of 1"),
        ({"t": "end", "x": 1, "at": 3, "by": "server", "reason": "eaten", "events": 0}, "reason:"),
        ({"t": "res", "x": 1, "at": 3, "status": 200, "stream": "sse", "body": {"size": 1, "text": "a"}}, "should not"),
        ({"t": "res", "x": 1, "at": 3, "status": 200, "body": {"size": 2}}, "body"),
        ({"t": "nope", "x": 1}, "t: 'nope' is not a record type"),
    ],
)
def test_a_line_the_schema_refuses_is_named_by_its_number(line: dict[str, object], problem: str) -> None:
    text = _cassette_text().splitlines()
    text.insert(2, json.dumps(line))
    with pytest.raises(CassetteError, match=r"c.jsonl: line 3: ") as caught:
        loads("\n".join(text) + "\n", source="c.jsonl")
    assert problem in str(caught.value)
    assert validate(json.loads(text[1])) is None


def test_a_torn_last_line_is_dropped_with_a_warning_and_the_rest_loads(tmp_path: pathlib.Path) -> None:
    text = _cassette_text()
    path = tmp_path / "torn.jsonl"
    path.write_text(text + '{"t":"ev","x":2,"at":30,"n":2,"da', encoding="utf-8")  # a crash mid-line
    with pytest.warns(CassetteWarning, match=r"torn.jsonl: line 11 is torn"):
        loaded = load(path)
    assert loaded.records == loads(text).records
    assert loaded.warnings == [f"{path}: line 11 is torn (a recording cut short?); dropped it"]
    path.write_text(text + '{"t":"ev","x":2,"at":30,"n":2}', encoding="utf-8")  # whole, only its newline missing
    assert len(load(path).records) == len(loaded.records) + 1


def test_a_broken_line_before_the_last_is_an_error_not_a_torn_line() -> None:
    lines = _cassette_text().splitlines()
    with pytest.raises(CassetteError, match=r"line 4 is not JSON"):
        loads("\n".join([*lines[:3], lines[3][:20], *lines[4:]]) + "\n")
    with pytest.raises(CassetteError, match=r"line 10 is not JSON"):  # the last line, but ended: not torn
        loads("\n".join([*lines[:9], lines[9][:20]]) + "\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty, not a cassette"),
        ("hello\n", "not a nemo-cassette (its first line is not JSON)"),
        ('{"log": {}}\n', "not a nemo-cassette (its first line is not a nemo-cassette meta line)"),
        ('{"t":"meta","format":"other","v":1}\n', "not a nemo-cassette"),
        ('{"t":"meta","format":"nemo-cassette","v":"1"}\n', "the version must be a whole number"),
        ('[1, 2]\n{"t": "meta"}\n', "line 1 is not a JSON object"),
    ],
)
def test_a_file_that_is_not_a_cassette_is_one_clear_error(text: str, problem: str) -> None:
    with pytest.raises(CassetteError, match=re.escape(problem)):
        loads(text, source="x.jsonl")


def test_a_second_meta_line_is_refused() -> None:
    lines = _cassette_text().splitlines()
    with pytest.raises(CassetteError, match="exactly one meta line"):
        loads("\n".join([*lines, lines[0]]) + "\n")


def test_a_newer_version_is_refused_with_what_to_do(tmp_path: pathlib.Path) -> None:
    lines = _cassette_text().splitlines()
    lines[0] = lines[0].replace('"v":1', '"v":2')
    path = tmp_path / "new.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CassetteVersionError, match=r"new.jsonl is nemo-cassette version 2, .* reads versions up to 1"):
        load(path)


#: A cassette in the first draft's layout (version 0): headers and the query as objects, bodies unwrapped.
V0 = [
    {"t": "meta", "format": "nemo-cassette", "v": 0, "recorded_at": "2026-03-13T00:00:00Z", "recorder": "draft"},
    {
        "t": "req",
        "x": 1,
        "at": 0,
        "method": "GET",
        "path": "/api/credits/balance/simple",
        "query": {"a": "1"},
        "headers": {"Authorization": "Bearer <token#1>"},
        "body": None,
    },
    {
        "t": "res",
        "x": 1,
        "at": 12,
        "status": 200,
        "headers": {"content-type": "application/json"},
        "body": {"code": 0, "message": "success", "data": {"available": 100}},
    },
    {
        "t": "res",
        "x": 2,
        "at": 20,
        "status": 200,
        "headers": {},
        "body": {"sha256": "ab" * 32, "size": 9, "content_type": "video/mp4"},
    },
]


def test_a_version_0_cassette_loads_through_its_converter() -> None:
    cassette = loads("".join(json.dumps(line) + "\n" for line in V0))
    assert cassette.meta.v == VERSION
    request, answer, binary = cassette.records
    assert isinstance(request, Request) and request.query == "a=1" and request.body is None
    assert request.headers == (("Authorization", "Bearer <token#1>"),)
    assert isinstance(answer, Response) and answer.body is not None and answer.body.json["data"] == {"available": 100}
    assert isinstance(binary, Response) and binary.body == Body(size=9, type="video/mp4", sha256="ab" * 32)
    assert cassette.dumps().splitlines()[0].count('"v":1') == 1  # written back as version 1


def test_the_chain_runs_every_converter_in_turn_and_names_a_missing_one() -> None:
    def one_to_two(line: dict[str, object]) -> list[dict[str, object]]:
        if line["t"] == "meta":
            return [{**line, "v": 2}]
        if line["t"] == "ev":  # version 2 splits nothing, but a converter may: one line becomes two
            return [line, {**line, "n": 99}]
        return [{**line, "two": True}]

    chain = {**CONVERTERS, 1: one_to_two}
    assert upgrade(V0[0], 0, converters=chain, current=2) == [{**V0[0], "v": 2}]
    (converted,) = upgrade(V0[2], 0, converters=chain, current=2)
    assert converted["headers"] == [["content-type", "application/json"]] and converted["two"] is True
    event = {"t": "ev", "x": 1, "at": 0, "n": 0}
    assert [line["n"] for line in upgrade(event, 1, converters=chain, current=2)] == [0, 99]
    with pytest.raises(CassetteError, match="no converter from cassette version 1 to 2"):
        upgrade(event, 0, converters=CONVERTERS, current=2)


def test_bodies_are_written_as_the_recorder_kept_them() -> None:
    binary = Body(size=3, type="video/mp4", sha256="cd" * 32)
    line = json.loads(encode(Response(x=1, at=0, status=200, body=binary)))
    assert line["body"] == {"size": 3, "type": "video/mp4", "sha256": "cd" * 32}  # no bytes unless asked
    kept = json.loads(encode(Response(x=1, at=0, status=200, body=Body(size=3, sha256="cd" * 32, b64="AAAA"))))
    assert kept["body"]["b64"] == "AAAA"
    null = json.loads(encode(Response(x=1, at=0, status=200, body=Body(size=4, json=None))))
    assert null["body"] == {"size": 4, "json": None}  # the JSON value null is kept, not dropped
    event = json.loads(encode(Event(x=1, at=0, n=0, data="")))
    assert event == {"t": "ev", "x": 1, "at": 0, "n": 0, "data": ""}
    end = json.loads(encode(End(x=1, at=0, by="client", reason="client_disconnect", events=0)))
    assert end["by"] == "client" and "outcome" not in end
