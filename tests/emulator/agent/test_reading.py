"""Reading the user's words: the reply language, quoted phrases, the order of edits, absurd numbers."""

from __future__ import annotations

import pytest

from nemo_contract._summary import format_timeline

from .helpers import (
    BASE_TIMELINE,
    CJK,
    draft,
    edited,
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
