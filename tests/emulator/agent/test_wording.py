"""The wording of replies: the GUI words a client acts on, and what an edit's closing says."""

from __future__ import annotations

import pytest

from .helpers import (
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
