"""Reading the user's words: the reply language, quoted phrases, the order of edits, absurd numbers, what each
phrase asks for, and the edits the agent cannot do."""

from __future__ import annotations

import typing

import pytest

from mock_server._agent.reading import read
from nemo_contract._summary import format_timeline

from .helpers import (
    BASE_TIMELINE,
    CJK,
    draft,
    edited,
    language_of,
    plan,
    state,
)

# -- language -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "message", "chinese"),
    [
        ("zh", "hello", True),
        ("zh-TW", "hello", True),
        ("ZH-cn", "hello", True),
        ("en", "你好", False),
        (None, "你好", True),
        ("", "帮我看看", True),
        (None, "hello", False),
        ("fr", "bonjour", False),
    ],
)
def test_language(language: str | None, message: str, chinese: bool) -> None:
    turn = plan(message, language=language)
    assert turn.closing is not None
    assert bool(CJK.search(turn.closing)) is chinese


def test_a_quoted_title_is_never_read_as_a_keyword() -> None:
    after = edited('add title "Remove the music, make it vertical"')
    assert format_timeline(after["draft"]) == BASE_TIMELINE.replace(
        "Urban Dreams", "Remove the music, make it vertical"
    )
    assert after["canvas_config"] == {}


def test_several_edits_apply_in_order() -> None:
    after = edited("add jazz music, trim to 4 seconds and make it square")
    assert format_timeline(after["draft"]) == (
        'Timeline (3 tracks): 1. Video: city timelapse (0-4s) 2. BGM: Jazz (0-4s, 35%) 3. Title: "Urban Dreams" (0-3s)'
    )
    assert after["canvas_config"]["aspect_ratio"] == "1:1"
    base = draft()
    del base["t"][1]
    # Volume before the music finds nothing to change; after it, it does.
    assert "35%" in format_timeline(edited("volume to 50% then add jazz music", base=base)["draft"])
    assert "50%" in format_timeline(edited("add jazz music then volume to 50%", base=base)["draft"])
    turn = plan("remove the music and add a title 'X'", state(draft()))
    assert [op["action"] for op in turn.steps[0].args["operations"]] == ["remove_bgm", "set_title"]


@pytest.mark.parametrize(
    "message",
    [
        "trim to " + "9" * 400 + " seconds",
        "剪到" + "九" * 400 + "秒",
        "volume to " + "9" * 400 + "%",
        "trim to 1e999 seconds",
    ],
)
def test_absurd_numbers_are_harmless(message: str) -> None:
    for session in (state(), state(draft())):
        turn = plan(message, session)
        assert turn.kind == "chat" and turn.closing


def test_absurd_lengths_are_clamped() -> None:
    assert plan("generate a 99999-second video").steps[0].args["duration"] == 60
    assert plan("generate a 0.2s video").steps[0].args["duration"] == 1


# -- what each phrase asks for ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind", "value"),
    [
        ("add subtitles", "subtitles", None),
        ("add captions", "subtitles", None),
        ("加字幕", "subtitles", None),
        ("添加字幕", "subtitles", None),
        ("remove the subtitles", "unsubtitles", None),
        ("删除字幕", "unsubtitles", None),
        ("add a sound effect at the start", "sfx", (None, "start")),
        ("add a whoosh sound effect at the end", "sfx", ("Whoosh", "end")),
        ("在开头加个音效", "sfx", (None, "start")),
        ("在结尾加一个叮的音效", "sfx", ("Ding", "end")),
        ("speed up the first clip", "speed", (0, 2.0)),
        ("speed up the last clip to 3x", "speed", (-1, 3.0)),
        ("speed up the video", "speed", (None, 2.0)),
        ("slow down the second clip", "speed", (1, 0.5)),
        ("slow it down by 4x", "speed", (None, 0.25)),
        ("speed up the video to 10x", "speed", (None, 4.0)),  # clamped to the spec's range
        ("把第一个片段加速", "speed", (0, 2.0)),
        ("第二个片段加速到3倍", "speed", (1, 3.0)),
        ("把最后一个片段减速", "speed", (-1, 0.5)),
        ("remove the title", "untitle", None),
        ("删除标题", "untitle", None),
        ("去掉标题", "untitle", None),
        ("make it black and white", "filter", "grayscale"),
        ("变成黑白", "filter", "grayscale"),
        ("remove the filter", "filter", None),
        ("put the music at 20%", "volume", ("set", 0.2)),
        ("把音乐调到20%", "volume", ("set", 0.2)),
        ("cut the last 2 seconds", "cut_end", 2.0),
        ("剪掉最后2秒", "cut_end", 2.0),
        ("把最后两秒剪掉", "cut_end", 2.0),
    ],
)
def test_each_phrase_is_read_as_one_edit(message: str, kind: str, value: typing.Any) -> None:
    said = read(message, language_of(message))
    assert [(op.kind, op.value) for op in said.ops] == [(kind, value)]
    assert said.unsupported == () and said.strength == 0


@pytest.mark.parametrize(
    ("message", "reading"),
    [
        ('add captions "Hello"', ("title", "Hello")),  # a quoted caption is still a title
        ("加字幕「你好」", ("title", "你好")),
        ("add a caption", ("title", None)),
        ("remove the background music", ("unmusic", None)),  # not a background replacement
        ("speed up 0x", ("speed", (None, 2.0))),  # no factor read: the plain doubling
    ],
)
def test_near_misses_keep_their_old_reading(message: str, reading: tuple[str, typing.Any]) -> None:
    said = read(message, "en")
    assert [(op.kind, op.value) for op in said.ops] == [reading]
    assert said.unsupported == ()


@pytest.mark.parametrize(
    ("message", "unsupported"),
    [
        ("add a 3D hologram", ("effect",)),
        ("make the actor smile", ("face",)),
        ("change the voice", ("voice",)),
        ("replace the sky", ("effect",)),
        ("add a voiceover", ("voice",)),
        ("加一个3D全息投影", ("effect",)),
        ("让演员笑一下", ("face",)),
        ("换个声音", ("voice",)),
        ("change the voice and make the actor smile", ("voice", "face")),
        ("hello", ()),
        ("what can you do?", ()),
        ("make a 3D video", ("effect",)),  # read, but a generation wins (see the planner)
    ],
)
def test_edits_the_agent_cannot_do_are_recognised(message: str, unsupported: tuple[str, ...]) -> None:
    said = read(message, "en")
    assert said.unsupported == unsupported
    assert said.ops == ()
