"""The operations on a draft: each changes the state being edited and says what happened as a ``Fact``.

A draft is first normalised (tracks with segments, whole milliseconds, ``d`` covering every segment), then edited
in place on deep copies, then tidied into the draft a step publishes. Tool args name each operation in
``edit_multitrack``'s words (``{"action": "add_bgm", ...}``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import re
from collections.abc import Mapping
from typing import Any

from nemo_contract.protocol import FileType, TrackType
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import GeneratedMedia, Segment, draft_is_exportable, segments_of, tracks_of

from .reading import Lang, Op
from .wording import MUSIC_PICKS, TITLE_PICKS, Fact

__all__ = [
    "ASPECTS",
    "BGM_VOLUME",
    "MAX_DRAFT_MS",
    "TITLE_MS",
    "Ctx",
    "Work",
    "apply_all",
    "as_ms",
    "canvas",
    "copy_list",
    "music",
    "new_id",
    "normalise",
    "readable",
    "tidy",
    "title",
]

BGM_VOLUME = 0.35
TITLE_MS = 3000
VOLUME_STEP = 0.15
ASPECTS: Mapping[str, tuple[int, int]] = {
    "16:9": (1920, 1080),
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "4:5": (1080, 1350),
    "4:3": (1440, 1080),
}
#: The longest draft the service renders: 30 minutes (the spec's maximum of `d`).
MAX_DRAFT_MS = 30 * 60 * 1000
#: The facts that say a draft changed; every other fact says why an operation changed nothing.
_CHANGES = {"music", "music_replaced", "music_removed", "title", "trim", "aspect", "transitions"}
_CHANGES |= {"transitions_split", "volume"}


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


def _segment_id(ctx: Ctx, draft: Mapping[str, Any]) -> str:
    used = {s.get(f.ID) for t in tracks_of(draft) for s in segments_of(t)}
    while (found := new_id(ctx, "sg_", 8)) in used:
        pass
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


# -- operations: each changes ``w`` and says what happened as a Fact ------------------------------------------


def music(w: Work, ctx: Ctx, genre: str | None, prompt: str = "") -> tuple[Fact, dict[str, Any], GeneratedMedia | None]:
    """One BGM segment under the whole draft, in place of any audio track.

    A named style asks for new music; otherwise the session's first audio upload is used when there is one. Returns
    the fact, the operation as tool args say it, and the ``generated_media`` entry (None for an upload).
    """
    total = w.draft[f.DURATION_MS]
    audio = next((u for u in ctx.uploads if u.get(f.FILE_TYPE) == FileType.AUDIO), None) if genre is None else None
    entry: GeneratedMedia | None = None
    if audio is not None:
        label, url = readable(audio.get(f.FILENAME), "music"), str(audio.get(f.CDN_URL, ""))
    else:
        label = genre or ctx.rng.choice(MUSIC_PICKS)
        media_id = new_id(ctx, "gen_", 12)
        url = f"{ctx.cdn_base}/generated/{media_id}.mp3"
        about = f"{label} background music" + (f" for: {prompt}" if prompt else "")
        entry = {f.ID: media_id, f.MEDIA_TYPE: "audio", f.URL: url, f.DURATION: total / 1000, f.PROMPT: about}
        w.media.append(entry)
        w.media_changed = True
    segment: Segment = {
        f.ID: _segment_id(ctx, w.draft),
        f.LABEL: label,
        f.START_MS: 0,
        f.DURATION_MS: total,
        f.SOURCE_URL: url,
        f.VOLUME: BGM_VOLUME,
    }
    tracks = w.draft[f.TRACKS]
    audio_at = [i for i, t in enumerate(tracks) if t.get(f.TRACK_TYPE) == TrackType.AUDIO]
    others = [t for t in tracks if t.get(f.TRACK_TYPE) != TrackType.AUDIO]
    if audio_at:  # the new BGM takes the old one's place
        position = audio_at[0]
    else:  # BGM goes between the video and the titles, the order of the track summary
        position = next((i for i, t in enumerate(others) if t.get(f.TRACK_TYPE) == TrackType.TEXT), len(others))
    others.insert(position, {f.TRACK_TYPE: int(TrackType.AUDIO), f.SEGMENTS: [segment]})
    w.draft[f.TRACKS] = others
    shown = {"label": label, "pct": round(BGM_VOLUME * 100), "span": (0, total)}
    action = {"action": "add_bgm", "label": label, "source": url, "volume": BGM_VOLUME}
    return ("music_replaced" if audio_at else "music", shown), action, entry


def _unmusic(w: Work) -> Fact:
    before = len(w.draft[f.TRACKS])
    w.draft[f.TRACKS] = [t for t in w.draft[f.TRACKS] if t.get(f.TRACK_TYPE) != TrackType.AUDIO]
    return ("music_removed", {}) if len(w.draft[f.TRACKS]) < before else ("nothing_to_remove", {})


def title(w: Work, ctx: Ctx, text: str) -> Fact:
    end = min(TITLE_MS, w.draft[f.DURATION_MS])
    tracks = w.draft[f.TRACKS]
    texts_at = [i for i, t in enumerate(tracks) if t.get(f.TRACK_TYPE) == TrackType.TEXT]
    shown = (
        [(s.get(f.CAPTION), s[f.START_MS], s[f.DURATION_MS]) for s in tracks[texts_at[0]][f.SEGMENTS]]
        if texts_at
        else []
    )
    if len(texts_at) == 1 and shown == [(text, 0, end)]:
        return ("same_title", {"words": text})
    segment: Segment = {
        f.ID: _segment_id(ctx, w.draft),
        f.LABEL: text,
        f.START_MS: 0,
        f.DURATION_MS: end,
        f.CAPTION: text,
    }
    kept = [t for t in tracks if t.get(f.TRACK_TYPE) != TrackType.TEXT]
    kept.insert(texts_at[0] if texts_at else len(kept), {f.TRACK_TYPE: int(TrackType.TEXT), f.SEGMENTS: [segment]})
    w.draft[f.TRACKS] = kept
    w.draft[f.META][f.TITLE] = text
    return ("title", {"words": text, "span": (0, end)})


def _trim(w: Work, secs: float) -> Fact:
    limit, current = round(secs * 1000), w.draft[f.DURATION_MS]
    if limit <= 0:
        return ("trim_invalid", {})
    if limit >= current:  # a trim only shortens; it never pads the video with nothing
        return ("trim_too_long", {"secs": limit, "current": current})
    for track in w.draft[f.TRACKS]:
        track[f.SEGMENTS] = [s for s in track[f.SEGMENTS] if s[f.START_MS] < limit]
        for seg in track[f.SEGMENTS]:
            seg[f.DURATION_MS] = min(seg[f.DURATION_MS], limit - seg[f.START_MS])
    w.draft[f.TRACKS] = [t for t in w.draft[f.TRACKS] if t[f.SEGMENTS]]
    w.draft[f.DURATION_MS] = limit
    return ("trim", {"secs": limit})


def _aspect(w: Work, ratio: str) -> Fact:
    width, height = ASPECTS[ratio]
    meta = w.draft[f.META]
    if (meta.get(f.WIDTH), meta.get(f.HEIGHT)) == (width, height) and w.canvas == canvas(width, height):
        return ("same_aspect", {"ratio": ratio})
    meta[f.WIDTH], meta[f.HEIGHT] = width, height
    w.canvas = canvas(width, height)
    return ("aspect", {"ratio": ratio, f.WIDTH: width, f.HEIGHT: height})


def _transitions(w: Work, ctx: Ctx, name: str) -> Fact:
    videos = [t for t in w.draft[f.TRACKS] if t.get(f.TRACK_TYPE) == TrackType.VIDEO]
    if not videos:
        return ("no_video", {})
    before = copy.deepcopy(videos)
    split = False
    for track in videos:
        segments = track[f.SEGMENTS]
        if len(segments) == 1 and segments[0][f.DURATION_MS] >= 2:  # a lone clip is halved so a transition can exist
            first = segments[0]
            half = first[f.DURATION_MS] // 2
            second = {
                **first,
                f.ID: _segment_id(ctx, w.draft),
                f.START_MS: first[f.START_MS] + half,
                f.DURATION_MS: first[f.DURATION_MS] - half,
            }
            segments.append(second)
            first[f.DURATION_MS] = half
            split = True
        for seg in segments[:-1]:
            seg[f.TRANSITION] = name
        segments[-1].pop(f.TRANSITION, None)
    if videos == before:
        return ("same_transitions", {})
    return ("transitions_split" if split else "transitions", {"transition": name, "clips": len(videos[0][f.SEGMENTS])})


def _volume(w: Work, mode: str, amount: float) -> Fact:
    audio = [s for t in w.draft[f.TRACKS] if t.get(f.TRACK_TYPE) == TrackType.AUDIO for s in t[f.SEGMENTS]]
    if not audio:
        return ("no_music", {})
    changed = False
    for seg in audio:
        old = seg.get(f.VOLUME)
        base = float(old) if isinstance(old, int | float) and math.isfinite(old) else 1.0
        new = round(min(1.0, max(0.0, amount if mode == "set" else base + amount * VOLUME_STEP)), 2)
        changed = changed or new != old
        seg[f.VOLUME] = new
    pct = round(audio[0][f.VOLUME] * 100)
    return ("volume", {"pct": pct}) if changed else ("same_volume", {"pct": pct})


def _apply(w: Work, ctx: Ctx, op: Op) -> tuple[Fact, dict[str, Any]]:
    """Run one operation on ``w``: what happened, and the operation as ``edit_multitrack``'s args say it."""
    if op.kind == "music":
        fact, action, _ = music(w, ctx, op.value)
        return fact, action
    if op.kind == "unmusic":
        return _unmusic(w), {"action": "remove_bgm"}
    if op.kind == "title":
        text = op.value or ctx.rng.choice(TITLE_PICKS[ctx.lang])
        return title(w, ctx, text), {"action": "set_title", f.TEXT: text}
    if op.kind == "trim":
        return _trim(w, op.value), {"action": "trim", "duration_ms": round(op.value * 1000)}
    if op.kind == "aspect":
        width, height = ASPECTS[op.value]
        return _aspect(w, op.value), {
            "action": "set_canvas",
            f.ASPECT_RATIO: op.value,
            f.WIDTH: width,
            f.HEIGHT: height,
        }
    if op.kind == "transitions":
        return _transitions(w, ctx, op.value), {"action": "add_transitions", "transition": op.value}
    mode, amount = op.value
    said = {"volume": amount} if mode == "set" else {"change": amount * VOLUME_STEP}
    return _volume(w, mode, amount), {"action": "set_volume", **said}


def apply_all(w: Work, ctx: Ctx, ops: list[Op]) -> tuple[list[Fact], list[Fact], list[dict[str, Any]]]:
    """Run ``ops`` in order: (what changed, why the others changed nothing, the operations as tool args)."""
    changes: list[Fact] = []
    notes: list[Fact] = []
    actions: list[dict[str, Any]] = []
    for op in ops:
        fact, action = _apply(w, ctx, op)
        (changes if fact[0] in _CHANGES else notes).append(fact)
        actions.append(action)
    return changes, notes, actions
