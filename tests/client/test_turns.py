"""Turns (acceptance line 6): events as they arrive, heartbeats, silent closes, errors, the 15-minute limit.

The GUI words of the backend's replies have their own file (``test_client_gui``).
"""

from __future__ import annotations

import threading
import typing

import anyio
import pytest
import respx

from nemo_contract import AsyncClient, MessageKind, TurnTimeout
from nemo_contract._turns import STILL_WORKING

from .harness import GENERATE, Harness, texts
from .scripted import API, DRAFT, Scripted, adk_text

pytestmark = pytest.mark.anyio

TOOL_NAMES = ("generate_video_with_seedance", "edit_multitrack", "generate_music", "understand_video")


def _client(**options: typing.Any) -> AsyncClient:
    return AsyncClient(base_url=API, sleep=lambda s: None, **options)


async def test_events_are_handled_as_they_arrive() -> None:
    release = anyio.Event()

    async def stream() -> typing.AsyncIterator[bytes]:
        yield adk_text("First part.")
        await release.wait()  # the second event only exists once the first message was handed out
        yield adk_text("Second part.")

    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [DRAFT], [stream()])
        seen = []
        async with _client() as client:
            with anyio.fail_after(5):
                async for message in client.aiter_turn("hello"):
                    if message.kind is MessageKind.REPLY:
                        seen.append(message.text)
                    if message.text == "First part.":
                        release.set()
    assert seen == ["First part.", "Second part."]


async def test_tool_calls_stay_internal(harness: Harness) -> None:
    async with harness.client() as client:
        messages = await client.say(GENERATE)
    stream = harness.journal("POST", "/run_sse")[0].blocks or []
    assert any("functionCall" in event for event in stream)
    for message in messages:
        assert not any(name in message.text for name in TOOL_NAMES)
        assert "{" not in message.text


# -- heartbeats -------------------------------------------------------------------------------------------------

KNOBS = [(f, h) for f in ("adk", "typed") for h in ("empty", "comment", "json")]


@pytest.mark.parametrize(("event_format", "heartbeat"), KNOBS)
async def test_still_working_at_most_every_two_minutes(harness: Harness, event_format: str, heartbeat: str) -> None:
    harness.configure(event_format=event_format, heartbeat=heartbeat, turn_durations={"generation": [400, 400]})
    readings: list[float] = []

    def clock() -> float:  # the time the client last read is the time it decided to show a message
        readings.append(harness.emulator.clock.now())
        return readings[-1]

    arrivals: list[tuple[float, str]] = []
    async with harness.client(clock=clock) as client:
        await client.state()
        async for message in client.aiter_turn("generate a 10-second video of ocean waves"):
            arrivals.append((readings[-1], message.text))
    notices = [index for index, (_, text) in enumerate(arrivals) if text == STILL_WORKING]
    assert len(notices) >= 2
    for index in notices:
        assert arrivals[index][0] - arrivals[index - 1][0] >= 120  # two minutes since the user last saw anything
    assert arrivals[-1][1] != STILL_WORKING


async def test_no_still_working_for_short_turns(harness: Harness) -> None:
    harness.configure(turn_durations={"generation": [100, 110]})
    async with harness.client() as client:
        messages = await client.say("generate a 10-second video of ocean waves")
    assert STILL_WORKING not in texts(messages)


@pytest.mark.parametrize(("event_format", "heartbeat"), KNOBS)
async def test_every_knob_gives_the_same_conversation(harness: Harness, event_format: str, heartbeat: str) -> None:
    harness.configure(event_format=event_format, heartbeat=heartbeat, turn_durations={"generation": [100, 100]})
    async with harness.client() as client:
        generated = await client.say("generate a 10-second video of a city timelapse without music")
        harness.configure(silent_close_rate=1.0)
        edited = await client.say("add lo-fi music")
    assert texts(generated, MessageKind.REPLY)[0].startswith(("Sure", "On it", "Starting"))
    assert texts(generated, MessageKind.TIMELINE)
    assert texts(edited, MessageKind.CHANGES) == ["Updated the timeline:\nAdded track: BGM: Lo-fi (0-10s, 35%)"]


# -- silent closes, errors, limits ------------------------------------------------------------------------------


async def test_a_silent_close_is_described_from_the_state(harness: Harness) -> None:
    async with harness.client() as client:
        await client.say("generate a 10-second video of a city timelapse without music")
        harness.configure(silent_close_rate=1.0)
        before = len(harness.journal("GET", "/api/state/*"))
        music = await client.say("add lo-fi music")
        trimmed = await client.say("trim it to 8 seconds")
        vertical = await client.say("make it vertical 9:16")
    assert texts(music) == ["Updated the timeline:\nAdded track: BGM: Lo-fi (0-10s, 35%)"]
    assert "Duration: 10s -> 8s" in texts(trimmed)[0]
    assert "Changed track: BGM: Lo-fi (0-10s, 35%) -> BGM: Lo-fi (0-8s, 35%)" in texts(trimmed)[0]
    assert "Size: 1920x1080 -> 1080x1920" in texts(vertical)[0]
    for entry in harness.journal("POST", "/run_sse")[1:]:
        stream = "\n".join(entry.blocks or [])
        assert '"text"' not in stream  # the backend really said nothing
    assert len(harness.journal("GET", "/api/state/*")) - before == 6  # before and after each turn


async def test_a_silent_close_that_changed_nothing_is_said() -> None:
    slept: list[float] = []
    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [DRAFT], [[b"data:\n\n", b": ping\n\n"]])
        async with AsyncClient(base_url=API, sleep=slept.append) as client:
            messages = await client.say("add some sparkle")
            polls = [call for call in router.calls if "/api/state/" in str(call.request.url)]
    assert texts(messages)[1:] == ["The backend finished without a reply and nothing changed."]
    assert len(polls) == 1 + 3  # before the turn, then three reads 10 s apart
    assert slept == [10.0, 10.0]


async def test_a_cut_stream_is_treated_as_a_silent_close(harness: Harness) -> None:
    async with harness.client() as client:
        await client.say("generate a 10-second video of a city timelapse without music")
        harness.faults({"path": "/run_sse", "cut_after": 2})
        messages = await client.say("add lo-fi music")
    assert texts(messages, MessageKind.CHANGES) == ["Updated the timeline:\nAdded track: BGM: Lo-fi (0-10s, 35%)"]
    assert len(harness.journal("POST", "/run_sse")) == 2


# -- the 15-minute limit: a deadline on the injected clock, whatever the stream does --------------------------------

#: The documents' limit, written out: a turn's stream may run "15 min".
FIFTEEN_MINUTES = 900.0


class Clock:
    """An injected clock that the backend scripts below move: no real time passes."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self._jump: float | None = None

    def jump_after_next_reading(self, seconds: float) -> None:
        """The next reading is the time now; every later one is ``seconds`` on."""
        self._jump = seconds

    def __call__(self) -> float:
        reading = self.now
        if self._jump is not None:
            self.now, self._jump = self.now + self._jump, None
        return reading


async def test_the_fifteen_minute_limit_with_the_emulator(harness: Harness) -> None:
    # on_disconnect=cancel: the turn stops when the client gives up on it, so its session is free at once.
    harness.configure(turn_durations={"generation": [1500, 1500]}, on_disconnect="cancel")
    async with harness.client() as client:
        await client.state()
        started = harness.emulator.clock.now()
        with pytest.raises(TurnTimeout) as raised:
            await client.say("generate a 10-second video of ocean waves")
        assert harness.emulator.clock.now() - started >= FIFTEEN_MINUTES
        assert str(raised.value) == "The backend did not finish within 15 minutes"
        assert isinstance(raised.value, TimeoutError)
        assert len(harness.journal("POST", "/run_sse")) == 1
        harness.configure(turn_durations={"text": [5, 5]})
        assert await client.say("hello")  # the session is free again: the stream was closed


@pytest.mark.parametrize(("last", "times_out"), [(FIFTEEN_MINUTES - 0.5, False), (FIFTEEN_MINUTES, True)])
async def test_the_limit_is_exactly_fifteen_minutes(last: float, times_out: bool) -> None:
    clock = Clock()
    opened: list[float] = []

    async def stream() -> typing.AsyncIterator[bytes]:
        opened.append(clock.now)
        clock.now += 600
        yield adk_text("Ten minutes in.")
        clock.now = opened[0] + last
        yield adk_text("The last words.")

    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [DRAFT], [stream()])
        async with _client(clock=clock) as client:
            seen: list[str] = []
            with anyio.fail_after(10):  # a guard only: nothing here waits
                try:
                    async for message in client.aiter_turn("make it longer"):
                        if message.kind is MessageKind.REPLY:
                            seen.append(message.text)
                except TurnTimeout:
                    seen.append("<timeout>")
    assert seen[0] == "Ten minutes in."
    assert seen[1:] == (["<timeout>"] if times_out else ["The last words."])


async def test_a_stalled_stream_ends_at_the_deadline() -> None:
    """A stream that stops sending (no heartbeat either) ends when the turn's 15 minutes are up, not a read timeout
    later: each read waits only for the time the turn has left."""
    clock = Clock()
    closed = anyio.Event()

    async def stall() -> typing.AsyncIterator[bytes]:
        try:
            clock.now += FIFTEEN_MINUTES - 0.01  # the backend worked 14:59.99, sent a heartbeat, then went quiet
            yield b"data:\n\n"
            await anyio.sleep_forever()
            yield b"never"
        finally:
            closed.set()

    with respx.mock(assert_all_called=False) as router:
        backend = Scripted(router, [DRAFT], [stall()])
        async with _client(clock=clock) as client:
            with anyio.fail_after(10), pytest.raises(TurnTimeout):  # the guard fails a client that waits on
                await client.say("add some sparkle")
            assert closed.is_set()  # the stream was given up
    assert len(backend.bodies) == 1


async def test_a_stalled_stream_ends_at_the_deadline_with_the_sync_client() -> None:
    """The same over a real socket: the synchronous client cuts the connection when the time is up."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    from nemo_contract import Client
    from nemo_contract.testing import serve

    clock = Clock()
    gone = threading.Event()  # set in the server's thread
    token = {"token": "nmv_usr_stall", "user_id": "anon_1"}

    async def nothing() -> typing.AsyncIterator[bytes]:
        try:
            await anyio.sleep_forever()
            yield b"never"
        finally:
            gone.set()

    def envelope(data: object) -> JSONResponse:
        return JSONResponse({"code": 0, "message": "success", "data": data})

    async def run_sse(request: typing.Any) -> StreamingResponse:
        # The client reads the clock once when the stream opens; by its next reading 14:59.99 have passed.
        clock.jump_after_next_reading(FIFTEEN_MINUTES - 0.01)
        return StreamingResponse(nothing(), media_type="text/event-stream")

    app = Starlette(
        routes=[
            Route("/api/auth/anonymous-token", lambda r: envelope(token), methods=["POST"]),
            Route("/api/tasks/me/with-session/nemo_agent", lambda r: envelope({"session_id": "1"}), methods=["POST"]),
            Route("/api/state/nemo_agent/me/1/latest", lambda r: envelope({"state": {"draft": DRAFT}})),
            Route("/run_sse", run_sse, methods=["POST"]),
        ]
    )

    def turn(url: str) -> str:
        with Client(base_url=url, clock=clock, sleep=lambda s: None) as client:
            try:
                client.say("add some sparkle")
            except TurnTimeout as error:
                return str(error)
        return "no timeout"

    with serve(app) as url:
        with anyio.fail_after(10):  # a guard only
            outcome = await anyio.to_thread.run_sync(turn, url, abandon_on_cancel=True)
        assert outcome == "The backend did not finish within 15 minutes"
        assert await anyio.to_thread.run_sync(gone.wait, 10)  # the server saw the client go
