"""The wording of replies: the GUI words a client acts on, and what an edit's closing says."""

from __future__ import annotations

import pytest

from mock_server._agent import draft_ops, wording

from .helpers import (
    CJK,
    draft,
    plan,
    state,
)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("language", ["en", "zh"])
def test_generation_closing_names_the_gui_actions(seed: int, language: str) -> None:
    turn = plan("generate a video", seed=seed, language=language)
    assert turn.opening and turn.closing
    if language == "zh":
        assert "在时间线中预览" in turn.closing and "导出" in turn.closing
    else:
        assert "preview in timeline" in turn.closing.lower() and "Export" in turn.closing


@pytest.mark.parametrize("language", ["en", "zh"])
def test_edit_closing_says_what_changed(language: str) -> None:
    turn = plan("add jazz music" if language == "en" else "加点爵士音乐", state(draft()), language=language)
    assert turn.opening is None and turn.closing
    assert "Jazz" in turn.closing and "35%" in turn.closing


def test_generation_and_chat_always_talk() -> None:
    for seed in range(50):
        assert plan("generate a video", seed=seed, rate=1.0).closing
        assert plan("hello", state(draft()), seed=seed, rate=1.0).closing


# -- the table ----------------------------------------------------------------------------------------------------


def _one_sided(table: dict[tuple[str, str], tuple[str, ...]]) -> set[str]:
    """Wording keys that lack one of the two languages."""
    keys = {key for key, _ in table}
    return {key for key in keys if not (table.get((key, "en")) and table.get((key, "zh")))}


def test_every_wording_speaks_both_languages() -> None:
    assert _one_sided(wording._SAY) == set()
    broken = wording._read_wordings("sfx/en added a sound effect\nsfx/en put in a sound effect\n")
    assert _one_sided(broken) == {"sfx"}


def test_every_fact_an_operation_states_has_a_wording() -> None:
    keys = {key for key, _ in wording._SAY}
    assert keys >= draft_ops._CHANGES
    notes = {"no_title", "no_video_subtitles", "same_subtitles", "no_subtitles", "cut_too_long", "no_clip"}
    notes |= {"same_speed", "speed_too_long", "no_video_filter", "same_filter", "no_filter"}
    notes |= {"unsupported_effect", "unsupported_face", "unsupported_voice"}
    assert {"note_" + key for key in notes} <= keys


@pytest.mark.parametrize(
    ("message", "english", "chinese"),
    [
        ("add subtitles|加字幕", "4 ", "4行字幕"),
        ("add a whoosh sound effect at the start|在开头加一个嗖的音效", '"Whoosh" sound effect', "“Whoosh”音效"),
        ("speed up the first clip|把第一个片段加速", "2x", "2倍"),
        ("remove the title|删除标题", '"Urban Dreams"', "“Urban Dreams”"),
        ("make it black and white|变成黑白", "black-and-white", "黑白"),
        ("put the music at 20%|把音乐调到20%", "20%", "20%"),
        ("cut the last 2 seconds|剪掉最后2秒", "8s", "8秒"),
    ],
)
def test_an_edit_closing_says_what_changed_in_the_editors_words(message: str, english: str, chinese: str) -> None:
    for said, language, shown, gui in zip(
        message.split("|"), ("en", "zh"), (english, chinese), (("Timeline", "timeline"), ("时间线",)), strict=True
    ):
        turn = plan(said, state(draft()), language=language)
        assert turn.kind == "edit" and turn.closing, said
        assert shown in turn.closing and any(word in turn.closing for word in gui), turn.closing
        assert bool(CJK.search(turn.closing.replace("Urban Dreams", ""))) is (language == "zh")
