"""Planning a turn: determinism, generations, chats, silent closes, durations and the caller's state."""

from __future__ import annotations

import copy
import dataclasses
import random
import re
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server._agent import MUSIC_PICKS, TITLE_PICKS, ToolStep, TurnPlan, plan_turn
from nemo_contract._summary import format_timeline
from nemo_contract.protocol import TrackType
from nemo_contract.protocol.shapes import draft_is_exportable

from .helpers import (
    BASE_TIMELINE,
    CDN,
    CJK,
    DURATIONS,
    applied,
    draft,
    plan,
    state,
    texts_of,
    upload,
    video,
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
    [
        ("add music", "en"),
        ("trim to 5 seconds", "en"),
        ("make it vertical", "en"),
        ("添加音乐", "zh"),
        ("剪到5秒", "zh"),
        ("竖屏", "zh"),
    ],
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


# -- properties -----------------------------------------------------------------------------------------------

_KEYWORDS = [
    "add music",
    "jazz",
    "remove the music",
    'add title "Hi"',
    "title: Yo",
    "trim to 3 seconds",
    "cut it to 0.5s",
    "9:16",
    "vertical",
    "square",
    "add transitions",
    "dissolve",
    "volume to 70%",
    "louder",
    "quieter",
    "generate",
    "make a video",
    "添加音乐",
    "删除音乐",
    "标题「你好」",
    "剪到2秒",
    "竖屏",
    "转场",
    "音量调到10%",
    "小声点",
    "生成视频",
    "and",
    ",",
    " ",
    "then",
    "15秒",
    "a 20-second video",
    "without music",
]


def _segments(tt: int) -> st.SearchStrategy[list[dict[str, typing.Any]]]:
    extra: dict[str, st.SearchStrategy[typing.Any]] = {}
    if tt == TrackType.AUDIO:
        extra = {"u": st.just(f"{CDN}/a.mp3"), "v": st.floats(0, 1)}
    elif tt == TrackType.TEXT:
        extra = {"x": st.text(max_size=10)}
    else:
        extra = {"u": st.just(f"{CDN}/v.mp4"), "tr": st.sampled_from(["fade", "wipe"])}
    segment = st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=6),
            "n": st.text(max_size=8),
            "st": st.integers(0, 20000),
            "d": st.integers(1, 20000),
        },
        optional=extra,
    )
    return st.lists(segment, min_size=1, max_size=4)


@st.composite
def drafts(draw: st.DrawFn) -> dict[str, typing.Any]:
    if draw(st.booleans()) and draw(st.booleans()):
        return {}
    tracks: list[dict[str, typing.Any]] = [
        {"tt": tt, "sg": draw(_segments(tt))} for tt in draw(st.lists(st.sampled_from([0, 1, 7]), max_size=4))
    ]
    end = max((s["st"] + s["d"] for t in tracks for s in t["sg"]), default=0)
    meta = {
        "title": draw(st.text(max_size=8)),
        "width": draw(st.integers(2, 4000)),
        "height": draw(st.integers(2, 4000)),
        "fps": 30,
    }
    return {"t": tracks, "d": end + draw(st.integers(0, 5000)), "m": meta}


_infos = st.builds(
    upload,
    st.text(max_size=12).map(lambda s: s + ".mp4"),
    st.sampled_from(["video", "image", "audio"]),
    st.one_of(st.none(), st.floats(0, 600)),
    st.one_of(st.none(), st.integers(1, 4000)),
    st.one_of(st.none(), st.integers(1, 4000)),
)
_messages = st.one_of(st.text(max_size=80), st.lists(st.sampled_from(_KEYWORDS), max_size=8).map(" ".join))


def _check_draft(value: typing.Any) -> None:
    assert value == {} or draft_is_exportable(value)
    if not value:
        return
    assert isinstance(value["d"], int) and value["d"] > 0
    for track in value["t"]:
        assert track["sg"], "no empty track is published"
        for seg in track["sg"]:
            assert isinstance(seg["st"], int) and isinstance(seg["d"], int)
            assert seg["st"] >= 0 and seg["d"] > 0
            if "v" in seg:
                assert 0.0 <= seg["v"] <= 1.0
    format_timeline(value)


@settings(deadline=None)
@given(
    message=_messages,
    current=drafts(),
    infos=st.lists(_infos, max_size=3),
    language=st.sampled_from([None, "", "en", "zh", "zh-TW", "de"]),
    seed=st.integers(0, 2**32),
    rate=st.floats(0, 1),
)
def test_any_message_on_any_draft_gives_a_sound_plan(
    message: str,
    current: dict[str, typing.Any],
    infos: list[dict[str, typing.Any]],
    language: str | None,
    seed: int,
    rate: float,
) -> None:
    session = state(current, uploads=infos)
    snapshot = copy.deepcopy(session)
    turn = plan(message, session, seed=seed, language=language, rate=rate)
    assert session == snapshot
    assert all(isinstance(s, ToolStep) for s in turn.steps)
    assert all(t.strip() for t in texts_of(turn))
    low, high = DURATIONS["text" if turn.kind == "chat" else turn.kind]
    assert low - 1e-6 <= _total(turn) <= high + 1e-6
    if turn.kind == "chat":
        assert not turn.steps and turn.closing
    elif turn.kind == "generation":
        assert turn.opening and turn.closing
        assert draft_is_exportable(turn.steps[-1].state_delta["draft"])
    else:
        assert len(turn.steps) == 1 and turn.opening is None
    for step in turn.steps:
        assert step.response["status"] == "success"
        assert set(step.state_delta) <= {"draft", "generated_media", "canvas_config"}
        if "draft" in step.state_delta:
            _check_draft(step.state_delta["draft"])
        for item in step.state_delta.get("generated_media", []):
            assert item["url"].startswith(CDN + "/generated/")
