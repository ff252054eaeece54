"""Rule branches no emulator scenario reaches, judged on journal entries built by hand (the emulator's own
``Entry``): a 429 without Retry-After means 30 s, raw JSON printed over several lines, a token seen only in part,
a path naming the program's own user after the server forgot it. Each is shown failing, and holding."""

from __future__ import annotations

import email.utils
import time

import pytest

from mock_server import Entry
from nemo_contract.audit import Expect, Rule, Scenario
from nemo_contract.audit._catalogue import RULES, judge_run
from nemo_contract.audit._facts import Run, retry_after_of
from nemo_contract.audit._verdicts import Judgement
from nemo_contract.protocol import Code, RenderStatus
from nemo_contract.protocol.shapes import RenderOutput, dumps, render_toplevel

START = 1_800_000_000.0
TOKEN = "nmv_usr_" + "a" * 40
SCENARIO = Scenario(name="made", expect=Expect(outcome="either", work=()))


def _entry(
    seq: int, at: float, method: str, path: str, *, code: int | None = 0, status: int = 200, **more: object
) -> Entry:
    headers = [(b"authorization", f"Bearer {TOKEN}".encode()), *more.pop("headers", [])]  # type: ignore[misc]
    entry = Entry(seq, at, START + at, method, path, b"", headers, TOKEN, 1, "anon_1", status=status, code=code)
    for name, value in more.items():
        setattr(entry, name, value)
    return entry


def _run(*entries: Entry, stdout: str = "", stderr: str = "", answers: dict[Entry, bytes] | None = None) -> Run:
    return Run(
        scenario=SCENARIO,
        command=("program",),
        entries=list(entries),
        ended={},
        answers=answers or {},
        digests={},
        started=START,
        finished=START + 100,
        exit_status=0,
        stdout=stdout,
        stderr=stderr,
    )


def _judge(run: Run, rule: str) -> tuple[str, tuple[str, ...]]:
    (verdict,) = [v for v in judge_run(run) if v.rule == rule]
    return verdict.status, verdict.evidence


def test_retry_after_is_read_as_seconds_or_a_date_and_is_30_s_without_one() -> None:
    limited = _entry(1, 1, "GET", "/api/credits/balance/simple", code=Code.RATE_LIMITED, status=429)
    assert retry_after_of(limited) == 30.0
    limited.response_headers = [(b"retry-after", b"3")]
    assert retry_after_of(limited) == 3.0
    limited.response_headers = [(b"Retry-After", email.utils.formatdate(START + 1 + 12, usegmt=True).encode())]
    assert 11 <= retry_after_of(limited) <= 12


def test_a_retry_after_date_without_a_zone_is_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    limited = _entry(1, 1, "GET", "/api/credits/balance/simple", code=Code.RATE_LIMITED, status=429)
    date = email.utils.formatdate(START + 1 + 12, usegmt=True).replace("GMT", "-0000")  # "-0000": no zone named
    limited.response_headers = [(b"retry-after", date.encode())]
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert 11 <= retry_after_of(limited) <= 12
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_429_without_retry_after_asks_for_30_seconds() -> None:
    limited = _entry(1, 1, "GET", "/api/credits/balance/simple", code=Code.RATE_LIMITED, status=429)
    early = _entry(2, 11, "GET", "/api/credits/balance/simple")
    status, evidence = _judge(_run(limited, early), "after-429")
    assert status == "fail"
    assert evidence == (
        "#2 GET /api/credits/balance/simple at +11.00 s came 10.00 s after the 429 at #1, which said to wait 30 s",
    )
    patient = _entry(2, 31.5, "GET", "/api/credits/balance/simple")
    assert _judge(_run(limited, patient), "after-429") == ("pass", ())


def test_polls_are_about_30_s_apart_neither_too_soon_nor_far_too_late() -> None:
    def polled(*times: float) -> tuple[str, tuple[str, ...]]:
        start = _entry(1, 0, "POST", "/api/render/proxy/lambda")
        polls = [_entry(n, at, "GET", "/api/render/proxy/lambda/r1") for n, at in enumerate(times, 2)]
        pending = dumps(render_toplevel("r1", RenderStatus.PROCESSING, 10))
        done = dumps(
            render_toplevel(
                "r1",
                RenderStatus.COMPLETED,
                100,
                output=RenderOutput(url="/render-result/x/r1.mp4", duration=1.0, size=1),
            )
        )
        answers = {start: pending, **dict.fromkeys(polls[:-1], pending), polls[-1]: done}
        return _judge(_run(start, *polls, answers=answers), "poll-cadence")

    assert polled(30, 61, 90) == ("pass", ())
    assert polled(30, 40)[0] == "fail"  # too soon: 10 s after a processing answer
    status, evidence = polled(30, 130)  # gone quiet for 100 s: not "every 30 s"
    assert status == "fail"
    assert evidence[0].startswith("#3 GET /api/render/proxy/lambda/r1 at +130.00 s polled 100.0 s after #2")


def test_raw_json_is_found_over_several_lines_and_a_programs_own_json_is_not() -> None:
    pretty = 'Answer:\n{\n  "code": 1001,\n  "message": "token expired or invalid",\n  "data": null\n}\n'
    call = _entry(1, 1, "GET", "/api/credits/balance/simple")
    status, evidence = _judge(_run(call, stdout=pretty), "raw-json-not-shown")
    assert status == "fail" and evidence[0].startswith("stdout line 2 shows an API envelope")
    own = '{"type": "OutOfCredits", "message": "out of credits", "code": 2001}\n'
    assert _judge(_run(call, stdout=own), "raw-json-not-shown") == ("pass", ())
    tool = 'data: {"content":{"parts":[{"functionCall":{"name":"x"}}]}}\n'
    status, evidence = _judge(_run(call, stderr=tool), "raw-json-not-shown")
    assert [e.split(" shows ")[1].split(":")[0] for e in evidence] == ["a raw event-stream line", "a tool call's JSON"]


def test_a_token_is_found_whole_or_by_its_shape_and_is_never_repeated_in_the_evidence() -> None:
    call = _entry(1, 1, "GET", "/api/credits/balance/simple")
    status, evidence = _judge(_run(call, stderr=f"using {TOKEN}\n"), "token-not-shown")
    assert status == "fail" and TOKEN not in evidence[0] and evidence[0].startswith("stderr line 1: 'using nmv_usr_")
    other = "nmv_usr_" + "b" * 40  # a token of another run, say: the shape alone gives it away
    assert _judge(_run(call, stdout=f"token={other}\n"), "token-not-shown")[0] == "fail"
    assert _judge(_run(call, stdout="all done\n"), "token-not-shown") == ("pass", ())


def test_the_own_user_is_own_even_after_the_server_forgot_the_token() -> None:
    issued = _entry(1, 1, "GET", "/api/state/nemo_agent/anon_1/123/latest")
    forgotten = _entry(2, 2, "GET", "/api/state/nemo_agent/anon_1/123/latest", code=Code.TOKEN_INVALID, status=401)
    forgotten.user_id = None  # the emulator no longer knows the token: its user is unknown to the journal
    assert _judge(_run(issued, forgotten), "own-user-paths") == ("pass", ())
    foreign = _entry(3, 3, "GET", "/api/state/nemo_agent/anon_2/123/latest", code=Code.SESSION_NOT_FOUND, status=404)
    status, evidence = _judge(_run(issued, foreign), "own-user-paths")
    assert status == "fail" and "names the user 'anon_2'" in evidence[0]


def test_a_run_with_no_traffic_exercises_nothing_but_the_outcome() -> None:
    verdicts = {v.rule: v.status for v in judge_run(_run())}
    assert verdicts.pop("outcome") == "pass"  # either, with no work asked for, and exit 0
    assert set(verdicts.values()) == {"not_exercised"} and len(verdicts) == len(RULES) - 1


def test_a_rule_that_breaks_on_a_run_fails_with_a_note_instead_of_losing_the_other_verdicts() -> None:
    def broken(run: Run) -> Judgement:
        raise KeyError("surprise")

    rule = Rule(name="broken", judges="nothing", quote="", source="", check=broken)
    assert rule.judge(_run()) == Judgement(
        "fail", ("the audit could not judge this (KeyError: 'surprise'); please report it",)
    )
