"""The operations on a draft: each changes the state being edited (``draft.Work``) and says what happened.

An operation returns a ``Fact`` (a wording key and the fields the wording shows: what changed, or why nothing did)
and the operation as ``edit_multitrack``'s tool args say it (``{"action": "add_bgm", ...}``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from nemo_contract.protocol import FileType, TrackType, shapes
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import GeneratedMedia

from .draft import (
    ASPECTS,
    MAX_DRAFT_MS,
    SFX_SUFFIX,
    SUBTITLE_LABEL,
    Ctx,
    Work,
    canvas,
    cut_to,
    new_id,
    readable,
    segment_ids,
    track_kind,
)
from .reading import Op
from .wording import MUSIC_PICKS, SFX_PICKS, SUBTITLE_PICKS, TITLE_PICKS, Fact

__all__ = ["BGM_VOLUME", "SFX_MS", "SFX_VOLUME", "SUBTITLE_LINE_MS", "TITLE_MS", "apply_all", "music", "title"]

BGM_VOLUME = 0.35
TITLE_MS = 3000
VOLUME_STEP = 0.15
#: A sound effect's length (shorter drafts get one as long as they are) and volume.
SFX_MS = 1500
SFX_VOLUME = 0.8
#: About how long one subtitle line stays on screen; a long video gets longer lines, at most _MAX_LINES of them.
SUBTITLE_LINE_MS = 2500
_MAX_LINES = 120
#: The facts that say a draft changed; every other fact says why an operation changed nothing.
_CHANGES = {"music", "music_replaced", "music_removed", "title", "trim", "aspect", "transitions"}
_CHANGES |= {"transitions_split", "volume", "title_removed", "subtitles", "subtitles_removed", "sfx", "cut_end"}
_CHANGES |= {"speed_up", "slow_down", "speed_normal", "filter", "filter_removed"}

Action = dict[str, Any]


def _tracks(w: Work, *kinds: str) -> list[dict[str, Any]]:
    return [t for t in w.draft[f.TRACKS] if track_kind(t) in kinds]


def _new_media(w: Work, ctx: Ctx, ms: int, prompt: str) -> GeneratedMedia:
    """A generated audio file of ``ms`` milliseconds, added to ``generated_media``."""
    media_id = new_id(ctx, "gen_", 12)
    url = f"{ctx.cdn_base}/generated/{media_id}.mp3"
    entry: GeneratedMedia = {f.ID: media_id, f.MEDIA_TYPE: "audio", f.URL: url, f.DURATION: ms / 1000, f.PROMPT: prompt}
    w.media.append(entry)
    w.media_changed = True
    return entry


# -- audio ----------------------------------------------------------------------------------------------------


def music(w: Work, ctx: Ctx, genre: str | None, prompt: str = "") -> tuple[Fact, Action, GeneratedMedia | None]:
    """One BGM segment under the whole draft, in place of any BGM track (sound effects stay).

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
        about = f"{label} background music" + (f" for: {prompt}" if prompt else "")
        entry = _new_media(w, ctx, total, about)
        url = entry[f.URL]
    (sid,) = segment_ids(ctx, w.draft)
    segment = shapes.segment(sid, label, 0, total, **{f.SOURCE_URL: url, f.VOLUME: BGM_VOLUME})
    tracks = w.draft[f.TRACKS]
    bgm_at = [i for i, t in enumerate(tracks) if track_kind(t) == "bgm"]
    others = [t for t in tracks if track_kind(t) != "bgm"]
    if bgm_at:  # the new BGM takes the old one's place
        position = bgm_at[0]
    else:  # BGM goes between the video and the rest, the order of the track summary
        kinds = (TrackType.AUDIO, TrackType.TEXT)
        position = next((i for i, t in enumerate(others) if t.get(f.TRACK_TYPE) in kinds), len(others))
    others.insert(position, shapes.track(TrackType.AUDIO, [segment]))
    w.draft[f.TRACKS] = others
    shown = {"label": label, "pct": round(BGM_VOLUME * 100), "span": (0, total)}
    action = {"action": "add_bgm", "label": label, "source": url, "volume": BGM_VOLUME}
    return ("music_replaced" if bgm_at else "music", shown), action, entry


def _unmusic(w: Work) -> Fact:
    before = len(w.draft[f.TRACKS])
    w.draft[f.TRACKS] = [t for t in w.draft[f.TRACKS] if track_kind(t) != "bgm"]
    return ("music_removed", {}) if len(w.draft[f.TRACKS]) < before else ("nothing_to_remove", {})


def _volume(w: Work, mode: str, amount: float) -> Fact:
    audio = [s for t in _tracks(w, "bgm") for s in t[f.SEGMENTS]]
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


def _sfx(w: Work, ctx: Ctx, name: str | None, where: str) -> tuple[Fact, Action]:
    """A short generated sound effect at the start (or the end), on the sound effects' own audio track."""
    total = w.draft[f.DURATION_MS]
    length = min(SFX_MS, total)
    start = 0 if where == "start" else total - length
    name = name or ctx.rng.choice(SFX_PICKS)
    entry = _new_media(w, ctx, length, f"{name} sound effect")
    (sid,) = segment_ids(ctx, w.draft)
    segment = shapes.segment(
        sid, name + SFX_SUFFIX, start, length, **{f.SOURCE_URL: entry[f.URL], f.VOLUME: SFX_VOLUME}
    )
    tracks = w.draft[f.TRACKS]
    effects = _tracks(w, "effects")
    if effects:  # it takes the place of any effect it would overlap
        kept = [
            s
            for s in effects[0][f.SEGMENTS]
            if s[f.START_MS] + s[f.DURATION_MS] <= start or s[f.START_MS] >= start + length
        ]
        effects[0][f.SEGMENTS] = sorted([*kept, segment], key=lambda s: s[f.START_MS])
    else:  # after the BGM, before the text tracks
        position = next((i for i, t in enumerate(tracks) if t.get(f.TRACK_TYPE) == TrackType.TEXT), len(tracks))
        tracks.insert(position, shapes.track(TrackType.AUDIO, [segment]))
    shown = {"label": name, "where": where, "span": (start, start + length)}
    action = {"action": "add_sound_effect", "label": name, "source": entry[f.URL], "start_ms": start}
    return ("sfx", shown), {**action, "duration_ms": length, "volume": SFX_VOLUME}


# -- text -----------------------------------------------------------------------------------------------------


def title(w: Work, ctx: Ctx, text: str) -> Fact:
    """The title, on the title's own text track (subtitles stay)."""
    end = min(TITLE_MS, w.draft[f.DURATION_MS])
    tracks = w.draft[f.TRACKS]
    titles_at = [i for i, t in enumerate(tracks) if track_kind(t) == "title"]
    if len(titles_at) == 1:
        shown = [(s.get(f.CAPTION), s[f.START_MS], s[f.DURATION_MS]) for s in tracks[titles_at[0]][f.SEGMENTS]]
        if shown == [(text, 0, end)]:
            return ("same_title", {"words": text})
    (sid,) = segment_ids(ctx, w.draft)
    segment = shapes.segment(sid, text, 0, end, **{f.CAPTION: text})
    kept = [t for t in tracks if track_kind(t) != "title"]
    subtitles_at = next((i for i, t in enumerate(kept) if track_kind(t) == "subtitles"), len(kept))
    kept.insert(titles_at[0] if titles_at else subtitles_at, shapes.track(TrackType.TEXT, [segment]))
    w.draft[f.TRACKS] = kept
    w.draft[f.META][f.TITLE] = text
    return ("title", {"words": text, "span": (0, end)})


def _untitle(w: Work) -> Fact:
    meta = w.draft[f.META]
    titles = _tracks(w, "title")
    words = meta.get(f.TITLE) or next((str(s.get(f.CAPTION, "")) for t in titles for s in t[f.SEGMENTS]), "")
    if not titles and not meta.get(f.TITLE):
        return ("no_title", {})
    w.draft[f.TRACKS] = [t for t in w.draft[f.TRACKS] if track_kind(t) != "title"]
    meta[f.TITLE] = ""
    return ("title_removed", {"words": words})


def _subtitles(w: Work, ctx: Ctx) -> Fact:
    """Caption lines spread evenly over the video, on the subtitles' own text track, in place of any before."""
    clips = [s for t in _tracks(w, "video") for s in t[f.SEGMENTS]]
    if not clips:
        return ("no_video_subtitles", {})
    start = min(s[f.START_MS] for s in clips)
    end = max(s[f.START_MS] + s[f.DURATION_MS] for s in clips)
    count = max(1, min(_MAX_LINES, math.ceil((end - start) / SUBTITLE_LINE_MS)))
    spans = [(start + (end - start) * i // count, start + (end - start) * (i + 1) // count) for i in range(count)]
    tracks = w.draft[f.TRACKS]
    before = [i for i, t in enumerate(tracks) if track_kind(t) == "subtitles"]
    if (
        len(before) == 1
        and [(s[f.START_MS], s[f.START_MS] + s[f.DURATION_MS]) for s in tracks[before[0]][f.SEGMENTS]] == spans
    ):
        return ("same_subtitles", {})
    picks = SUBTITLE_PICKS[ctx.lang]
    first = ctx.rng.randrange(len(picks))  # the lines follow on from a seeded one, so no line repeats the last
    ids = segment_ids(ctx, w.draft, count)
    lines = [
        shapes.segment(sid, SUBTITLE_LABEL, a, b - a, **{f.CAPTION: picks[(first + i) % len(picks)]})
        for i, (sid, (a, b)) in enumerate(zip(ids, spans, strict=True))
    ]
    kept = [t for t in tracks if track_kind(t) != "subtitles"]
    kept.insert(before[0] if before else len(kept), shapes.track(TrackType.TEXT, lines))
    w.draft[f.TRACKS] = kept
    return ("subtitles", {"lines": count, "span": (start, end)})


def _unsubtitles(w: Work) -> Fact:
    before = len(w.draft[f.TRACKS])
    w.draft[f.TRACKS] = [t for t in w.draft[f.TRACKS] if track_kind(t) != "subtitles"]
    return ("subtitles_removed", {}) if len(w.draft[f.TRACKS]) < before else ("no_subtitles", {})


# -- time -----------------------------------------------------------------------------------------------------


def _trim(w: Work, secs: float) -> Fact:
    limit, current = round(secs * 1000), w.draft[f.DURATION_MS]
    if limit <= 0:
        return ("trim_invalid", {})
    if limit >= current:  # a trim only shortens; it never pads the video with nothing
        return ("trim_too_long", {"secs": limit, "current": current})
    cut_to(w.draft, limit)
    return ("trim", {"secs": limit})


def _cut_end(w: Work, secs: float) -> Fact:
    cut, current = round(secs * 1000), w.draft[f.DURATION_MS]
    if cut <= 0:
        return ("trim_invalid", {})
    if cut >= current:
        return ("cut_too_long", {"cut": cut, "current": current})
    cut_to(w.draft, current - cut)
    return ("cut_end", {"cut": cut, "secs": current - cut})


def _speed(w: Work, which: int | None, factor: float) -> Fact:
    """Play one clip (or every clip) of the video track faster or slower: it gets shorter or longer on the
    timeline and the clips after it move; a video that got shorter takes the rest of the draft's end with it."""
    videos = _tracks(w, "video")
    clips = sorted(videos[0][f.SEGMENTS], key=lambda s: s[f.START_MS]) if videos else []
    if not clips or (which is not None and not -len(clips) <= which < len(clips)):
        return ("no_clip", {})
    before = copy.deepcopy(w.draft)
    video_end = max(s[f.START_MS] + s[f.DURATION_MS] for s in clips)
    for seg in clips if which is None else [clips[which]]:
        old = seg.get(f.SPEED)
        base = float(old) if isinstance(old, int | float) and math.isfinite(old) and old > 0 else 1.0
        if base == factor:
            continue
        old_end, length = seg[f.START_MS] + seg[f.DURATION_MS], max(1, round(seg[f.DURATION_MS] * base / factor))
        for later in clips:
            if later is not seg and later[f.START_MS] >= old_end:
                later[f.START_MS] += length - seg[f.DURATION_MS]
        seg[f.DURATION_MS] = length
        if factor == 1:
            seg.pop(f.SPEED, None)
        else:
            seg[f.SPEED] = factor
    if w.draft == before:
        return ("same_speed", {"factor": factor})
    new_end = max(s[f.START_MS] + s[f.DURATION_MS] for s in clips)
    if new_end > MAX_DRAFT_MS:
        w.draft = before
        return ("speed_too_long", {})
    if new_end < video_end and w.draft[f.DURATION_MS] <= video_end:
        cut_to(w.draft, new_end)
    else:
        ends = [s[f.START_MS] + s[f.DURATION_MS] for t in w.draft[f.TRACKS] for s in t[f.SEGMENTS]]
        w.draft[f.DURATION_MS] = max(w.draft[f.DURATION_MS], *ends)
    key = "speed_up" if factor > 1 else "slow_down" if factor < 1 else "speed_normal"
    return (key, {"which": which, "factor": factor, "secs": w.draft[f.DURATION_MS]})


# -- the picture ----------------------------------------------------------------------------------------------


def _aspect(w: Work, ratio: str) -> Fact:
    width, height = ASPECTS[ratio]
    meta = w.draft[f.META]
    if (meta.get(f.WIDTH), meta.get(f.HEIGHT)) == (width, height) and w.canvas == canvas(width, height):
        return ("same_aspect", {"ratio": ratio})
    meta[f.WIDTH], meta[f.HEIGHT] = width, height
    w.canvas = canvas(width, height)
    return ("aspect", {"ratio": ratio, f.WIDTH: width, f.HEIGHT: height})


def _transitions(w: Work, ctx: Ctx, name: str) -> Fact:
    videos = _tracks(w, "video")
    if not videos:
        return ("no_video", {})
    before = copy.deepcopy(videos)
    split = False
    for track in videos:
        segments = track[f.SEGMENTS]
        if len(segments) == 1 and segments[0][f.DURATION_MS] >= 2:  # a lone clip is halved so a transition can exist
            first = segments[0]
            half = first[f.DURATION_MS] // 2
            (sid,) = segment_ids(ctx, w.draft)
            rest = first[f.DURATION_MS] - half
            segments.append({**first, f.ID: sid, f.START_MS: first[f.START_MS] + half, f.DURATION_MS: rest})
            first[f.DURATION_MS] = half
            split = True
        for seg in segments[:-1]:
            seg[f.TRANSITION] = name
        segments[-1].pop(f.TRANSITION, None)
    if videos == before:
        return ("same_transitions", {})
    return ("transitions_split" if split else "transitions", {"transition": name, "clips": len(videos[0][f.SEGMENTS])})


def _filter(w: Work, look: str | None) -> Fact:
    """A visual filter on every clip of the video (``None`` takes any filter off)."""
    clips = [s for t in _tracks(w, "video") for s in t[f.SEGMENTS]]
    if not clips:
        return ("no_video_filter", {})
    if look is None:
        had = [s.pop(f.FILTER) for s in clips if f.FILTER in s]
        return ("filter_removed", {}) if had else ("no_filter", {})
    if all(s.get(f.FILTER) == look for s in clips):
        return ("same_filter", {"look": look})
    for seg in clips:
        seg[f.FILTER] = look
    return ("filter", {"look": look, "clips": len(clips)})


# -- running a message's operations ---------------------------------------------------------------------------


def _set_volume(w: Work, ctx: Ctx, op: Op) -> tuple[Fact, Action]:
    mode, amount = op.value
    said = {"volume": amount} if mode == "set" else {"change": amount * VOLUME_STEP}
    return _volume(w, mode, amount), {"action": "set_volume", **said}


def _set_title(w: Work, ctx: Ctx, op: Op) -> tuple[Fact, Action]:
    text = op.value or ctx.rng.choice(TITLE_PICKS[ctx.lang])
    return title(w, ctx, text), {"action": "set_title", f.TEXT: text}


def _set_canvas(w: Work, ctx: Ctx, op: Op) -> tuple[Fact, Action]:
    width, height = ASPECTS[op.value]
    return _aspect(w, op.value), {"action": "set_canvas", f.ASPECT_RATIO: op.value, f.WIDTH: width, f.HEIGHT: height}


def _set_speed(w: Work, ctx: Ctx, op: Op) -> tuple[Fact, Action]:
    which, factor = op.value
    return _speed(w, which, factor), {"action": "set_speed", "clip": "all" if which is None else which, "speed": factor}


# Keyed by Op kind (words of the agent's own; some of them happen to spell protocol field names, hence keywords).
_OPERATIONS: dict[str, Callable[[Work, Ctx, Op], tuple[Fact, Action]]] = dict(
    music=lambda w, ctx, op: music(w, ctx, op.value)[:2],
    unmusic=lambda w, ctx, op: (_unmusic(w), {"action": "remove_bgm"}),
    volume=_set_volume,
    sfx=lambda w, ctx, op: _sfx(w, ctx, *op.value),
    title=_set_title,
    untitle=lambda w, ctx, op: (_untitle(w), {"action": "remove_title"}),
    subtitles=lambda w, ctx, op: (_subtitles(w, ctx), {"action": "add_subtitles"}),
    unsubtitles=lambda w, ctx, op: (_unsubtitles(w), {"action": "remove_subtitles"}),
    trim=lambda w, ctx, op: (_trim(w, op.value), {"action": "trim", "duration_ms": round(op.value * 1000)}),
    cut_end=lambda w, ctx, op: (_cut_end(w, op.value), {"action": "cut_end", "duration_ms": round(op.value * 1000)}),
    speed=_set_speed,
    aspect=_set_canvas,
    transitions=lambda w, ctx, op: (
        _transitions(w, ctx, op.value),
        {"action": "add_transitions", "transition": op.value},
    ),
    filter=lambda w, ctx, op: (_filter(w, op.value), {"action": "set_filter", "filter": op.value or "none"}),
)


def apply_all(w: Work, ctx: Ctx, ops: list[Op]) -> tuple[list[Fact], list[Fact], list[Action]]:
    """Run ``ops`` in order: (what changed, why the others changed nothing, the operations as tool args)."""
    changes: list[Fact] = []
    notes: list[Fact] = []
    actions: list[Action] = []
    for op in ops:
        fact, action = _OPERATIONS[op.kind](w, ctx, op)
        (changes if fact[0] in _CHANGES else notes).append(fact)
        actions.append(action)
    return changes, notes, actions
