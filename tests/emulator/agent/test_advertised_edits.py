"""The edits the documents advertise beyond music, titles, trims, canvases and transitions: subtitles, sound
effects, clip speed, filters, removing the title, cutting the end, music at a percentage; each result is checked
against the spec."""

from __future__ import annotations

import copy
import typing

import pytest

from mock_server._agent import SFX_MS, SFX_PICKS, SFX_SUFFIX, SFX_VOLUME, SUBTITLE_LABEL, SUBTITLE_PICKS
from nemo_contract._summary import format_timeline

from .conftest import SchemaErrors
from .helpers import (
    BASE_TIMELINE,
    CDN,
    applied,
    draft,
    edited,
    plan,
    segment,
    state,
    video,
    with_language,
)

# -- the edits the documents advertise beyond those: subtitles, sound effects, speed, filters, cuts ------------


def _three_clips() -> dict[str, typing.Any]:
    """The example draft with its video cut into three clips: 0-4 s, 4-7 s, 7-10 s."""
    base = draft()
    base["t"][0]["sg"] = [
        segment("a", "one", 0, 4000, u=f"{CDN}/files/one.mp4", tr="fade"),
        segment("b", "two", 4000, 3000, u=f"{CDN}/files/two.mp4"),
        segment("c", "three", 7000, 3000, u=f"{CDN}/files/three.mp4"),
    ]
    return base


def _valid(after: dict[str, typing.Any], schema_errors: SchemaErrors) -> dict[str, typing.Any]:
    assert schema_errors("SessionState", after) == []
    return after


@pytest.mark.parametrize(
    ("message", "language"),
    with_language("add subtitles", "add captions", "please add some subtitles", "加字幕", "添加字幕", "给视频加上字幕"),
)
def test_subtitles_are_lines_on_a_text_track_of_their_own(
    message: str, language: str, schema_errors: SchemaErrors
) -> None:
    after = _valid(edited(message, language), schema_errors)["draft"]
    assert [t["tt"] for t in after["t"]] == [0, 1, 7, 7]
    assert after["t"][:3] == draft()["t"]  # video, BGM and title untouched
    lines = after["t"][3]["sg"]
    assert [(s["st"], s["d"], s["n"]) for s in lines] == [(i * 2500, 2500, SUBTITLE_LABEL) for i in range(4)]
    texts = [s["x"] for s in lines]
    picks = SUBTITLE_PICKS[typing.cast(typing.Literal["en", "zh"], language)]
    assert set(texts) <= set(picks) and len(set(texts)) == 4  # one line after another, none repeated
    assert picks.index(texts[1]) == (picks.index(texts[0]) + 1) % len(picks)
    assert after["d"] == 10000 and after["m"] == draft()["m"]


def test_subtitles_follow_the_video_and_survive_a_new_title(schema_errors: SchemaErrors) -> None:
    base = _three_clips()
    base["t"][0]["sg"][-1]["d"] = 5500  # the video runs to 12.5 s: five lines
    after = _valid(edited("add subtitles", base=base), schema_errors)["draft"]
    assert [(s["st"], s["d"]) for s in after["t"][3]["sg"]] == [(i * 2500, 2500) for i in range(5)]
    retitled = edited('add title "New"', base=after)["draft"]
    assert [t["tt"] for t in retitled["t"]] == [0, 1, 7, 7]
    assert retitled["t"][2]["sg"][0]["x"] == "New" and retitled["t"][3] == after["t"][3]
    # Asking again changes nothing: a chat, free.
    again = plan("add subtitles", state(after))
    assert again.kind == "chat" and not again.steps and again.closing and "Timeline panel" in again.closing


@pytest.mark.parametrize(("message", "language"), with_language("remove the subtitles", "删除字幕"))
def test_removing_subtitles_keeps_the_title(message: str, language: str) -> None:
    with_lines = edited("add subtitles")["draft"]
    after = edited(message, language, with_lines)["draft"]
    assert after == {**draft(), "t": draft()["t"]}
    assert plan(message, state(draft()), language=language).kind == "chat"  # none to remove


@pytest.mark.parametrize(
    ("message", "language", "name", "start"),
    with_language(
        ("add a sound effect at the start", None, 0),
        ("add a whoosh sound effect at the beginning", "Whoosh", 0),
        ("add a pop sound at the end", "Pop", 8500),
        ("在开头加个音效", None, 0),
        ("在开头添加一个音效", None, 0),
        ("在结尾加一个嗖的音效", "Whoosh", 8500),
    ),
)
def test_a_sound_effect_is_a_short_generated_audio_segment(
    message: str, language: str, name: str | None, start: int, schema_errors: SchemaErrors
) -> None:
    after = _valid(edited(message, language), schema_errors)
    tracks = after["draft"]["t"]
    assert [t["tt"] for t in tracks] == [0, 1, 1, 7]
    assert [tracks[0], tracks[1], tracks[3]] == draft()["t"]  # the BGM stays
    (effect,) = tracks[2]["sg"]
    (media,) = after["generated_media"]
    assert (effect["st"], effect["d"], effect["v"]) == (start, SFX_MS, SFX_VOLUME)
    assert effect["n"] == media["prompt"] == f"{name or effect['n'].removesuffix(SFX_SUFFIX)}{SFX_SUFFIX}"
    assert effect["n"].removesuffix(SFX_SUFFIX) in (SFX_PICKS if name is None else (name,))
    assert effect["u"] == media["url"] and media["url"].endswith(".mp3")
    assert (media["media_type"], media["duration"]) == ("audio", SFX_MS / 1000)
    assert after["draft"]["d"] == 10000


def test_music_edits_leave_sound_effects_alone() -> None:
    with_effect = edited("add a sound effect at the start")["draft"]
    effect = with_effect["t"][2]
    jazz = edited("add jazz music", base=with_effect)["draft"]
    assert [t["tt"] for t in jazz["t"]] == [0, 1, 1, 7] and jazz["t"][1]["sg"][0]["n"] == "Jazz"
    assert jazz["t"][2] == effect
    quieter = edited("volume to 20%", base=with_effect)["draft"]
    assert quieter["t"][1]["sg"][0]["v"] == 0.2 and quieter["t"][2] == effect
    silent = edited("remove the music", base=with_effect)["draft"]
    assert [t["tt"] for t in silent["t"]] == [0, 1, 7] and silent["t"][1] == effect
    again = edited("add a sound effect at the end", base=with_effect)["draft"]
    assert [(s["st"], s["d"]) for s in again["t"][2]["sg"]] == [(0, SFX_MS), (10000 - SFX_MS, SFX_MS)]


@pytest.mark.parametrize(
    ("message", "language"),
    with_language(
        "speed up the first clip",
        "make the first clip faster",
        "speed up the 1st clip to 2x",
        "把第一个片段加速",
        "第一个片段加速到2倍",
    ),
)
def test_speeding_up_a_clip_shortens_it_and_moves_the_rest(
    message: str, language: str, schema_errors: SchemaErrors
) -> None:
    after = _valid(edited(message, language, _three_clips()), schema_errors)["draft"]
    assert [(s["id"], s["st"], s["d"], s.get("sp"), s.get("tr")) for s in video(after)] == [
        ("a", 0, 2000, 2.0, "fade"),
        ("b", 2000, 3000, None, None),
        ("c", 5000, 3000, None, None),
    ]
    assert after["t"][1]["sg"][0]["d"] == 8000  # the BGM ends with the video
    assert after["t"][2] == draft()["t"][2]
    assert after["d"] == 8000


def test_speed_changes_in_both_directions() -> None:
    slower = edited("slow down the last clip", base=_three_clips())["draft"]
    assert [(s["st"], s["d"], s.get("sp")) for s in video(slower)][-1] == (7000, 6000, 0.5)
    assert slower["d"] == 13000 and slower["t"][1]["sg"][0]["d"] == 10000  # the BGM is not stretched
    whole = edited("speed up the video to 4x")["draft"]
    assert [(s["d"], s["sp"]) for s in video(whole)] == [(2500, 4.0)] and whole["d"] == 2500
    assert whole["t"][2]["sg"][0]["d"] == 2500  # the title is cut to the shorter video
    back = edited("play it at 1x", base=whole)["draft"]
    assert [(s["d"], s.get("sp")) for s in video(back)] == [(10000, None)]
    for message in ["speed up the fifth clip", "speed up the video to 4x"]:
        assert plan(message, state(whole)).kind == "chat"  # no such clip; already at 4x


@pytest.mark.parametrize(
    ("message", "language"), with_language("remove the title", "delete the title", "删除标题", "去掉标题")
)
def test_removing_the_title(message: str, language: str, schema_errors: SchemaErrors) -> None:
    with_lines = edited("add subtitles")["draft"]
    after = _valid(edited(message, language, with_lines), schema_errors)["draft"]
    assert [t["tt"] for t in after["t"]] == [0, 1, 7]
    assert after["t"][:2] == draft()["t"][:2] and after["t"][2] == with_lines["t"][3]  # the subtitles stay
    assert after["m"]["title"] == ""
    untitled = edited(message, language)["draft"]
    assert (
        format_timeline(untitled) == "Timeline (2 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%)"
    )
    assert plan(message, state(untitled), language=language).kind == "chat"  # nothing left to remove


@pytest.mark.parametrize(
    ("message", "language", "look"),
    with_language(
        ("make it black and white", "grayscale"),
        ("black & white please", "grayscale"),
        ("apply a grayscale filter", "grayscale"),
        ("give it a sepia look", "sepia"),
        ("变成黑白", "grayscale"),
        ("加个黑白滤镜", "grayscale"),
        ("调成复古色调", "sepia"),
    ),
)
def test_a_filter_goes_on_every_clip(message: str, language: str, look: str, schema_errors: SchemaErrors) -> None:
    after = _valid(edited(message, language, _three_clips()), schema_errors)["draft"]
    assert [s.get("fx") for s in video(after)] == [look] * 3
    unfiltered = copy.deepcopy(after)
    for seg in video(unfiltered):
        del seg["fx"]
    assert unfiltered == _three_clips()  # nothing else changed


@pytest.mark.parametrize(("message", "language"), with_language("remove the filter", "去掉滤镜"))
def test_a_filter_comes_off(message: str, language: str) -> None:
    grey = edited("make it black and white")["draft"]
    assert edited(message, language, grey)["draft"] == draft()
    assert plan(message, state(draft()), language=language).kind == "chat"


@pytest.mark.parametrize(
    ("message", "language"),
    with_language(
        "put the music at 20%",
        "set the music to 20%",
        "turn the music down to 20%",
        "把音乐调到20%",
        "音乐调到百分之二十",
    ),
)
def test_music_at_a_percentage(message: str, language: str, schema_errors: SchemaErrors) -> None:
    after = _valid(edited(message, language), schema_errors)
    assert format_timeline(after["draft"]) == BASE_TIMELINE.replace("35%", "20%")
    assert "generated_media" not in plan(message, state(draft()), language=language).steps[0].state_delta


@pytest.mark.parametrize(
    ("message", "language"),
    with_language(
        "cut the last 2 seconds", "trim the last 2s", "take 2 seconds off the end", "剪掉最后2秒", "把最后两秒剪掉"
    ),
)
def test_cutting_the_end(message: str, language: str, schema_errors: SchemaErrors) -> None:
    after = _valid(edited(message, language, _three_clips()), schema_errors)["draft"]
    assert [(s["st"], s["d"]) for s in video(after)] == [(0, 4000), (4000, 3000), (7000, 1000)]
    assert after["t"][1]["sg"][0]["d"] == 8000 and after["d"] == 8000
    assert plan("cut the last 10 seconds", state(draft())).kind == "chat"  # that would leave nothing


def test_every_new_operation_keeps_the_draft_valid(schema_errors: SchemaErrors) -> None:
    """All of them at once, on every kind of track, and the spec's schema still holds."""
    message = (
        "add subtitles, add a sound effect at the start, speed up the second clip, make it black and white, "
        "put the music at 20%, cut the last 1 second, then remove the title"
    )
    turn = plan(message, state(_three_clips()))
    assert turn.kind == "edit"
    actions = [a["action"] for a in turn.steps[0].args["operations"]]
    assert actions == [
        "add_subtitles",
        "add_sound_effect",
        "set_speed",
        "set_filter",
        "set_volume",
        "cut_end",
        "remove_title",
    ]
    after = _valid(applied(state(_three_clips()), turn), schema_errors)["draft"]
    assert [t["tt"] for t in after["t"]] == [0, 1, 1, 7]
    assert after["d"] == 7500 and after["m"]["title"] == ""


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("sp", 0),  # below the slowest speed
        ("sp", 8),
        ("fx", ""),
        ("tt", 3),  # not a documented track type
    ],
)
def test_the_spec_rejects_what_the_agent_never_writes(
    where: str, value: typing.Any, schema_errors: SchemaErrors
) -> None:
    broken = draft()
    if where == "tt":
        broken["t"][0]["tt"] = value
    else:
        broken["t"][0]["sg"][0][where] = value
    assert schema_errors("Draft", broken)
    assert schema_errors("Draft", draft()) == []
