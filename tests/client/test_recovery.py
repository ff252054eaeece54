"""Recovery and typed errors (acceptance line 4), with the emulator's faults forcing every code.

The envelope's code decides, so every test runs under both ``status_mode`` knobs; the basic recoveries also run
with the synchronous client against the live emulator.
"""

from __future__ import annotations

import functools
import typing

import anyio
import httpx
import pytest
import respx

from nemo_contract import (
    AsyncClient,
    AuthenticationError,
    Code,
    Conflict,
    ExportBlocked,
    FileTooLarge,
    Message,
    MessageKind,
    OutOfCredits,
    RateLimited,
    SessionNotFound,
    UnsupportedFileType,
)
from nemo_contract.protocol import ACCEPTED_FORMATS_TEXT, HTTP_STATUS, MAX_UPLOAD_BYTES

from .harness import GENERATE, Harness, LiveHarness
from .scripted import API, DRAFT, ok

pytestmark = pytest.mark.anyio

CREDITS = "/api/credits/balance/simple"
STATE = "/api/state/nemo_agent/*/latest"
UPLOAD = "/api/upload-video/nemo_agent/*"

STATUS_MODES = pytest.mark.parametrize("status_mode", ["http", "always200"])


class Driver:
    """One test body for both clients: the async one in-process, or the sync one (in a thread) over HTTP."""

    def __init__(self, world: Harness | LiveHarness, **options: typing.Any) -> None:
        self.world = world
        self.messages: list[Message] = []
        self.client = world.client(on_message=self.messages.append, **options)

    async def __call__(self, name: str, *args: typing.Any) -> typing.Any:
        method = getattr(self.client, name)
        if isinstance(self.world, LiveHarness):
            return await anyio.to_thread.run_sync(functools.partial(method, *args))
        return await method(*args)

    async def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            await self.client.aclose()
        else:
            self.client.close()


@pytest.fixture(params=[pytest.param("inprocess"), pytest.param("live", marks=pytest.mark.live)])
async def driver(request: pytest.FixtureRequest) -> typing.AsyncIterator[Driver]:
    world = request.getfixturevalue("harness" if request.param == "inprocess" else "live_harness")
    found = Driver(world)
    yield found
    await found.close()


def _codes(world: Harness | LiveHarness, method: str, path: str) -> list[int | None]:
    return [entry.code for entry in world.journal(method, path)]


def _statuses(world: Harness | LiveHarness, method: str, path: str) -> list[int | None]:
    return [entry.status for entry in world.journal(method, path)]


@STATUS_MODES
async def test_1001_gets_a_new_token_and_retries_once(driver: Driver, status_mode: str) -> None:
    driver.world.configure(status_mode=status_mode)
    await driver("credits")  # setup first, so the fault hits the request under test
    driver.world.faults({"path": CREDITS, "code": 1001, "times": 1})
    credits = await driver("credits")
    assert credits.available == 100
    assert _codes(driver.world, "GET", CREDITS) == [0, 1001, 0]
    expected = 200 if status_mode == "always200" else HTTP_STATUS[Code.TOKEN_INVALID]
    assert _statuses(driver.world, "GET", CREDITS)[1] == expected
    assert len(driver.world.journal("POST", "/api/auth/anonymous-token")) == 2


async def test_an_expired_token_is_replaced_and_the_session_kept(harness: Harness) -> None:
    driver = Driver(harness)
    await driver("state")
    old_token, session = driver.client.credentials.token, driver.client.credentials.session_id
    user = driver.client.credentials.user_id or ""
    for token in harness.emulator.store.tokens.values():
        if token.user_id == user:
            token.expires_at = harness.emulator.clock.now() - 1
    await driver("state")
    assert driver.client.credentials.token != old_token
    assert driver.client.credentials.session_id == session  # same anonymous user, same session
    assert _codes(harness, "GET", STATE) == [0, 1001, 0]
    await driver.close()


@STATUS_MODES
async def test_1002_creates_a_new_session_and_retries_once(driver: Driver, status_mode: str) -> None:
    driver.world.configure(status_mode=status_mode)
    await driver("state")
    first = driver.client.credentials.session_id
    driver.world.faults({"path": STATE, "code": 1002, "times": 1})
    snapshot = await driver("state")
    assert snapshot.session_id != first
    assert driver.client.credentials.session_id == snapshot.session_id
    assert _codes(driver.world, "GET", STATE) == [0, 1002, 0]
    assert len(driver.world.journal("POST", "/api/tasks/*/with-session/nemo_agent")) == 2
    notices = [m.text for m in driver.messages if m.kind is MessageKind.NOTICE]
    assert any("new one was started" in text for text in notices)


async def test_an_unknown_saved_session_is_replaced(harness: Harness) -> None:
    from nemo_contract import Credentials

    async with harness.client() as client:
        await client.state()
        saved = Credentials(
            client_id=client.credentials.client_id, token=client.credentials.token, session_id="1234567890123456789"
        )
    async with harness.client(credentials=saved) as client:
        await client.state()
        assert client.credentials.session_id != "1234567890123456789"
    assert _codes(harness, "GET", STATE)[-2:] == [1002, 0]


@STATUS_MODES
@pytest.mark.parametrize("retry_after", [30, 7])
async def test_429_waits_retry_after_then_retries_once(driver: Driver, status_mode: str, retry_after: int) -> None:
    driver.world.configure(status_mode=status_mode, retry_after=retry_after)
    await driver("credits")
    driver.world.faults({"path": CREDITS, "code": 429, "times": 1})
    await driver("credits")
    assert driver.world.sleeps == [retry_after]
    assert _codes(driver.world, "GET", CREDITS) == [0, 429, 0]


@STATUS_MODES
@pytest.mark.parametrize(
    ("code", "error", "path"),
    [(1001, AuthenticationError, CREDITS), (1002, SessionNotFound, STATE), (429, RateLimited, CREDITS)],
)
async def test_never_more_than_one_retry(
    harness: Harness, status_mode: str, code: int, error: type[Exception], path: str
) -> None:
    harness.configure(status_mode=status_mode)
    driver = Driver(harness)
    operation = "credits" if path == CREDITS else "state"
    await driver(operation)
    harness.faults({"path": path, "code": code, "times": 2})
    with pytest.raises(error) as raised:
        await driver(operation)
    assert getattr(raised.value, "code", None) == code
    assert _codes(harness, "GET", path)[-2:] == [code, code]
    assert len(harness.journal("GET", path)) == 3  # the setup call, then one try and one retry
    await driver.close()


@STATUS_MODES
@pytest.mark.parametrize("code", [1001, 1002, 429])
async def test_a_turn_refused_before_it_starts_is_tried_once_more(
    harness: Harness, status_mode: str, code: int
) -> None:
    harness.configure(status_mode=status_mode)
    async with harness.client() as client:
        await client.state()
        harness.faults({"path": "/run_sse", "code": code, "times": 1})
        messages = await client.say("hello, what can you do?")
    assert [m for m in messages if m.kind is MessageKind.REPLY]
    assert _codes(harness, "POST", "/run_sse") == [code, None]  # the refused one, then the only turn (a stream)
    streams = [e for e in harness.journal("POST", "/run_sse") if e.events is not None]
    assert len(streams) == 1


@STATUS_MODES
async def test_a_turn_that_failed_mid_stream_is_never_sent_again(harness: Harness, status_mode: str) -> None:
    harness.configure(status_mode=status_mode)
    seen, failure = await harness.failed_turn({"path": "/run_sse", "error_after": 1})
    assert "agent run failed" in str(failure)
    assert "Nothing was sent again" in failure.advice
    assert [m.kind for m in seen][:1] == [MessageKind.REPLY]  # what arrived before the error was shown
    assert len(harness.journal("POST", "/run_sse")) == 1


async def test_a_turn_of_a_busy_session_is_not_retried(harness: Harness) -> None:
    async with harness.client() as client:
        await client.state()
        harness.faults({"path": "/run_sse", "code": 409, "times": 1})
        with pytest.raises(Conflict):
            await client.say("hello")
    assert _codes(harness, "POST", "/run_sse") == [409]


@STATUS_MODES
async def test_2001_gives_anonymous_users_the_register_link(driver: Driver, status_mode: str) -> None:
    driver.world.configure(status_mode=status_mode)
    await driver("state")
    user = driver.client.credentials.user_id or ""
    driver.world.account(user, available=0)
    with pytest.raises(OutOfCredits) as raised:
        await driver("say", GENERATE)
    assert raised.value.code == Code.INSUFFICIENT_CREDITS
    assert raised.value.register_url is not None
    assert raised.value.register_url.endswith(f"?bind={user}")
    assert raised.value.register_url in raised.value.advice
    assert len(driver.world.journal("POST", "/run_sse")) == 1  # 2001 is not retried


@STATUS_MODES
async def test_2001_tells_registered_users_to_top_up(harness: Harness, status_mode: str) -> None:
    harness.configure(status_mode=status_mode)
    async with harness.client() as client:
        await client.state()
        harness.account(client.credentials.user_id or "", available=0, registered=True)
        with pytest.raises(OutOfCredits) as raised:
            await client.say(GENERATE)
    assert raised.value.register_url is None
    assert "Top up" in raised.value.advice


@STATUS_MODES
async def test_4001_shows_the_accepted_formats(harness: Harness, status_mode: str) -> None:
    harness.configure(status_mode=status_mode)
    notes = harness.folder / "notes.txt"
    notes.write_text("not media")
    async with harness.client() as client:
        with pytest.raises(UnsupportedFileType) as raised:
            await client.upload(notes)
    assert isinstance(raised.value, ValueError)
    assert ACCEPTED_FORMATS_TEXT in raised.value.advice
    assert str(raised.value) == "That file type is not supported: notes.txt"  # which file it was
    assert _codes(harness, "POST", UPLOAD) == [4001]


async def test_4001_names_the_rejected_file_among_several(harness: Harness) -> None:
    notes = harness.folder / "notes.txt"
    notes.write_text("not media")
    async with harness.client() as client:
        with pytest.raises(UnsupportedFileType) as raised:
            await client.upload(harness.clip(), notes)
    assert str(raised.value).endswith(": notes.txt")


@STATUS_MODES
async def test_4002_suggests_compressing_or_trimming(harness: Harness, status_mode: str) -> None:
    harness.configure(status_mode=status_mode)
    async with harness.client() as client:
        await client.state()
        harness.faults({"path": UPLOAD, "code": 4002})
        with pytest.raises(FileTooLarge) as raised:
            await client.upload(harness.clip())
    assert "compress" in raised.value.advice
    assert "trim" in raised.value.advice
    assert str(raised.value) == "That file is too large: city_timelapse.mp4"
    assert _codes(harness, "POST", UPLOAD) == [4002]


async def test_a_file_over_500_mb_is_refused_before_sending(harness: Harness) -> None:
    big = harness.folder / "huge.mp4"
    with big.open("wb") as out:
        out.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no disk used
    assert big.stat().st_size > MAX_UPLOAD_BYTES
    async with harness.client() as client:
        with pytest.raises(FileTooLarge):
            await client.upload(big)
    assert harness.journal("POST", UPLOAD) == []


@STATUS_MODES
async def test_402_is_the_plan_not_credits(harness: Harness, status_mode: str) -> None:
    harness.configure(status_mode=status_mode)
    async with harness.client(auto_export=False) as client:
        await client.say("generate a 5-second video of ocean waves")
        harness.account(client.credentials.user_id or "", export_allowed=False)
        with pytest.raises(ExportBlocked) as raised:
            await client.export()
    assert isinstance(raised.value, PermissionError)
    assert "not credits" in raised.value.advice
    assert _codes(harness, "POST", "/api/render/proxy/lambda") == [402]


# -- what a recovery changes, and the advice when it fails --------------------------------------------------------


async def test_a_turn_moved_to_a_new_session_is_compared_with_that_session() -> None:
    """1002 on /run_sse: the turn goes to a new (empty) session; a silent close there changed nothing, whatever
    the old session held."""
    session_gone = httpx.Response(404, json={"code": 1002, "message": "session not found", "data": None})
    silent = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"data:\n\n")
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{API}/api/auth/anonymous-token").mock(return_value=ok({"token": "t", "user_id": "anon_1"}))
        router.post(f"{API}/api/tasks/me/with-session/nemo_agent").mock(
            side_effect=[ok({"session_id": "1"}), ok({"session_id": "2"})]
        )
        router.get(f"{API}/api/state/nemo_agent/me/1/latest").mock(return_value=ok({"state": {"draft": DRAFT}}))
        router.get(f"{API}/api/state/nemo_agent/me/2/latest").mock(return_value=ok({"state": {"draft": {}}}))
        router.post(f"{API}/run_sse").mock(side_effect=[session_gone, silent])
        async with AsyncClient(base_url=API, sleep=lambda s: None) as client:
            await client.state()
            messages = [m.text for m in await client.say("add some sparkle")]
    assert not any("Removed track" in text for text in messages), messages
    assert messages[-1] == "The backend finished without a reply and nothing changed."


async def test_a_refused_token_from_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = httpx.Response(401, json={"code": 1001, "message": "token expired or invalid", "data": None})
    for env_token in ("nmv_usr_from_env", None):
        if env_token:
            monkeypatch.setenv("NEMO_TOKEN", env_token)
        else:
            monkeypatch.delenv("NEMO_TOKEN", raising=False)
        with respx.mock(assert_all_called=False) as router:
            router.post(f"{API}/api/auth/anonymous-token").mock(return_value=ok({"token": "t2", "user_id": "anon"}))
            router.post(f"{API}/api/tasks/me/with-session/nemo_agent").mock(return_value=ok({"session_id": "1"}))
            router.get(f"{API}/api/credits/balance/simple").mock(return_value=refused)
            async with AsyncClient(base_url=API, sleep=lambda s: None) as client:
                with pytest.raises(AuthenticationError) as raised:
                    await client.credits()
        if env_token:
            assert "NEMO_TOKEN" in raised.value.advice
        else:
            assert "NEMO_TOKEN" not in raised.value.user_text()  # it is not set: no advice about it
        assert env_token is None or env_token not in raised.value.user_text()


async def test_a_session_that_cannot_be_found_twice_gives_advice_that_fits(harness: Harness) -> None:
    async with harness.client() as client:
        await client.state()
        harness.faults({"path": STATE, "code": 1002, "times": 2})
        with pytest.raises(SessionNotFound) as raised:
            await client.state()
    assert "Start a new session" not in raised.value.advice  # the client already did, and the CLI has no such step
    assert "try again" in raised.value.advice
