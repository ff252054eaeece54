"""One retry per error code, so one recovery may lead to the next (found by ClientMachine).

After a week unused the token has expired and so has the session. The client gets 1001, renews its token (the
same client id gets the same user back, and its session id is kept), then meets 1002 for the expired session:
that one is recovered too (a new session, then the request again). A code seen twice still raises.
"""

from __future__ import annotations

import pytest

from nemo_contract import AuthenticationError, Code, MessageKind
from nemo_contract.protocol import TOKEN_LIFETIME

from .harness import Harness, texts

pytestmark = pytest.mark.anyio


def _codes(harness: Harness) -> list[tuple[str, int | None]]:
    return [(e.path.split("/")[2] if e.path.startswith("/api/") else e.path, e.code) for e in harness.journal()]


async def test_a_week_unused_renews_the_token_then_the_session(harness: Harness) -> None:
    async with harness.client() as client:
        await client.state()
        session = client.credentials.session_id
        harness.emulator.clock.advance(TOKEN_LIFETIME)
        messages = await client.say("add background music")
    assert client.credentials.session_id != session
    assert texts(messages, MessageKind.NOTICE)[0] == (
        "The previous editing session could not be found, so a new one was started."
    )
    assert texts(messages, MessageKind.REPLY)  # the turn ran, in the new session
    assert _codes(harness)[3:] == [
        ("state", Code.TOKEN_INVALID),
        ("auth", Code.SUCCESS),  # the same user's new token...
        ("state", Code.SESSION_NOT_FOUND),  # ...meets the expired session
        ("tasks", Code.SUCCESS),
        ("state", Code.SUCCESS),
        ("/run_sse", None),
    ]


async def test_a_turn_after_a_reset_starts_afresh(harness: Harness) -> None:
    async with harness.client() as client:
        await client.say("generate a 10-second video of ocean waves")
        harness.emulator.reset()
        messages = await client.say("add background music")
    assert texts(messages, MessageKind.REPLY)
    assert [code for _, code in _codes(harness)][:3] == [Code.TOKEN_INVALID, Code.SUCCESS, Code.SUCCESS]


async def test_the_same_code_twice_still_raises(harness: Harness) -> None:
    async with harness.client() as client:
        await client.state()
        harness.emulator.clock.advance(TOKEN_LIFETIME)
        harness.faults({"path": "/api/state/*", "code": 1001, "times": 2})
        with pytest.raises(AuthenticationError):
            await client.state()
    assert [code for path, code in _codes(harness) if path == "state"][1:] == [1001, 1001]
