"""No token and no raw API response reaches the user's output or the logs (acceptance line 8)."""

from __future__ import annotations

import logging
import re
import typing

import anyio
import pytest

from nemo_contract import Message, NemoError

from ..client.harness import GENERATE, Harness, LiveHarness

pytestmark = pytest.mark.anyio

#: What a raw answer would look like in text: an envelope, an event, or any JSON object.
RAW = re.compile(r'\{"|"code"|"data"|"content"|"parts"|functionCall|stateDelta|"success"')


def _client_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The client side's log lines (the in-process emulator's own loggers are the server's business)."""
    client_side = ("nemo_contract", "httpx", "httpcore")
    return [r.getMessage() for r in caplog.records if r.name.split(".")[0] in client_side]


def _check(texts: list[str], tokens: typing.Iterable[str]) -> None:
    secrets = [t for t in tokens if t]
    assert secrets
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert "nmv_usr_" not in text
        assert not RAW.search(text), text


async def _every_flow(
    run: typing.Callable[..., typing.Awaitable[typing.Any]], world: Harness | LiveHarness
) -> list[str]:
    """Drive every kind of request and failure; return every text a user or a log could see."""
    seen: list[str] = []

    async def attempt(name: str, *args: typing.Any) -> None:
        try:
            result = await run(name, *args)
        except NemoError as error:
            seen.extend([str(error), error.advice, error.user_text(), repr(error)])
        else:
            if isinstance(result, list):
                seen.extend(str(getattr(item, "text", item)) for item in result)
            elif result is not None:
                seen.append(str(getattr(result, "text", result)))

    await attempt("handle", "credits")
    for code, path in ((1001, "/api/credits/*"), (1002, "/api/state/*"), (429, "/api/credits/*")):
        world.faults({"path": path, "code": code, "times": 1})
        await attempt("handle", "credits" if "credits" in path else "status")
    world.faults()
    await attempt("upload", world.clip())
    await attempt("handle", GENERATE)
    world.configure(silent_close_rate=1.0)
    await attempt("handle", "make the music louder")
    await attempt("handle", "status")
    world.faults({"path": "/run_sse", "error_after": 1})
    await attempt("handle", "add a title 'Broken'")
    world.faults({"path": "/api/upload-video/*", "code": 4002})
    await attempt("upload", world.clip("second"))
    notes = world.folder / "notes.txt"
    notes.write_text("text")
    world.faults()
    await attempt("upload", notes)
    await attempt("handle", "export")
    for user in list(world.emulator.store.accounts):
        world.account(user, available=0, export_allowed=False)
    await attempt("handle", GENERATE)
    await attempt("handle", "export")
    world.faults({"path": "/api/credits/*", "code": 1001, "times": 2})
    await attempt("handle", "credits")
    joined = "\n".join(seen)
    for proof in ("?bind=anon_", "Accepted formats", "compress", "subscription tier", "agent run failed", "Timeline ("):
        assert proof in joined  # every flow above really ran
    return seen


async def test_no_secret_in_output_or_logs_in_process(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[Message] = []
    async with harness.client(on_message=messages.append) as client:

        async def run(name: str, *args: typing.Any) -> typing.Any:
            method = getattr(client, name)
            if name == "handle":
                found = [m async for m in client.aiter_handle(*args)]
                messages.extend(found)
                return found
            return await method(*args)

        seen = await _every_flow(run, harness)
    logs = _client_logs(caplog)
    assert any("POST /run_sse" in line for line in logs)  # requests are logged, by method and path
    tokens = [t.value for t in harness.emulator.store.tokens.values()]
    _check(seen + [m.text for m in messages] + logs, tokens)


@pytest.mark.live
async def test_no_secret_in_output_or_logs_live(live_harness: LiveHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[Message] = []
    client = live_harness.client(on_message=messages.append)

    async def run(name: str, *args: typing.Any) -> typing.Any:
        if name == "handle":
            found = await anyio.to_thread.run_sync(lambda: list(client.iter_handle(*args)))
            messages.extend(found)
            return found
        return await anyio.to_thread.run_sync(lambda: getattr(client, name)(*args))

    try:
        seen = await _every_flow(run, live_harness)
    finally:
        client.close()
    logs = _client_logs(caplog)
    tokens = [t.value for t in live_harness.emulator.store.tokens.values()]
    _check(seen + [m.text for m in messages] + logs, tokens)
