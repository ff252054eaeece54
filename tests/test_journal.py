"""Journal entries: what they show is derived from the raw request and the first bytes of the answer."""

from __future__ import annotations

import pytest

from mock_server._journal import Entry, Journal


def _entry(raw_headers: list[tuple[bytes, bytes]] | None = None) -> Entry:
    return Entry(1, 0.0, "GET", "/api/credits/balance/simple", b"a=1&b=%C3%A9", raw_headers or [], None, None)


@pytest.mark.parametrize(
    ("status", "head", "streamed", "complete", "code"),
    [
        (200, b'{"code":0,"message":"success","data":{"avai', False, True, 0),
        (401, b'{"code":1001,"message":"token missing or inva', False, True, 1001),
        (200, b'{"code":2001,"message":"insufficient credits"', False, True, 2001),  # always200
        (200, b'{"code":-1}', False, True, -1),
        (200, b'{"success":true,"data":{"id":"r_1","status":', False, True, 0),  # the render poll's other shape
        (200, b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2avc1", False, True, 0),  # a file
        (206, b"", False, True, 0),
        (404, b"<html>not found</html>", False, True, None),
        (200, b"", True, True, 0),  # a stream that ended
        (200, b"", True, False, None),  # a stream still open (or cut)
        (200, b'{"code":0', False, False, None),
    ],
)
def test_an_entrys_code_comes_from_the_head_of_its_answer(
    status: int, head: bytes, streamed: bool, complete: bool, code: int | None
) -> None:
    entry = _entry()
    entry.status, entry.head, entry.streamed, entry.complete = status, head, streamed, complete
    assert entry.code == code
    assert entry.to_dict()["code"] == code


def test_headers_are_shown_by_name_and_the_first_attribution_value_counts() -> None:
    entry = _entry(
        [
            (b"host", b"127.0.0.1"),
            (b"x-skill-source", b"video-to-generator"),
            (b"x-skill-source", b"second"),
            (b"x-skill-version", b"1.2.3"),
            (b"authorization", b"Bearer t"),
        ]
    )
    assert entry.headers_present == ["Authorization", "Host", "X-Skill-Source", "X-Skill-Version"]
    assert entry.attribution == {"source": "video-to-generator", "version": "1.2.3", "platform": None}
    assert entry.query == "a=1&b=%C3%A9"


def test_the_journal_keeps_the_last_entries_and_numbers_them() -> None:
    journal = Journal(2)
    for path in ("/a", "/b", "/c"):
        journal.record(0.0, "GET", path, b"", [], None, None)
    assert [(e.seq, e.path) for e in journal.find()] == [(2, "/b"), (3, "/c")]
    assert journal.next_seq == 4
