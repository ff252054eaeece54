"""Redaction (issue 13, line 2): the token, X-Client-Id, the bind= of register links and anything that looks like a
token become stable placeholders before anything is written, everywhere the same value appears (headers, bodies,
URLs, event data), plus the user's rules; a scan after writing fails the recording if a secret survived."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from nemo_contract.protocol import PATHS, Code
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.control import MOCK_FAULT
from nemo_contract.recording import (
    DEFAULT_RULES,
    Recorder,
    RedactionError,
    Redactor,
    load,
)
from nemo_contract.testing import Emulated

from .helpers import recorded_client

pytestmark = pytest.mark.anyio

#: A token the user typed into a message: it must not reach the file either (the agent repeats the words).
TYPED = "nmv_usr_" + "Q" * 24


async def _session(path: pathlib.Path, **recorder: object) -> tuple[str, str, str, str]:
    """A token, a session, a 2001 with its register link, a turn that repeats a typed token; returns the secrets
    (token, user id, client id, session id)."""
    with Emulated(seed=3) as emulated:
        async with recorded_client(emulated, path, **recorder) as http:
            client_id = "client-0b7d41e2-aaaa"
            answer = await http.post(PATHS.anonymous_token, headers={"X-Client-Id": client_id})
            token, user = answer.json()[f.DATA][f.TOKEN], answer.json()[f.DATA][f.USER_ID]
            auth = {"Authorization": f"Bearer {token}", "X-Api-Key": "k-1234567890"}
            made = await http.post(PATHS.create_session.format(user=user), json={f.TASK_NAME: "p"}, headers=auth)
            session = made.json()[f.DATA][f.SESSION_ID]
            refused = await http.get(PATHS.credits, headers={**auth, MOCK_FAULT: str(int(Code.INSUFFICIENT_CREDITS))})
            assert user in refused.json()[f.DATA][f.REGISTER_URL]
            words = f"generate a video about the ocean with music, my key is {TYPED}"
            turn = {
                f.APP: "nemo_agent",
                f.USER_ID: "me",
                f.SESSION_ID: session,
                f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: words}]},
            }
            async with http.stream("POST", PATHS.run_sse, json=turn, headers=auth) as stream:
                seen = b"".join([chunk async for chunk in stream.aiter_bytes()])
            assert TYPED.encode() in seen  # the agent did repeat it on the stream
    return token, user, client_id, session


async def test_every_secret_becomes_one_placeholder_wherever_it_appears(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.jsonl"
    token, user, client_id, session = await _session(path)
    text = path.read_text(encoding="utf-8")
    for secret in (token, user, client_id, TYPED):
        assert secret not in text
    assert session in text  # an id that is not a secret stays
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["t"] == "req"]
    assert ["X-Client-Id", "<client-id#1>"] in requests[0]["headers"]
    assert ["Authorization", "Bearer <token#1>"] in requests[1]["headers"]
    assert requests[1]["path"] == "/api/tasks/<user#1>/with-session/nemo_agent"  # a URL, the same placeholder
    answers = [line for line in lines if line["t"] == "res"]
    assert answers[0]["body"]["json"]["data"][f.TOKEN] == "<token#1>"  # the answer that gave it
    assert answers[0]["body"]["json"]["data"][f.USER_ID] == "<user#1>"
    assert answers[2]["body"]["json"]["data"][f.REGISTER_URL].endswith("/register?bind=<user#1>")
    turn = next(line for line in requests if line["op"] == "runSse")
    assert turn["body"]["json"]["new_message"]["parts"][0]["text"].endswith("my key is <token#2>")
    events = [line for line in lines if line["t"] == "ev" and "<token#2>" in line.get("data", "")]
    assert events  # the same typed token, in the stream's data, is the same placeholder
    assert "k-1234567890" in text  # not a secret by default...


async def test_the_users_rules_redact_too(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.jsonl"
    rules = DEFAULT_RULES.extended(headers=["X-Api-Key"], fields=[f.SESSION_ID], patterns=[r"ocean"])
    _, _, _, session = await _session(path, rules=rules)
    text = path.read_text(encoding="utf-8")
    assert "k-1234567890" not in text and '["X-Api-Key","<secret#1>"]' in text  # ...but the user's header is
    assert session not in text and "<secret#2>" in text  # a field of the user's
    assert "ocean" not in text and "<secret#3>" in text  # a pattern of the user's
    assert load(path).meta.redaction == "default+user"


def test_a_secret_learned_after_it_was_written_fails_the_recording_and_the_file_goes(tmp_path: pathlib.Path) -> None:
    """The scan is the last guard: here a user id appears in free text before any answer says it is one."""
    path = tmp_path / "late.jsonl"
    recorder = Recorder(path, target="http://x.test", clock=lambda: 0.0)
    first = recorder.start("POST", "/echo", "", [("Content-Type", "text/plain")])
    first.request_chunk(b"hello anon_7f3b2c1d")
    first.response(200, [("content-type", "text/plain")])
    first.finish()
    second = recorder.start("POST", PATHS.anonymous_token, "", [])
    second.response(200, [("content-type", "application/json")])
    second.chunk(json.dumps({f.DATA: {f.USER_ID: "anon_7f3b2c1d"}}).encode())
    second.finish()
    with pytest.raises(
        RedactionError, match=r"late.jsonl: redaction missed a secret.* line 2 holds the value of <user#1>"
    ):
        recorder.close()
    assert not path.exists()


def test_a_clean_recording_passes_the_scan(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "clean.jsonl"
    with Recorder(path, target="http://x.test", clock=lambda: 0.0) as recorder:
        exchange = recorder.start("GET", "/a", "", [("Authorization", "Bearer abcdefgh12345")])
        exchange.response(200, [("content-type", "text/plain")])
        exchange.chunk(b"your token abcdefgh12345 is fine")
        exchange.finish()
    assert "abcdefgh12345" not in path.read_text(encoding="utf-8")
    assert "your token <token#1> is fine" in path.read_text(encoding="utf-8")


def test_placeholders_are_stable_numbered_per_kind_and_replace_whole_words_only() -> None:
    redactor = Redactor()
    headers = redactor.headers([("Authorization", "Bearer tok_AAAAAAAA"), ("X-Client-Id", "cid-123456")])
    assert headers == (("Authorization", "Bearer <token#1>"), ("X-Client-Id", "<client-id#1>"))
    assert redactor.json({f.TOKEN: "tok_BBBBBBBB", "other": "tok_AAAAAAAA"}) == {
        f.TOKEN: "<token#2>",
        "other": "<token#1>",
    }
    assert redactor.text("xtok_AAAAAAAAx tok_AAAAAAAA. tok_AAAAAAAA_2") == "xtok_AAAAAAAAx <token#1>. tok_AAAAAAAA_2"
    assert redactor.text("/p?bind=anon%2Fq1w2e3r4") == "/p?bind=<user#1>"  # URL-quoted, as a link carries it
    assert redactor.secrets["<user#1>"] == "anon/q1w2e3r4"
    assert redactor.json({f.USER_ID: "me", "n": ""}) == {f.USER_ID: "me", "n": ""}  # "me" is no secret
    assert redactor.json({f.TOKEN: "abc"}) == {f.TOKEN: "<token#3>"}  # where the rules say, however short


def test_the_default_patterns_find_tokens_in_free_text() -> None:
    redactor = Redactor()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmU"
    said = redactor.text(f"a nmv_usr_{'z' * 20} and a {jwt} and Bearer abc.def-ghi~123")
    assert said == "a <token#1> and a <token#2> and Bearer <token#3>"
    assert redactor.scan(said) == []
    leaks = redactor.scan(f"ok\nstill nmv_usr_{'y' * 20} here\n")
    assert leaks == ["line 2 holds a value that looks like a token"]
    assert not re.search("z" * 20, " ".join(redactor.scan(f"nmv_usr_{'z' * 20}")))  # never the secret itself
