"""The backend's GUI words (acceptance line 6): only instructions are translated, and what each one becomes.

click/点击 -> done through the API, open/打开 -> the state read, drag/拖拽 -> an edit (sent at most once, and only
when the backend plainly left it to the user), "preview in timeline" -> the track summary, Export/导出 -> the
export, by default.
"""

from __future__ import annotations

import json
import typing

import pytest
import respx

from nemo_contract import AsyncClient, MessageKind
from nemo_contract._gui import GuiAction, translate
from nemo_contract._summary import format_timeline
from nemo_contract._turns import EDIT_OFFER, EXPORT_OFFER

from .harness import GENERATE, Harness, texts
from .scripted import API, DRAFT, Scripted, adk_text

pytestmark = pytest.mark.anyio

GUI_WORDS = ("click", "Export", "preview", "Preview", "drag", "Drag", "open", "Open", "点击", "导出", "拖拽", "打开")
RENDER = "/api/render/proxy/lambda"


def _client(**options: typing.Any) -> AsyncClient:
    return AsyncClient(base_url=API, sleep=lambda s: None, **options)


def _closing(harness: Harness, turn: int = -1) -> str:
    """The backend's last text of a turn, as it was sent."""
    event = json.loads((harness.journal("POST", "/run_sse")[turn].blocks or [])[-1].removeprefix("data: "))
    text: str = event["content"]["parts"][0]["text"]
    return text


def _retitled(title: str) -> dict[str, typing.Any]:
    draft = json.loads(json.dumps(DRAFT))
    draft["t"][2]["sg"][0]["x"] = title
    return typing.cast(dict[str, typing.Any], draft)


# -- what is an instruction -------------------------------------------------------------------------------------


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
        ('Click "Export" to save it.', "", [GuiAction.EXPORT]),
        ("Click Apply to keep the change.", "", [GuiAction.EDIT]),
        (
            "视频已生成！可以在时间线中预览，满意后点击导出保存。",
            "视频已生成！",
            [GuiAction.EXPORT, GuiAction.TIMELINE],
        ),
        ("打开时间线面板即可查看。", "", [GuiAction.TIMELINE]),
        ("可以拖拽标题调整位置。", "", [GuiAction.EDIT]),
        # the news of a clause stays when the instruction after its semicolon goes
        ("It has 3 tracks now; open the Timeline panel to see them.", "It has 3 tracks now.", [GuiAction.TIMELINE]),
        (
            'Updated! Added the title "Drag Race" (0-3s). Drag the title to reposition it.',
            'Updated! Added the title "Drag Race" (0-3s).',
            [GuiAction.EDIT],
        ),
    ],
)
def test_only_gui_instructions_are_taken_out(text: str, kept: str, actions: list[GuiAction]) -> None:
    translation = translate(text)
    assert translation.text == kept
    assert [action for action, _ in translation.actions] == actions


@pytest.mark.parametrize(
    "text",
    [
        "I added a 10s clip. It is 1.5s longer now.",
        "I can export it once you're happy.",
        'Added the title "Drag Race" (0-2s).',
        "Set the title to 'Open Road'.",
        "标题改成了“拖拽大赛”。",
        "这个开头能提高点击率。",
        "Added a click track. The beat will drop at 3s.",
        "Press play when ready; tap into the rhythm.",
        "I'll open the Timeline panel for you.",
    ],
)
def test_informative_sentences_stay_whatever_words_they_use(text: str) -> None:
    translation = translate(text)
    assert translation.text == text
    assert translation.actions == ()


def test_a_reply_that_says_nothing_changed_is_noticed() -> None:
    assert translate('The title already says "Drag Race". Nothing on the timeline changed.').unchanged
    assert translate("时间线没有变化。").unchanged
    assert not translate('Added the title "Nothing changed" (0-3s).').unchanged  # quoted words are not the news


# -- what each instruction becomes --------------------------------------------------------------------------------


async def test_preview_and_export_words_become_the_summary_and_the_export(harness: Harness) -> None:
    async with harness.client() as client:
        messages = await client.say(GENERATE)
        draft = (await client.state()).draft
    replies = texts(messages, MessageKind.REPLY)
    assert replies
    for reply in replies:
        assert not any(word in reply for word in GUI_WORDS), reply
    backend_words = _closing(harness)
    assert "preview" in backend_words.lower() and "Export" in backend_words  # what was translated
    assert texts(messages, MessageKind.TIMELINE) == [format_timeline(draft)]
    assert len(harness.journal("POST", RENDER)) == 1  # "click Export" ran the export, as the documents say
    assert messages[-1].kind is MessageKind.EXPORT
    assert len(list(harness.folder.glob("render_*.mp4"))) == 1
    assert EXPORT_OFFER not in texts(messages)


async def test_without_auto_export_the_export_is_only_offered(harness: Harness) -> None:
    async with harness.client(auto_export=False) as client:
        messages = await client.say(GENERATE)
    assert "Export" in _closing(harness)
    assert EXPORT_OFFER in texts(messages, MessageKind.NOTICE)
    assert harness.journal("POST", RENDER) == []


async def test_an_export_instruction_does_not_render_the_same_timeline_twice(harness: Harness) -> None:
    async with harness.client() as client:
        first = await client.say(GENERATE)
        again = await client.say("what else can you do?")
    assert "Export" in _closing(harness)  # the help reply says "click Export" too...
    assert len(harness.journal("POST", RENDER)) == 1  # ...but that timeline is already exported
    (path,) = harness.folder.glob("render_*.mp4")
    assert texts(first, MessageKind.EXPORT)[0].startswith(f"✅ Video ready: saved to {path} (")
    assert f"This timeline is already exported: {path}." in texts(again, MessageKind.NOTICE)


async def test_open_reads_the_state_and_shows_the_tracks() -> None:
    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [DRAFT], [[adk_text("Nothing changed. Open the Timeline panel to see the current tracks.")]])
        async with _client() as client:
            messages = await client.say("what is on my timeline?")
    assert texts(messages, MessageKind.REPLY) == ["Nothing changed."]
    assert texts(messages, MessageKind.TIMELINE) == [format_timeline(DRAFT)]


async def test_drag_that_was_left_to_the_user_is_sent_once_as_an_edit() -> None:
    moved = json.loads(json.dumps(DRAFT))
    moved["t"][2]["sg"][0]["st"] = 2000
    turns = [[adk_text("Drag the title to start at 2s.")], [adk_text("Moved the title to 2s. Drag it anywhere.")]]
    with respx.mock(assert_all_called=False) as router:
        backend = Scripted(router, [DRAFT, DRAFT, DRAFT, DRAFT, moved], turns)
        async with _client() as client:
            messages = await client.say("move the title to 2 seconds")
    assert backend.said == ["move the title to 2 seconds", "Drag the title to start at 2s."]
    assert "Moved the title to 2s." in texts(messages, MessageKind.REPLY)
    assert EDIT_OFFER in texts(messages, MessageKind.NOTICE)  # the follow-up's own drag is not followed


async def test_drag_after_a_change_is_only_offered(harness: Harness) -> None:
    async with harness.client() as client:
        await client.say("generate a 10-second video of a city timelapse")
        harness.configure(silent_close_rate=0.0)
        messages = await client.say('add a title "Hello There"')
    assert "Drag the title" in _closing(harness)
    assert EDIT_OFFER in texts(messages, MessageKind.NOTICE)
    assert len(harness.journal("POST", "/run_sse")) == 2


@pytest.mark.parametrize(
    "reply",
    [
        'The title already says "Drag Race". Nothing on the timeline changed.',
        "Nothing on the timeline changed. Drag the title to reposition it.",
        "时间线没有变化。可以拖拽标题调整位置。",
    ],
)
async def test_no_follow_up_turn_when_the_backend_said_nothing_changed(reply: str) -> None:
    with respx.mock(assert_all_called=False) as router:
        backend = Scripted(router, [DRAFT], [[adk_text(reply)], [adk_text("This must never be sent.")]])
        async with _client() as client:
            messages = await client.say('add a title "Drag Race"')
    assert backend.said == ['add a title "Drag Race"']  # one turn: nothing re-sent, no credits spent
    assert "This must never be sent." not in texts(messages)
    assert translate(reply).text in texts(messages, MessageKind.REPLY)


async def test_quoted_gui_words_reach_the_user_and_send_nothing(harness: Harness) -> None:
    """The review's case: a title called "Drag Race", added, then asked for again."""
    async with harness.client() as client:
        await client.say("generate a 10-second video of a city timelapse")
        harness.configure(silent_close_rate=0.0)
        added = await client.say('add a title "Drag Race"')
        again = await client.say('add a title "Drag Race"')
    said = " ".join(texts(added, MessageKind.REPLY))
    assert 'title "Drag Race"' in said or 'title to "Drag Race"' in said  # the news is not taken out
    assert texts(again, MessageKind.REPLY)[0].startswith('The title already says "Drag Race".')
    assert len(harness.journal("POST", "/run_sse")) == 3  # the generation and the two requests, nothing else


async def test_a_follow_up_is_never_sent_after_a_turn_that_changed_the_timeline() -> None:
    turns = [[adk_text('Added the title "Drag Race". Drag the title to reposition it.')], [adk_text("never")]]
    with respx.mock(assert_all_called=False) as router:
        backend = Scripted(router, [DRAFT, _retitled("Drag Race")], turns)
        async with _client() as client:
            messages = await client.say('add a title "Drag Race"')
    assert backend.said == ['add a title "Drag Race"']
    assert texts(messages, MessageKind.REPLY) == ['Added the title "Drag Race".']
    assert EDIT_OFFER in texts(messages, MessageKind.NOTICE)
