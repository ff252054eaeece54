"""Shared helpers of the agent's tests: the documents' example draft, a session state, planning and applying a turn."""

from __future__ import annotations

import copy
import hashlib
import random
import re
import typing
import urllib.parse

from mock_server._agent import TurnPlan, plan_turn
from nemo_contract.protocol import TrackType

DURATIONS = {"text": (5.0, 15.0), "edit": (10.0, 30.0), "generation": (100.0, 300.0)}
CDN = "http://127.0.0.1:8000/cdn"
CJK = re.compile(r"[\u4e00-\u9fff]")
BASE_TIMELINE = (
    'Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)'
)


def language_of(message: str) -> typing.Literal["en", "zh"]:
    """The language a user writing ``message`` asks in: Chinese for Chinese words, else English."""
    return "zh" if CJK.search(message) else "en"


def with_language(*cases: str | tuple[typing.Any, ...]) -> list[tuple[typing.Any, ...]]:
    """Parameters ``(message, language, *expected)`` from ``message`` or ``(message, *expected)``: each message
    asked in its own language."""
    rows = [(case,) if isinstance(case, str) else case for case in cases]
    return [(message, language_of(message), *expected) for message, *expected in rows]


def segment(sid: str, label: str, st_ms: int, d_ms: int, **extra: typing.Any) -> dict[str, typing.Any]:
    return {"id": sid, "n": label, "st": st_ms, "d": d_ms, **extra}


def draft(width: int = 1920, height: int = 1080) -> dict[str, typing.Any]:
    """The documents' example timeline: a 10 s clip, Lo-fi BGM at 35 %, a 3 s title."""
    return {
        "t": [
            {"tt": 0, "sg": [segment("sg_v1", "city timelapse", 0, 10000, u=f"{CDN}/files/city.mp4")]},
            {"tt": 1, "sg": [segment("sg_a1", "Lo-fi", 0, 10000, u=f"{CDN}/generated/m.mp3", v=0.35)]},
            {"tt": 7, "sg": [segment("sg_t1", "Urban Dreams", 0, 3000, x="Urban Dreams")]},
        ],
        "d": 10000,
        "m": {"title": "Urban Dreams", "width": width, "height": height, "fps": 30},
    }


def state(
    current: dict[str, typing.Any] | None = None, uploads: list[dict[str, typing.Any]] | None = None
) -> dict[str, typing.Any]:
    return {
        "video_infos": uploads or [],
        "draft": current if current is not None else {},
        "canvas_config": {},
        "video_analyses": {},
        "generated_media": [],
    }


def upload(
    name: str, kind: str, duration: float | None = None, width: int | None = None, height: int | None = None
) -> dict[str, typing.Any]:
    return {
        "filename": name,
        "file_type": kind,
        "cdn_url": f"{CDN}/files/{urllib.parse.quote(name)}",
        "duration": duration,
        "width": width,
        "height": height,
        "fps": 30 if kind == "video" else None,
        "hash": hashlib.sha256(name.encode()).hexdigest(),
    }


def plan(
    message: str,
    session: typing.Mapping[str, typing.Any] | None = None,
    *,
    seed: int = 1,
    language: str | None = "en",
    rate: float = 0.0,
    durations: typing.Mapping[str, tuple[float, float]] = DURATIONS,
) -> TurnPlan:
    return plan_turn(
        message,
        session if session is not None else state(),
        language=language,
        rng=random.Random(seed),
        silent_close_rate=rate,
        durations=durations,
        cdn_base=CDN,
    )


def applied(session: typing.Mapping[str, typing.Any], turn: TurnPlan) -> dict[str, typing.Any]:
    """The session state after the turn, the way the SSE layer merges each step's state delta."""
    result = copy.deepcopy(dict(session))
    for step in turn.steps:
        result.update(copy.deepcopy(step.state_delta))
    return result


def edited(
    message: str, language: str | None = "en", base: dict[str, typing.Any] | None = None
) -> dict[str, typing.Any]:
    session = state(base if base is not None else draft())
    turn = plan(message, session, language=language)
    assert turn.kind == "edit", (message, turn)
    assert [s.name for s in turn.steps] == ["edit_multitrack"]
    return applied(session, turn)


def video(current: typing.Mapping[str, typing.Any]) -> list[dict[str, typing.Any]]:
    return next(t["sg"] for t in current["t"] if t["tt"] == TrackType.VIDEO)


def texts_of(turn: TurnPlan) -> list[str]:
    return [t for t in (turn.opening, turn.closing) if t is not None]
