"""Turns (acceptance line 6): events as they arrive, GUI translation, heartbeats, silent closes, errors, limits."""

from __future__ import annotations

import json
import typing

import anyio
import httpx
import pytest
import respx

from nemo_contract import AsyncClient, MessageKind, TurnTimeout, format_timeline
from nemo_contract._events import GuiAction, translate
from nemo_contract._turns import EDIT_OFFER, EXPORT_OFFER, STILL_WORKING

from .client_fixtures import GENERATE, Harness, harness_fixture, texts  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio

API = "https://api.example.test"
TOOL_NAMES = ("generate_video_with_seedance", "edit_multitrack", "generate_music", "understand_video")
GUI_WORDS = ("click", "Export", "preview", "Preview", "drag", "Drag", "open", "Open", "点击", "导出", "拖拽", "打开")


# -- a scripted backend (respx) for what the emulator does not say on demand ----------------------------------------


def _ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "message": "success", "data": data})


def _adk_text(text: str) -> bytes:
    event = {"content": {"parts": [{"text": text}], "role": "model"}, "author": "nemo_agent", "id": "x"}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


class Scripted:
    """Token, session, a sequence of states and of turns; records each /run_sse body."""

    def __init__(self, router: respx.MockRouter, drafts: list[dict[str, typing.Any]], turns: list[typing.Any]) -> None:
        self.drafts, self.turns = list(drafts), list(turns)
        self.bodies: list[dict[str, typing.Any]] = []
        router.post(f"{API}/api/auth/anonymous-token").mock(
            return_value=_ok({"token": "nmv_usr_scripted", "user_id": "anon_1", "credits": 100})
        )
        router.post(f"{API}/api/tasks/me/with-session/nemo_agent").mock(
            return_value=_ok({"task_id": "task_1", "session_id": "1000000000000000001", "user_id": "anon_1"})
        )
        router.get(url__regex=rf"{API}/api/state/.*").mock(side_effect=self._state)
        router.post(f"{API}/run_sse").mock(side_effect=self._turn)

    def _state(self, request: httpx.Request) -> httpx.Response:
        draft = self.drafts.pop(0) if len(self.drafts) > 1 else self.drafts[0]
        return _ok({"session_id": "1000000000000000001", "state": {"draft": draft, "video_infos": []}})

    def _turn(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        content = self.turns.pop(0)
        if isinstance(content, list):
            content = _chunks(content)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)


async def _chunks(parts: list[bytes]) -> typing.AsyncIterator[bytes]:
    for part in parts:
        yield part


DRAFT = {
    "t": [
        {"tt": 0, "sg": [{"id": "a", "n": "city timelapse", "st": 0, "d": 10000}]},
        {"tt": 1, "sg": [{"id": "b", "n": "Lo-fi", "st": 0, "d": 10000, "v": 0.35}]},
        {"tt": 7, "sg": [{"id": "c", "n": "Urban Dreams", "st": 0, "d": 3000, "x": "Urban Dreams"}]},
    ],
    "d": 10000,
    "m": {"title": "Urban Dreams", "width": 1920, "height": 1080},
}


def _client(**options: typing.Any) -> AsyncClient:
    return AsyncClient(base_url=API, sleep=lambda s: None, **options)


async def test_events_are_handled_as_they_arrive() -> None:
    release = anyio.Event()

    async def stream() -> typing.AsyncIterator[bytes]:
        yield _adk_text("First part.")
        await release.wait()  # the second event only exists once the first message was handed out
        yield _adk_text("Second part.")

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
    stream = harness.journal("POST", "/run_sse")[0].events or []
    assert any("functionCall" in event for event in stream)
    for message in messages:
        assert not any(name in message.text for name in TOOL_NAMES)
        assert "{" not in message.text


# -- GUI words --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept", "actions"),
    [
        ("Your video is ready! Click Export to save it.", "Your video is ready!", [GuiAction.EXPORT]),
        ("Done! Open the Timeline panel to check it.", "Done!", [GuiAction.TIMELINE]),
        ("Drag the title to 2s.", "", [GuiAction.EDIT]),
        (
            "All set. Preview in timeline, then click the Export button.",
            "All set.",
            [GuiAction.EXPORT, GuiAction.TIMELINE],
        ),
        ("Use the Export button to download it.", "", [GuiAction.EXPORT]),
        ("Click Apply to keep the change.", "", [GuiAction.EDIT]),
        (
            "视频已生成！可以在时间线中预览，满意后点击导出保存。",
            "视频已生成！",
            [GuiAction.EXPORT, GuiAction.TIMELINE],
        ),
        ("打开时间线面板即可查看。", "", [GuiAction.TIMELINE]),
        ("可以拖拽标题调整位置。", "", [GuiAction.EDIT]),
        ("I added a 10s clip. It is 1.5s longer now.", "I added a 10s clip. It is 1.5s longer now.", []),
        ("I can export it once you're happy.", "I can export it once you're happy.", []),
    ],
)
def test_gui_instructions_are_taken_out(text: str, kept: str, actions: list[GuiAction]) -> None:
    translation = translate(text)
    assert translation.text == kept
    assert [action for action, _ in translation.actions] == actions


async def test_preview_and_export_words_become_a_summary_and_an_offer(harness: Harness) -> None:
    async with harness.client() as client:
        messages = await client.say(GENERATE)
        draft = (await client.state()).draft
    replies = texts(messages, MessageKind.REPLY)
    assert replies
    for reply in replies:
        assert not any(word in reply for word in GUI_WORDS), reply
    closing = json.loads((harness.journal("POST", "/run_sse")[0].events or [])[-1].removeprefix("data: "))
    backend_words = closing["content"]["parts"][0]["text"]
    assert "preview" in backend_words.lower() and "Export" in backend_words  # what was translated
    assert texts(messages, MessageKind.TIMELINE) == [format_timeline(draft)]
    assert EXPORT_OFFER in texts(messages, MessageKind.NOTICE)
    assert harness.journal("POST", "/api/render/proxy/lambda") == []


async def test_click_export_runs_the_export_with_auto_export(harness: Harness) -> None:
    async with harness.client(auto_export=True) as client:
        messages = await client.say(GENERATE)
    assert len(harness.journal("POST", "/api/render/proxy/lambda")) == 1
    assert messages[-1].kind is MessageKind.EXPORT
    assert list(harness.folder.glob("render_*.mp4"))


async def test_open_reads_the_state_and_shows_the_tracks() -> None:
    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [DRAFT], [[_adk_text("Nothing changed. Open the Timeline panel to see the current tracks.")]])
        async with _client() as client:
            messages = await client.say("what is on my timeline?")
    assert texts(messages, MessageKind.REPLY) == ["Nothing changed."]
    assert texts(messages, MessageKind.TIMELINE) == [format_timeline(DRAFT)]


async def test_drag_that_was_not_done_is_sent_as_an_edit() -> None:
    moved = json.loads(json.dumps(DRAFT))
    moved["t"][2]["sg"][0]["st"] = 2000
    turns = [[_adk_text("Drag the title to start at 2s.")], [_adk_text("Moved the title to 2s.")]]
    with respx.mock(assert_all_called=False) as router:
        backend = Scripted(router, [DRAFT, DRAFT, DRAFT, DRAFT, moved], turns)
        async with _client() as client:
            messages = await client.say("move the title to 2 seconds")
    sent = [body["new_message"]["parts"][0]["text"] for body in backend.bodies]
    assert sent == ["move the title to 2 seconds", "Drag the title to start at 2s."]
    assert "Moved the title to 2s." in texts(messages, MessageKind.REPLY)


async def test_drag_after_a_change_is_only_offered(harness: Harness) -> None:
    async with harness.client() as client:
        await client.say("generate a 10-second video of a city timelapse")
        harness.configure(silent_close_rate=0.0)
        messages = await client.say('add a title "Hello There"')
    backend_words = json.loads((harness.journal("POST", "/run_sse")[-1].events or [])[-1].removeprefix("data: "))
    assert "Drag the title" in backend_words["content"]["parts"][0]["text"]
    assert EDIT_OFFER in texts(messages, MessageKind.NOTICE)
    assert len(harness.journal("POST", "/run_sse")) == 2


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
        stream = "\n".join(entry.events or [])
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


async def test_the_fifteen_minute_limit(harness: Harness) -> None:
    harness.configure(turn_durations={"generation": [1500, 1500]})
    async with harness.client() as client:
        await client.state()
        started = harness.emulator.clock.now()
        with pytest.raises(TurnTimeout) as raised:
            await client.say("generate a 10-second video of ocean waves")
        assert 900 <= harness.emulator.clock.now() - started < 1200  # not the 1500 s the turn would take
        assert isinstance(raised.value, TimeoutError)
        assert len(harness.journal("POST", "/run_sse")) == 1
        harness.configure(turn_durations={"text": [5, 5]})
        assert await client.say("hello")  # the session is free again: the stream was closed
