"""Planning a turn: determinism, generations, chats, silent closes, durations and the caller's state."""

from __future__ import annotations

import copy
import dataclasses
import random
import re
import typing

import pytest

from mock_server._agent import MUSIC_PICKS, TITLE_PICKS, TurnPlan, plan_turn
from nemo_contract._summary import format_timeline

from .conftest import SchemaErrors
from .helpers import (
    BASE_TIMELINE,
    CDN,
    CJK,
    DURATIONS,
    applied,
    draft,
    plan,
    state,
    upload,
    video,
    with_language,
)

# -- determinism ----------------------------------------------------------------------------------------------

MESSAGES = [
    "generate a 10-second video of ocean waves",
    "add jazz music",
    'add title "Hello"',
    "trim to 5 seconds",
    "make it vertical",
    "add transitions",
    "volume to 50%",
    "hello",
    "生成一个15秒的城市夜景视频",
    "添加音乐",
    "add subtitles",
    "在开头加个音效",
    "speed up the first clip",
    "删除标题",
    "make it black and white",
    "把音乐调到20%",
    "cut the last 2 seconds",
    "add a 3D hologram",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_same_seed_gives_the_same_plan(message: str) -> None:
    session = state(draft())
    assert plan(message, session, seed=42, rate=0.5) == plan(message, session, seed=42, rate=0.5)


def test_different_seeds_differ_somewhere() -> None:
    session = state(draft())
    first = [plan(m, session, seed=1, rate=0.5) for m in MESSAGES]
    second = [plan(m, session, seed=2, rate=0.5) for m in MESSAGES]
    assert first != second
    assert sum(a != b for a, b in zip(first, second, strict=True)) >= len(MESSAGES) // 2


# -- generation -----------------------------------------------------------------------------------------------


def test_generation_from_a_prompt_is_two_stage() -> None:
    turn = plan("generate a 15-second video of ocean waves")
    assert turn.kind == "generation"
    assert [s.name for s in turn.steps] == ["generate_video_with_seedance", "generate_music", "edit_multitrack"]
    seedance = turn.steps[0]
    assert seedance.args["duration"] == 15
    assert "ocean waves" in seedance.args["prompt"]
    final = applied(state(), turn)
    timeline = format_timeline(final["draft"])
    assert timeline.startswith("Timeline (3 tracks): 1. Video: ocean waves (0-15s) 2. BGM: ")
    assert re.search(r"2\. BGM: (.+) \(0-15s, 35%\) 3\. Title: \"(.+)\" \(0-3s\)$", timeline)
    media = final["generated_media"]
    assert [m["media_type"] for m in media] == ["video", "audio"]
    assert re.fullmatch(re.escape(CDN) + r"/generated/[\w-]+\.mp4", media[0]["url"])
    assert re.fullmatch(re.escape(CDN) + r"/generated/[\w-]+\.mp3", media[1]["url"])
    assert media[0]["duration"] == 15 and media[0]["prompt"] == "generate a 15-second video of ocean waves"
    assert final["draft"]["m"] == {
        "title": final["draft"]["t"][2]["sg"][0]["x"],
        "width": 1920,
        "height": 1080,
        "fps": 30,
    }
    assert final["canvas_config"] == {"width": 1920, "height": 1080, "aspect_ratio": "16:9"}
    # The last step carries everything the turn changed.
    assert set(turn.steps[-1].state_delta) == {"draft", "generated_media", "canvas_config"}
    assert turn.opening and turn.closing


def test_generation_defaults_to_ten_seconds_and_a_seeded_title() -> None:
    turn = plan("create a video")
    assert turn.steps[0].args["duration"] == 10
    final = applied(state(), turn)["draft"]
    assert final["d"] == 10000
    assert final["t"][2]["sg"][0]["x"] in TITLE_PICKS["en"]
    assert final["t"][1]["sg"][0]["n"] in MUSIC_PICKS


def test_generation_from_uploads_reproduces_the_documents_summary() -> None:
    session = state(uploads=[upload("city_timelapse.mp4", "video", 10.0, 1920, 1080)])
    turn = plan('turn this video into a promo called "Urban Dreams" with lo-fi music', session)
    assert [s.name for s in turn.steps] == ["understand_video", "edit_multitrack", "generate_music", "edit_multitrack"]
    assert format_timeline(applied(session, turn)["draft"]) == BASE_TIMELINE


def test_generation_uses_uploads_in_order_and_an_audio_upload_as_bgm() -> None:
    files = [
        upload("beach-day.mov", "video", 6.5, 1080, 1920),
        upload("sunset.jpg", "image", None, 800, 600),
        upload("clip_3.mp4", "video", None),
        upload("my_song.mp3", "audio", 120.0),
    ]
    session = state(uploads=files)
    turn = plan("generate my existing video clips", session)
    # The user's own music is laid in by the final edit: no music generation.
    assert [s.name for s in turn.steps] == ["understand_video", "edit_multitrack", "edit_multitrack"]
    final = applied(session, turn)
    assert format_timeline(final["draft"]).startswith(
        "Timeline (3 tracks): 1. Video: beach day (0-6.5s), sunset (6.5-9.5s), clip 3 (9.5-14.5s) "
        "2. BGM: my song (0-14.5s, 35%)"
    )
    assert [s["u"] for s in video(final["draft"])] == [f["cdn_url"] for f in files[:3]]
    assert final["draft"]["t"][1]["sg"][0]["u"] == files[3]["cdn_url"]
    assert final["draft"]["m"]["width"] == 1080 and final["draft"]["m"]["height"] == 1920  # portrait first upload
    assert final["canvas_config"]["aspect_ratio"] == "9:16"
    assert final["generated_media"] == []


def test_generation_applies_the_other_edits_it_names() -> None:
    session = state(uploads=[upload("a.mp4", "video", 4.0), upload("b.mp4", "video", 4.0)])
    turn = plan("make me a square video with dissolve transitions", session)
    final = applied(session, turn)
    assert [s.get("tr") for s in video(final["draft"])] == ["dissolve", None]
    assert final["canvas_config"] == {"width": 1080, "height": 1080, "aspect_ratio": "1:1"}
    without = applied(state(), plan("generate a video without music"))["draft"]
    assert [t["tt"] for t in without["t"]] == [0, 7]


def test_generation_in_chinese() -> None:
    turn = plan("生成一个15秒的城市夜景视频", language="zh-CN")
    assert turn.kind == "generation" and turn.steps[0].args["duration"] == 15
    final = applied(state(), turn)["draft"]
    assert format_timeline(final).startswith("Timeline (3 tracks): 1. Video: 城市夜景 (0-15s)")
    assert final["t"][2]["sg"][0]["x"] in TITLE_PICKS["zh"]
    assert turn.opening and CJK.search(turn.opening)


# -- edits with nothing to edit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "language"),
    with_language("add music", "trim to 5 seconds", "make it vertical", "添加音乐", "剪到5秒", "竖屏"),
)
@pytest.mark.parametrize("uploads", [[], [upload("a.mp4", "video", 5.0)]])
def test_an_edit_on_an_empty_draft_asks_for_a_generation(
    message: str, language: str, uploads: list[dict[str, typing.Any]]
) -> None:
    turn = plan(message, state(uploads=uploads), language=language)
    assert turn.kind == "chat" and turn.steps == () and turn.opening is None
    assert turn.closing and ("generate" in turn.closing or "生成" in turn.closing)


def test_anything_else_is_a_chat() -> None:
    for message in ["hello", "what can you do?", "", "   ", "你好"]:
        for session in (state(), state(draft())):
            turn = plan(message, session, language=None)
            assert turn.kind == "chat" and turn.steps == () and turn.opening is None and turn.closing


# -- silent close ---------------------------------------------------------------------------------------------


def test_silent_close_frequency_is_close_to_the_rate() -> None:
    session = state(draft())
    runs = 2000
    silent = 0
    for seed in range(runs):
        turn = plan("add jazz music", session, seed=seed, rate=0.3)
        assert turn.kind == "edit" and turn.opening is None
        assert turn.steps[0].state_delta["draft"]  # the change happens either way
        silent += turn.closing is None
    assert abs(silent / runs - 0.3) < 0.05


def test_the_silent_draw_does_not_shift_the_rest_of_the_plan() -> None:
    session = state(draft())
    for seed in range(20):
        talking = plan("add transitions and volume to 60%", session, seed=seed, rate=0.0)
        quiet = plan("add transitions and volume to 60%", session, seed=seed, rate=1.0)
        assert talking.closing is not None and quiet.closing is None
        assert dataclasses.replace(talking, closing=None) == quiet


# -- durations ------------------------------------------------------------------------------------------------


def _total(turn: TurnPlan) -> float:
    return turn.opening_delay + sum(s.duration for s in turn.steps) + turn.closing_delay


@pytest.mark.parametrize(
    ("message", "kind"), [("generate a video", "generation"), ("add music", "edit"), ("hi", "chat")]
)
def test_durations_come_from_the_kind_range(message: str, kind: str) -> None:
    key = "text" if kind == "chat" else kind
    low, high = DURATIONS[key]
    totals = []
    for seed in range(200):
        turn = plan(message, state(draft()) if kind != "generation" else state(), seed=seed)
        assert turn.kind == kind
        parts = [turn.opening_delay, turn.closing_delay, *(s.duration for s in turn.steps)]
        assert all(p >= 0 for p in parts)
        totals.append(_total(turn))
    assert all(low - 1e-9 <= t <= high + 1e-9 for t in totals)
    assert max(totals) - min(totals) > (high - low) / 2  # drawn across the range, not fixed


def test_fixed_durations_sum_exactly() -> None:
    fixed = {"text": (7.0, 7.0), "edit": (20.0, 20.0), "generation": (150.0, 150.0)}
    assert _total(plan("hi", durations=fixed)) == pytest.approx(7.0)
    assert _total(plan("add music", state(draft()), durations=fixed)) == pytest.approx(20.0)
    turn = plan("generate a video", durations=fixed)
    assert _total(turn) == pytest.approx(150.0)
    assert turn.steps[0].duration == max(s.duration for s in turn.steps)  # the clip generation is the long wait


# -- the caller's state ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", [*MESSAGES, "add jazz music and transitions and trim to 4s and 9:16"])
def test_the_input_state_is_never_mutated_or_shared(message: str) -> None:
    session = state(draft(), uploads=[upload("a.mp4", "video", 3.0), upload("s.mp3", "audio", 30.0)])
    session["generated_media"] = [{"id": "old", "media_type": "video", "url": "u", "duration": 1.0, "prompt": "p"}]
    session["canvas_config"] = {"width": 1920, "height": 1080, "aspect_ratio": "16:9"}
    snapshot = copy.deepcopy(session)
    turn = plan(message, session)
    assert session == snapshot
    for step in turn.steps:
        for key, value in step.state_delta.items():
            assert value is not session[key]
    drafts = [s.state_delta["draft"] for s in turn.steps if "draft" in s.state_delta]
    assert len({id(d) for d in drafts}) == len(drafts)


def test_ids_and_urls() -> None:
    turn = plan_turn(
        "generate a video",
        state(),
        language="en",
        rng=random.Random(3),
        silent_close_rate=0.3,
        durations=DURATIONS,
        cdn_base=CDN + "/",
    )
    final = applied(state(), turn)
    ids = [s["id"] for t in final["draft"]["t"] for s in t["sg"]]
    assert all(re.fullmatch(r"sg_[0-9a-f]{8}", i) for i in ids) and len(set(ids)) == len(ids)
    assert all(
        m["url"].startswith(CDN + "/generated/") and "//generated" not in m["url"] for m in final["generated_media"]
    )


# -- what the agent cannot do, what it looks at -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "language"),
    with_language(
        "add a 3D hologram", "make the actor smile", "change the voice", "加一个3D全息投影", "让演员笑一下", "换个声音"
    ),
)
@pytest.mark.parametrize("with_draft", [True, False])
def test_an_edit_it_cannot_do_is_a_free_chat_that_says_so(message: str, language: str, with_draft: bool) -> None:
    turn = plan(message, state(draft() if with_draft else None), language=language)
    assert turn.kind == "chat" and turn.steps == () and turn.opening is None and turn.closing
    if language == "zh":
        assert "无法" in turn.closing and "时间线面板" in turn.closing
    else:
        assert "I can't" in turn.closing and "Timeline panel" in turn.closing
    assert turn.closing != plan("hello", state(draft() if with_draft else None), language=language).closing


def test_what_it_cannot_do_is_said_beside_what_it_did() -> None:
    turn = plan("add jazz music and a 3D hologram", state(draft()))
    assert turn.kind == "edit" and turn.closing
    assert "Jazz" in turn.closing and "I can't add 3D" in turn.closing
    assert [a["action"] for a in turn.steps[0].args["operations"]] == ["add_bgm"]
    # A generation it asked for still happens.
    assert plan("make a 3D video of a cat").kind == "generation"


def test_understanding_the_uploads_fills_video_analyses(schema_errors: SchemaErrors) -> None:
    files = [upload("beach-day.mov", "video", 6.5, 1080, 1920), upload("sunset.jpg", "image", None, 800, 600)]
    session = state(uploads=[*files, upload("song.mp3", "audio", 30.0)])
    session["video_analyses"] = {"old.mp4": {"file_type": "video", "duration": 2.0, "scenes": 1}}
    turn = plan("generate a video", session)
    understand = turn.steps[0]
    assert understand.name == "understand_video"
    assert set(understand.state_delta) == {"video_analyses"}
    after = applied(session, turn)
    assert after["video_analyses"] == {
        "old.mp4": {"file_type": "video", "duration": 2.0, "scenes": 1},  # earlier analyses stay
        "beach-day.mov": {"file_type": "video", "duration": 6.5, "scenes": 2},
        "sunset.jpg": {"file_type": "image", "duration": 3.0, "scenes": 1},
    }
    assert schema_errors("SessionState", after) == []
    # Without uploads nothing is analysed.
    assert all("video_analyses" not in s.state_delta for s in plan("generate a video").steps)


def test_a_generation_applies_the_new_edits_it_names(schema_errors: SchemaErrors) -> None:
    turn = plan("generate a video of a cat with subtitles, black and white, no title")
    final = applied(state(), turn)
    assert schema_errors("SessionState", final) == []
    tracks = final["draft"]["t"]
    assert [t["tt"] for t in tracks] == [0, 1, 7]
    assert [s["n"] for s in tracks[2]["sg"]] == ["subtitle"] * 4
    assert video(final["draft"])[0]["fx"] == "grayscale"
    assert final["draft"]["m"]["title"] == ""
    assert [a["action"] for a in turn.steps[-1].args["operations"]] == ["add_subtitles", "set_filter"]


@pytest.mark.parametrize(
    ("where", "value"),
    [("file_type", "audio"), ("scenes", 0), ("duration", -1)],
)
def test_the_spec_rejects_an_analysis_the_agent_never_writes(
    where: str, value: typing.Any, schema_errors: SchemaErrors
) -> None:
    good = {"clip.mp4": {"file_type": "video", "duration": 2.0, "scenes": 1}}
    assert schema_errors("VideoAnalyses", good) == []
    assert schema_errors("VideoAnalyses", {"clip.mp4": {**good["clip.mp4"], where: value}})
    assert schema_errors("VideoAnalyses", {"clip.mp4": {"file_type": "video", "duration": 2.0}})
