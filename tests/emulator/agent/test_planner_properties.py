"""Planning a turn, as properties: any message on any draft and uploads gives a sound plan, and a state the spec
allows stays one."""

from __future__ import annotations

import copy
import typing

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server._agent import ToolStep, TurnPlan
from nemo_contract._summary import format_timeline
from nemo_contract.protocol import TrackType
from nemo_contract.protocol.shapes import draft_is_exportable

from .conftest import SchemaErrors
from .helpers import (
    CDN,
    DURATIONS,
    plan,
    state,
    texts_of,
    upload,
)

# -- properties -----------------------------------------------------------------------------------------------


def _total(turn: TurnPlan) -> float:
    return turn.opening_delay + sum(s.duration for s in turn.steps) + turn.closing_delay


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
    "add subtitles",
    "加字幕",
    "remove the subtitles",
    "add a sound effect at the end",
    "在开头加个音效",
    "speed up the first clip",
    "slow down the last clip",
    "把第一个片段加速",
    "remove the title",
    "删除标题",
    "black and white",
    "变成黑白",
    "remove the filter",
    "put the music at 20%",
    "把音乐调到20%",
    "cut the last 2 seconds",
    "剪掉最后2秒",
    "add a 3D hologram",
    "change the voice",
    "让演员笑一下",
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
        "width": draw(st.one_of(st.integers(2, 4000), st.sampled_from([720, 1080, 1920]))),
        "height": draw(st.one_of(st.integers(2, 4000), st.sampled_from([720, 1080, 1920]))),
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
            if "sp" in seg:
                assert 0.25 <= seg["sp"] <= 4.0
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
    schema_errors: SchemaErrors,
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
        assert set(step.state_delta) <= {"draft", "generated_media", "canvas_config", "video_analyses"}
        if "draft" in step.state_delta:
            _check_draft(step.state_delta["draft"])
        for item in step.state_delta.get("generated_media", []):
            assert item["url"].startswith(CDN + "/generated/")
    if not schema_errors("SessionState", session):  # a state the spec allows stays one, step after step
        after = copy.deepcopy(session)
        for step in turn.steps:
            after.update(step.state_delta)
            assert schema_errors("SessionState", after) == [], (message, step.name)
