"""The structured journal: each entry is filled in where things are decided, bounded in count and bytes."""

from __future__ import annotations

import hashlib
import json
import typing

import anyio
import httpx
import pytest

from mock_server._emulator import Emulator
from mock_server._journal import MAX_EVENT_BYTES, MAX_EVENTS_PER_ENTRY, MAX_VALUE_BYTES, Change, Entry, Journal
from nemo_contract.protocol.control import StreamEnd
from nemo_contract.protocol.events import EventKind
from nemo_contract.protocol.specs import ADMIN_SPEC, schema_validator

from ..helpers import BASE, START, new_session, new_token
from ..streams import GENERATE, leave_after_first_event, run_turn, turn_body

pytestmark = pytest.mark.anyio

CREDITS = "/api/credits/balance/simple"


async def test_an_entry_notes_the_code_where_the_answer_was_made(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    await client.get(CREDITS, headers=auth)
    await client.get(CREDITS)  # 1001
    emulator.configure(status_mode="always200")
    await client.get(CREDITS)  # 1001, sent with HTTP 200
    await client.get("/api/no/such/path")
    codes = [(e.status, e.code) for e in emulator.entries(path="/api/*")]
    assert codes == [(200, 0), (200, 0), (401, 1001), (200, 1001), (200, 404)]


async def test_streams_and_files_carry_no_code(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    turn = await run_turn(client, emulator, token, turn_body(sid, "hello"))
    assert turn.status == 200
    (entry,) = emulator.entries(path="/run_sse")
    assert (entry.status, entry.code, entry.complete, entry.end) == (200, None, True, StreamEnd.COMPLETE)
    assert entry.to_dict()["code"] is None


async def test_request_headers_are_kept_lower_case_in_the_order_received(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    raw = [("Z-Last", "1"), ("A-First", "2"), ("X-Skill-Source", "first"), ("X-Skill-Source", "again")]
    await client.send(httpx.Request("GET", f"{BASE}{CREDITS}", headers=raw))  # as is: no default headers merged
    (entry,) = emulator.entries()
    names = entry.headers_present
    assert names == [name for name, _ in entry.to_dict()["request"]["headers"]]
    assert names.index("z-last") < names.index("a-first")
    assert all(name == name.lower() for name in names)
    # The first value of a repeated header counts, as a server reads it.
    assert entry.attribution == {"source": "first", "version": None, "platform": None}


async def test_the_token_is_never_shown_but_named(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    second, _ = await new_token(client, "client-2")
    for value in (token, second, token, "made-up"):
        await client.get(CREDITS, headers={"Authorization": f"Bearer {value}"})
    shown = [e.to_dict() for e in emulator.entries(path=CREDITS)]
    assert [e["token_ref"] for e in shown] == ["token#1", "token#2", "token#1", "unknown"]
    text = json.dumps(shown)
    assert token not in text and second not in text
    assert ["authorization", "Bearer <redacted>"] in shown[0]["request"]["headers"]


async def test_a_request_body_is_sized_and_digested(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    body = json.dumps({"task_name": "p"}).encode()
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    await client.post("/api/tasks/me/with-session/nemo_agent", content=body, headers=auth)
    await client.get(CREDITS)
    _, with_body, without = emulator.entries()
    assert (with_body.request_size, with_body.body_sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert (without.request_size, without.body_sha256) == (0, None)


async def test_the_response_headers_and_size_are_kept(client: httpx.AsyncClient, emulator: Emulator) -> None:
    response = await client.get(CREDITS)
    (entry,) = emulator.entries()
    shown = dict(entry.to_dict()["response"]["headers"])
    assert shown["content-type"] == "application/json"
    assert entry.response_size == len(response.content)


async def test_every_event_of_a_stream_is_noted_with_its_kind_and_both_times(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    turn = await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    (entry,) = emulator.entries(path="/run_sse")
    assert entry.events is not None
    kinds = [e.kind for e in entry.events]
    assert kinds[0] is EventKind.TEXT and kinds[-1] is EventKind.TEXT
    assert {EventKind.TOOL_CALL, EventKind.TOOL_RESULT, EventKind.HEARTBEAT} <= set(kinds)
    # The blocks are exactly what went on the wire.
    assert b"\n\n".join(e.data for e in entry.events) + b"\n\n" == turn.raw
    times = [e.time for e in entry.events]
    assert times == sorted(times) and times[0] >= START
    assert all(e.real_time > 1e9 for e in entry.events)
    assert entry.end is StreamEnd.COMPLETE


@pytest.mark.parametrize(
    ("knobs", "end", "last"),
    [
        ({"silent_close_rate": 1.0}, StreamEnd.SILENT_CLOSE, EventKind.TOOL_RESULT),
        ({"faults": [{"path": "/run_sse", "cut_after": 1}]}, StreamEnd.CUT, EventKind.TOOL_CALL),
        ({"faults": [{"path": "/run_sse", "error_after": 1}]}, StreamEnd.ERROR_EVENT, EventKind.ERROR),
    ],
)
async def test_how_a_stream_ended_is_noted(
    client: httpx.AsyncClient, emulator: Emulator, knobs: dict[str, object], end: StreamEnd, last: EventKind
) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    await run_turn(client, emulator, token, turn_body(sid, GENERATE))  # a draft to edit
    emulator.configure(**knobs)
    await run_turn(client, emulator, token, turn_body(sid, "add background music"))
    entry = emulator.entries(path="/run_sse")[-1]
    assert entry.events is not None
    assert (entry.end, entry.events[-1].kind) == (end, last)
    assert entry.to_dict()["stream"] == {
        "events": entry.to_dict()["stream"]["events"],  # type: ignore[index]
        "end": end.value,
    }


async def test_a_client_that_leaves_is_noted_as_gone(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    entry = await leave_after_first_event(client, emulator, token, sid)
    assert entry.events, "the opening event went out before the client left"


async def test_a_stopping_server_ends_streams_as_shutdown(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, GENERATE), headers=headers) as resp:
        emulator.shutdown()
        await resp.aread()
    (entry,) = emulator.entries(path="/run_sse")
    assert (entry.end, entry.complete) == (StreamEnd.SHUTDOWN, True)


async def test_listeners_follow_entries_as_they_change(client: httpx.AsyncClient, emulator: Emulator) -> None:
    seen: list[tuple[str, Change]] = []
    stop = emulator.journal.subscribe(lambda entry, change: seen.append((entry.path, change)))
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    await run_turn(client, emulator, token, turn_body(sid, "hello"))
    stop()
    await client.get(CREDITS)
    turn = [change for path, change in seen if path == "/run_sse"]
    assert turn[:2] == [Change.REQUEST, Change.RESPONSE] and turn[-1] is Change.END
    assert Change.EVENT in turn
    assert all(path != CREDITS for path, _ in seen)  # unsubscribed


async def test_wait_for_returns_when_a_matching_entry_arrives(client: httpx.AsyncClient, emulator: Emulator) -> None:
    async with anyio.create_task_group() as tasks:
        found: list[Entry] = []

        async def wait() -> None:
            found.extend(await emulator.wait_for(5.0, path=CREDITS))

        tasks.start_soon(wait)
        await anyio.sleep(0.01)
        await client.get(CREDITS)
    assert [e.path for e in found] == [CREDITS]


def _record(journal: Journal, path: str, headers: list[tuple[bytes, bytes]]) -> Entry:
    size = sum(len(k) + len(v) for k, v in headers)
    return journal.record(0.0, "GET", path, b"", headers, size, None, None, None)


def test_the_journal_keeps_the_last_entries_and_numbers_them() -> None:
    journal = Journal(2)
    for path in ("/a", "/b", "/c"):
        _record(journal, path, [])
    assert [(e.seq, e.path) for e in journal.find()] == [(2, "/b"), (3, "/c")]
    assert journal.next_seq == 4


def test_large_header_values_are_cut_in_entries() -> None:
    journal = Journal(10)
    entry = _record(journal, "/a", [(b"x-pad", b"p" * 1_000_000), *[(b"h%d" % i, b"v") for i in range(500)]])
    assert len(entry.raw_headers) <= 64
    assert max(len(value) for _, value in entry.raw_headers) <= MAX_VALUE_BYTES + len(b"...(cut)")
    assert (entry.header("x-pad") or "").endswith("...(cut)")


def test_the_journal_is_bounded_in_bytes_whatever_clients_send() -> None:
    journal = Journal(100_000, max_bytes=1_000_000)
    for n in range(10_000):
        entry = _record(journal, f"/x/{n}", [(b"x-pad", b"p" * 100_000)])
        entry.start_stream()
        entry.add_event(EventKind.TEXT, 0.0, b"data: " + b"e" * 100_000)
    assert journal.footprint <= 1_000_000
    assert len(journal) < 10_000 and journal.find()[-1].path == "/x/9999"
    kept = journal.find()[-1].events
    assert kept is not None and len(kept[0].data) <= MAX_EVENT_BYTES + len(b"...(cut)")


def test_a_streams_events_are_kept_in_order_up_to_the_bound_and_read_back_whole() -> None:
    journal = Journal(10)
    entry = _record(journal, "/run_sse", [])
    entry.start_stream()
    assert entry.events == [] and not entry.text_sent
    kinds = [EventKind.TOOL_CALL, EventKind.HEARTBEAT, EventKind.TEXT]
    for n in range(MAX_EVENTS_PER_ENTRY + 5):
        entry.add_event(kinds[n % 3], 100.0 + n, b"data: %d\n\n" % n)
        if n == 1:
            assert not entry.text_sent, "a tool call and a heartbeat are no text"
    events = entry.events
    assert events is not None and len(events) == MAX_EVENTS_PER_ENTRY
    assert [(e.n, e.kind, e.time, e.data) for e in events[:3]] == [
        (0, EventKind.TOOL_CALL, 100.0, b"data: 0"),
        (1, EventKind.HEARTBEAT, 101.0, b"data: 1"),
        (2, EventKind.TEXT, 102.0, b"data: 2"),
    ]
    assert events[-1].n == MAX_EVENTS_PER_ENTRY - 1 and entry.text_sent
    assert all(e.real_time > 1e9 for e in events)


async def test_every_journal_answer_matches_the_admin_spec(client: httpx.AsyncClient, emulator: Emulator) -> None:
    """Entries of every kind (envelopes, errors, a file, streams that ended each way, a stream still open), read
    through ``GET /__mock__/journal`` with and without filters, field by field against ``JournalEnvelope``."""
    validator = schema_validator("#/components/schemas/JournalEnvelope", ADMIN_SPEC)
    answers: list[typing.Any] = []

    async def journal(query: str = "") -> None:
        response = await client.get("/__mock__/journal" + query)
        assert response.status_code == 200
        answers.append(response.json())

    token, _ = await new_token(client)
    sid = await new_session(client, token)
    auth = {"Authorization": f"Bearer {token}"}
    await client.get(CREDITS)  # 1001
    await client.get("/api/no/such/path")
    await client.delete(CREDITS, headers=auth)  # 405
    await client.get(CREDITS, headers={**auth, "X-Pad": "p" * 5000})
    await run_turn(client, emulator, token, turn_body(sid, GENERATE))
    for knobs in ({"silent_close_rate": 1.0}, {"faults": [{"path": "/run_sse", "cut_after": 1}]}):
        emulator.configure(**knobs)
        await run_turn(client, emulator, token, turn_body(sid, "add background music"))
    emulator.configure(faults=[{"path": "/run_sse", "error_after": 2}])
    await run_turn(client, emulator, token, turn_body(sid, "add background music"))
    emulator.clear_faults()
    state = (await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)).json()["data"]["state"]
    body = {"id": "render_1", "sessionId": sid, "draft": state["draft"]}
    await client.post("/api/render/proxy/lambda", json=body, headers=auth)
    emulator.advance(120)
    poll = (await client.get("/api/render/proxy/lambda/render_1", headers=auth)).json()
    await client.get(poll["output"]["url"])  # a file: no code
    headers = {**auth, "Accept": "text/event-stream"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, GENERATE), headers=headers) as open_stream:
        emulator.advance(20)
        async for _ in open_stream.aiter_raw():
            break
        await journal()  # a stream still open
    await journal()
    await journal("?path=/run_sse&since=2&limit=3")
    await journal("?method=get&wait=0.01")
    for answer in answers:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(answer)]
        assert not errors, errors[:5]
    entries = answers[1]["data"]["entries"]
    ends = {e["end"] for e in entries}
    assert {"complete", "silent_close", "cut", "error_event"} <= ends
    assert any(e["stream"] and e["stream"]["end"] is None for e in answers[0]["data"]["entries"])
    assert any(e["code"] is None and e["stream"] is None and e["status"] == 200 for e in entries)  # the file
