"""The operations on a draft, one intent at a time, in both languages."""

from __future__ import annotations

import pytest

from mock_server._agent import MUSIC_PICKS
from nemo_contract._summary import format_timeline

from .helpers import (
    BASE_TIMELINE,
    draft,
    edited,
    plan,
    segment,
    state,
    video,
    with_language,
)

# -- edits, one intent at a time, in both languages -----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "language"),
    with_language("add jazz music", "add some jazz background music", "加点爵士音乐", "换成爵士配乐"),
)
def test_add_music_with_a_genre_replaces_the_bgm(message: str, language: str) -> None:
    after = edited(message, language)
    assert format_timeline(after["draft"]) == BASE_TIMELINE.replace("Lo-fi", "Jazz")
    assert after["generated_media"][-1]["media_type"] == "audio"
    assert after["draft"]["t"][1]["sg"][0]["u"] == after["generated_media"][-1]["url"]


@pytest.mark.parametrize(
    ("message", "language"),
    with_language(
        "add music", "add bgm", "add a soundtrack", "background music please", "添加音乐", "加音乐", "背景音乐", "配乐"
    ),
)
def test_add_music_without_a_genre_picks_one(message: str, language: str) -> None:
    base = draft()
    del base["t"][1]
    after = edited(message, language, base)["draft"]
    assert [t["tt"] for t in after["t"]] == [0, 1, 7]  # BGM goes between the video and the title
    bgm = after["t"][1]["sg"][0]
    assert bgm["n"] in MUSIC_PICKS and bgm["v"] == 0.35 and (bgm["st"], bgm["d"]) == (0, 10000)


@pytest.mark.parametrize(
    ("message", "language"),
    with_language(
        "remove the music",
        "delete the bgm",
        "no music",
        "mute the music",
        "删除音乐",
        "去掉音乐",
        "去掉背景音乐",
        "不要音乐",
    ),
)
def test_remove_music(message: str, language: str) -> None:
    after = edited(message, language)["draft"]
    assert (
        format_timeline(after)
        == 'Timeline (2 tracks): 1. Video: city timelapse (0-10s) 2. Title: "Urban Dreams" (0-3s)'
    )


@pytest.mark.parametrize(
    ("message", "language", "title"),
    with_language(
        ('add title "Summer Vibes"', "Summer Vibes"),
        ("add a title “Summer Vibes”", "Summer Vibes"),
        ("title: Summer Vibes", "Summer Vibes"),
        ('text "Summer Vibes"', "Summer Vibes"),
        ("add title 'Summer Vibes'", "Summer Vibes"),
        ("添加标题“夏日”", "夏日"),
        ("标题「夏日」", "夏日"),
        ('添加标题"夏日"', "夏日"),
        ("标题：夏日", "夏日"),
    ),
)
def test_title(message: str, language: str, title: str) -> None:
    after = edited(message, language)["draft"]
    assert format_timeline(after) == BASE_TIMELINE.replace("Urban Dreams", title)
    assert after["m"]["title"] == title


@pytest.mark.parametrize(
    ("message", "language"),
    with_language(
        "trim to 8 seconds",
        "cut it to 8s",
        "make it 8 seconds long",
        "shorten to 8 s",
        "剪到8秒",
        "缩短到8秒",
        "裁剪为8秒",
        "缩短到八秒",
    ),
)
def test_trim(message: str, language: str) -> None:
    after = edited(message, language)["draft"]
    assert format_timeline(after) == BASE_TIMELINE.replace("0-10s", "0-8s")
    assert after["d"] == 8000


def test_trim_clips_segments_and_drops_what_starts_later() -> None:
    base = draft()
    base["t"][0]["sg"] = [
        segment("a", "one", 0, 3000, tr="fade"),
        segment("b", "two", 3000, 3000, tr="fade"),
        segment("c", "three", 6000, 4000),
    ]
    base["t"].append({"tt": 7, "sg": [segment("late", "Credits", 8000, 2000, x="The End")]})
    after = edited("trim to 4.5 seconds", base=base)["draft"]
    assert format_timeline(after) == (
        "Timeline (3 tracks): 1. Video: one (0-3s), two (3-4.5s) 2. BGM: Lo-fi (0-4.5s, 35%) "
        '3. Title: "Urban Dreams" (0-3s)'
    )
    assert [s.get("tr") for s in video(after)] == ["fade", None]  # no transition out of the last clip
    assert after["d"] == 4500


@pytest.mark.parametrize("message", ["trim to 12 seconds", "trim to 10 seconds", "trim to 0 seconds"])
def test_a_trim_that_changes_nothing_is_a_chat(message: str) -> None:
    turn = plan(message, state(draft()))
    assert turn.kind == "chat" and not turn.steps and turn.closing


@pytest.mark.parametrize(
    ("message", "language", "ratio"),
    with_language(
        ("9:16", "9:16"),
        ("make it vertical", "9:16"),
        ("for tiktok", "9:16"),
        ("reels", "9:16"),
        ("portrait please", "9:16"),
        ("16:9", "16:9"),
        ("landscape", "16:9"),
        ("horizontal", "16:9"),
        ("for youtube", "16:9"),
        ("square", "1:1"),
        ("1:1", "1:1"),
        ("4:5", "4:5"),
        ("4:3", "4:3"),
        ("竖屏", "9:16"),
        ("横屏", "16:9"),
        ("方形", "1:1"),
        ("正方形", "1:1"),
        ("改成9：16", "9:16"),
    ),
)
def test_aspect_ratio(message: str, language: str, ratio: str) -> None:
    sizes = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080), "4:5": (1080, 1350), "4:3": (1440, 1080)}
    after = edited(message, language, draft(1280, 720))
    width, height = sizes[ratio]
    assert (after["draft"]["m"]["width"], after["draft"]["m"]["height"]) == (width, height)
    assert after["canvas_config"] == {"width": width, "height": height, "aspect_ratio": ratio}
    assert format_timeline(after["draft"]) == BASE_TIMELINE


@pytest.mark.parametrize(
    ("message", "language", "name"),
    with_language(
        ("add transitions", "fade"),
        ("crossfade", "fade"),
        ("fade between clips", "fade"),
        ("add dissolve transitions", "dissolve"),
        ("add a wipe transition", "wipe"),
        ("slide transitions", "slide"),
        ("zoom transition", "zoom"),
        ("加转场", "fade"),
        ("添加过渡", "fade"),
        ("添加叠化过渡", "dissolve"),
    ),
)
def test_transitions_split_a_lone_clip(message: str, language: str, name: str) -> None:
    after = edited(message, language)["draft"]
    clips = video(after)
    assert [(s["st"], s["d"], s.get("tr")) for s in clips] == [(0, 5000, name), (5000, 5000, None)]
    assert clips[0]["id"] != clips[1]["id"] and clips[0]["u"] == clips[1]["u"]


def test_transitions_go_between_existing_clips() -> None:
    base = draft()
    base["t"][0]["sg"] = [
        segment("a", "one", 0, 4000),
        segment("b", "two", 4000, 3000),
        segment("c", "x", 7000, 3000),
    ]
    after = edited("add transitions", base=base)["draft"]
    assert [s.get("tr") for s in video(after)] == ["fade", "fade", None]


@pytest.mark.parametrize(
    ("message", "language", "percent"),
    with_language(
        ("volume to 50%", 50),
        ("set the music volume to 0.5", 50),
        ("music volume 80%", 80),
        ("louder", 50),
        ("make the music quieter", 20),
        ("softer", 20),
        ("volume to 150%", 100),
        ("音量调到50%", 50),
        ("音量50%", 50),
        ("大声点", 50),
        ("小声点", 20),
    ),
)
def test_volume(message: str, language: str, percent: int) -> None:
    after = edited(message, language)["draft"]
    assert format_timeline(after) == BASE_TIMELINE.replace("35%", f"{percent}%")


def test_volume_steps_clamp_at_zero() -> None:
    base = draft()
    base["t"][1]["sg"][0]["v"] = 0.1
    assert edited("quieter", base=base)["draft"]["t"][1]["sg"][0]["v"] == 0.0
