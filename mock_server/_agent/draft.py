"""The draft being edited: deep copies of the state, segment ids, what each track holds, normalising and tidying.

A draft is first normalised (tracks with segments, whole milliseconds, ``d`` covering every segment), then edited
in place by ``draft_ops`` on deep copies, then tidied into the draft a step publishes. The documents give tracks
only three types (0 video, 1 audio, 7 text); the agent tells tracks of one type apart by their labels: a sound
effect's label ends in ``" sound effect"``, every subtitle line is labelled ``"subtitle"`` (the spec's Track
description says so).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import re
from collections.abc import Mapping
from typing import Any, Literal

from nemo_contract.protocol import TrackType
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import draft_is_exportable, segments_of, tracks_of

from .reading import Lang

__all__ = [
    "ASPECTS",
    "MAX_DRAFT_MS",
    "SFX_SUFFIX",
    "SUBTITLE_LABEL",
    "Ctx",
    "TrackKind",
    "Work",
    "as_ms",
    "canvas",
    "copy_list",
    "cut_to",
    "new_id",
    "normalise",
    "readable",
    "segment_ids",
    "tidy",
    "track_kind",
]

ASPECTS: Mapping[str, tuple[int, int]] = {
    "16:9": (1920, 1080),
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "4:5": (1080, 1350),
    "4:3": (1440, 1080),
}
#: The longest draft the service renders: 30 minutes (the spec's maximum of `d`).
MAX_DRAFT_MS = 30 * 60 * 1000
#: How a sound effect's label ends ("Whoosh sound effect"): what sets its audio track apart from the BGM's.
SFX_SUFFIX = " sound effect"
#: The label of every subtitle line: what sets the subtitle track apart from the title's.
SUBTITLE_LABEL = "subtitle"

TrackKind = Literal["video", "bgm", "effects", "title", "subtitles", "other"]


@dataclasses.dataclass(slots=True)
class Ctx:
    """What every part of a turn reads: the seeded draws, the reply language, where media live, the uploads."""

    rng: random.Random
    lang: Lang
    cdn_base: str
    uploads: tuple[Mapping[str, Any], ...]
    durations: Mapping[str, tuple[float, float]]


@dataclasses.dataclass(slots=True)
class Work:
    """The state being edited, as deep copies, so the caller's state is never touched."""

    draft: dict[str, Any]
    canvas: dict[str, Any]
    media: list[Any]
    media_changed: bool = False


def new_id(ctx: Ctx, prefix: str, digits: int) -> str:
    return f"{prefix}{ctx.rng.getrandbits(digits * 4):0{digits}x}"


def segment_ids(ctx: Ctx, draft: Mapping[str, Any], count: int = 1) -> list[str]:
    """``count`` new segment ids, unused in ``draft`` and distinct from each other."""
    used = {s.get(f.ID) for t in tracks_of(draft) for s in segments_of(t)}
    found: list[str] = []
    while len(found) < count:
        if (candidate := new_id(ctx, "sg_", 8)) not in used:
            used.add(candidate)
            found.append(candidate)
    return found


def as_ms(value: Any) -> int | None:
    """``value`` as a non-negative whole number (of milliseconds), or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return round(value)


def copy_list(value: Any) -> list[Any]:
    return copy.deepcopy(list(value)) if isinstance(value, list) else []


def readable(filename: Any, fallback: str = "clip") -> str:
    """``"city_timelapse.mp4"`` → ``"city timelapse"``: the label the web editor shows for an upload."""
    stem = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return " ".join(re.sub(r"[_\-.]+", " ", stem).split()) or fallback


def track_kind(track: Mapping[str, Any]) -> TrackKind:
    """What a (normalised) track holds: the video, the BGM, sound effects, the title, subtitles."""
    segments = segments_of(track)
    kind = track.get(f.TRACK_TYPE)
    if kind == TrackType.AUDIO:
        effects = segments and all(str(s.get(f.LABEL, "")).endswith(SFX_SUFFIX) for s in segments)
        return "effects" if effects else "bgm"
    if kind == TrackType.TEXT:
        return "subtitles" if segments and all(s.get(f.LABEL) == SUBTITLE_LABEL for s in segments) else "title"
    return "video" if kind == TrackType.VIDEO else "other"


def normalise(raw: Any) -> dict[str, Any]:
    """A deep copy of a draft in the shape the operations expect: tracks with segments, whole ms, ``d`` covering all."""
    draft = copy.deepcopy(dict(raw)) if isinstance(raw, Mapping) else {}
    tracks: list[dict[str, Any]] = []
    for track in tracks_of(draft):
        segments = [s for s in segments_of(track) if as_ms(s.get(f.DURATION_MS))]
        for seg in segments:
            seg[f.START_MS], seg[f.DURATION_MS] = as_ms(seg.get(f.START_MS)) or 0, as_ms(seg[f.DURATION_MS]) or 0
        if segments:
            tracks.append({**track, f.SEGMENTS: segments})
    end = max((s[f.START_MS] + s[f.DURATION_MS] for t in tracks for s in t[f.SEGMENTS]), default=0)
    raw_meta = draft.get(f.META)
    meta = raw_meta if isinstance(raw_meta, dict) else {}
    draft[f.TRACKS] = tracks
    draft[f.DURATION_MS] = max(as_ms(draft.get(f.DURATION_MS)) or 0, end)
    draft[f.META] = {f.TITLE: "", f.WIDTH: 1920, f.HEIGHT: 1080, **meta}
    draft[f.META].setdefault(f.FPS, 30)
    return draft


def cut_to(draft: dict[str, Any], limit: int) -> None:
    """End the draft at ``limit`` ms: later segments go, the ones running past it are shortened."""
    for track in draft[f.TRACKS]:
        track[f.SEGMENTS] = [s for s in track[f.SEGMENTS] if s[f.START_MS] < limit]
        for seg in track[f.SEGMENTS]:
            seg[f.DURATION_MS] = min(seg[f.DURATION_MS], limit - seg[f.START_MS])
    draft[f.TRACKS] = [t for t in draft[f.TRACKS] if t[f.SEGMENTS]]
    draft[f.DURATION_MS] = limit


def tidy(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft a step publishes: no empty track, no transition out of a track's last clip, ``{}`` when empty."""
    draft[f.TRACKS] = [t for t in draft[f.TRACKS] if t[f.SEGMENTS]]
    for track in draft[f.TRACKS]:
        if track.get(f.TRACK_TYPE) == TrackType.VIDEO:
            track[f.SEGMENTS][-1].pop(f.TRANSITION, None)
    return copy.deepcopy(draft) if draft_is_exportable(draft) else {}


def canvas(width: int, height: int) -> dict[str, Any]:
    ratio = next((r for r, size in ASPECTS.items() if size == (width, height)), f"{width}:{height}")
    return {f.WIDTH: width, f.HEIGHT: height, f.ASPECT_RATIO: ratio}
