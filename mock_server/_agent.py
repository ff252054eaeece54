"""The emulator's editing agent: a deterministic, rule-based stand-in for NemoVideo's cloud agent.

``plan_turn`` reads one user message and the session state and returns a ``TurnPlan``: the texts to send, the tool
steps to run (each with the state keys it replaces) and how long each part takes on the virtual clock. The SSE layer
turns the plan into events. Every random choice comes from the ``random.Random`` passed in, so the same message,
state and seed always give the same plan. The words it understands and says live in ``_agent_texts``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import re
from collections.abc import Mapping
from typing import Any, Literal

from nemo_contract.protocol import FileType, TrackType
from nemo_contract.protocol.shapes import draft_is_exportable

from . import _agent_texts as texts
from ._agent_texts import Fact, Lang, Op

__all__ = ["ASPECTS", "BGM_VOLUME", "TITLE_MS", "ToolStep", "TurnPlan", "plan_turn"]


@dataclasses.dataclass(frozen=True, slots=True)
class ToolStep:
    """One tool call: its name and args, how long it runs, what it answers, the state keys it replaces."""

    name: str  # generate_video_with_seedance | generate_music | understand_video | edit_multitrack
    args: dict[str, Any]
    duration: float  # virtual seconds; the stream sends heartbeats meanwhile
    response: dict[str, Any]  # the functionResponse "response" object
    state_delta: dict[str, Any]  # complete new values of any of "draft", "generated_media", "canvas_config"


@dataclasses.dataclass(frozen=True, slots=True)
class TurnPlan:
    """One turn; opening_delay + the step durations + closing_delay is its duration."""

    kind: Literal["generation", "edit", "chat"]
    opening: str | None  # text before the tools run
    opening_delay: float  # virtual seconds before the opening text (or the first tool)
    steps: tuple[ToolStep, ...]
    closing: str | None  # text after the tools; None: the stream closes without any
    closing_delay: float  # virtual seconds between the last tool response and the closing text


BGM_VOLUME = 0.35
TITLE_MS = 3000
IMAGE_MS = 3000
UNKNOWN_VIDEO_MS = 5000
DEFAULT_SECONDS = 10
MAX_SECONDS = 60  # a prompt-only clip; longer asks are clamped so the emulator never has to render minutes of video
VOLUME_STEP = 0.15
ASPECTS: Mapping[str, tuple[int, int]] = {
    "16:9": (1920, 1080),
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "4:5": (1080, 1350),
    "4:3": (1440, 1080),
}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CHANGES = {"music", "music_replaced", "music_removed", "title", "trim", "aspect", "transitions"}
_CHANGES |= {"transitions_split", "volume"}


#: The longest draft the service renders: 30 minutes (the spec's maximum of `d`).
MAX_DRAFT_MS = 30 * 60 * 1000


def plan_turn(
    message: str,
    state: Mapping[str, Any],
    *,
    language: str | None,
    rng: random.Random,
    silent_close_rate: float,
    durations: Mapping[str, tuple[float, float]],
    cdn_base: str,
) -> TurnPlan:
    """The agent's answer to ``message`` in a session whose state is ``state`` (read, never modified)."""
    infos = state.get("video_infos")
    uploads = tuple(f for f in infos if isinstance(f, Mapping)) if isinstance(infos, list) else ()
    ctx = _Ctx(rng, _language(message, language), cdn_base.rstrip("/"), uploads, durations)
    said = texts.read(message, ctx.lang)
    ops = list(said.ops)
    raw = state.get("draft")
    tracks = len(_normalise(raw)["t"]) if isinstance(raw, Mapping) and draft_is_exportable(dict(raw)) else 0
    # A plain "make a video" always generates; a bare generating verb only when there is nothing to edit instead.
    if said.strength == 2 or (said.strength == 1 and not (tracks and ops)):
        return _plan_generation(ctx, message, said, state)
    if ops and tracks:
        return _plan_edit(ctx, ops, state, silent_close_rate)
    if ops:  # an edit with nothing on the timeline: the real agent asks for a generation first
        visuals = sum(1 for f in uploads if f.get("file_type") in (FileType.VIDEO, FileType.IMAGE))
        return _chat(ctx, texts.generate_first(rng, ctx.lang, visuals))
    return _chat(ctx, texts.help_reply(rng, ctx.lang, tracks))


# -- helpers --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Ctx:
    rng: random.Random
    lang: Lang
    cdn_base: str
    uploads: tuple[Mapping[str, Any], ...]
    durations: Mapping[str, tuple[float, float]]


@dataclasses.dataclass(slots=True)
class _Work:
    """The state being edited, as deep copies, so the caller's state is never touched."""

    draft: dict[str, Any]
    canvas: dict[str, Any]
    media: list[Any]
    media_changed: bool = False


@dataclasses.dataclass(slots=True)
class _Spec:
    """A tool step before the turn's duration is shared out."""

    name: str
    args: dict[str, Any]
    response: dict[str, Any]
    delta: dict[str, Any]
    weight: float


def _language(message: str, language: str | None) -> Lang:
    if language and language.strip():
        return "zh" if language.strip().lower().startswith("zh") else "en"
    return "zh" if _CJK.search(message) else "en"


def _new_id(ctx: _Ctx, prefix: str, digits: int) -> str:
    return f"{prefix}{ctx.rng.getrandbits(digits * 4):0{digits}x}"


def _segment_id(ctx: _Ctx, draft: Mapping[str, Any]) -> str:
    used = {s.get("id") for t in draft.get("t", []) for s in t["sg"]}
    while (found := _new_id(ctx, "sg_", 8)) in used:
        pass
    return found


def _ms(value: Any) -> int | None:
    """``value`` as a non-negative whole number (of milliseconds), or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return round(value)


def _copy_list(value: Any) -> list[Any]:
    return copy.deepcopy(list(value)) if isinstance(value, list) else []


def _normalise(raw: Any) -> dict[str, Any]:
    """A deep copy of a draft in the shape the operations expect: tracks with segments, whole ms, ``d`` covering all."""
    draft = copy.deepcopy(dict(raw)) if isinstance(raw, Mapping) else {}
    tracks, raw_tracks, raw_meta = [], draft.get("t"), draft.get("m")
    for track in raw_tracks if isinstance(raw_tracks, list) else []:
        if isinstance(track, dict) and isinstance(track.get("sg"), list):
            segments = [s for s in track["sg"] if isinstance(s, dict) and _ms(s.get("d"))]
            for seg in segments:
                seg["st"], seg["d"] = _ms(seg.get("st")) or 0, _ms(seg["d"])
            if segments:
                tracks.append({**track, "sg": segments})
    end = max((s["st"] + s["d"] for t in tracks for s in t["sg"]), default=0)
    meta = raw_meta if isinstance(raw_meta, dict) else {}
    draft.update(t=tracks, d=max(_ms(draft.get("d")) or 0, end), m={"title": "", "width": 1920, "height": 1080, **meta})
    draft["m"].setdefault("fps", 30)
    return draft


def _tidy(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft a step publishes: no empty track, no transition out of a track's last clip, ``{}`` when empty."""
    draft["t"] = [t for t in draft["t"] if t["sg"]]
    for track in draft["t"]:
        if track.get("tt") == TrackType.VIDEO:
            track["sg"][-1].pop("tr", None)
    return copy.deepcopy(draft) if draft_is_exportable(draft) else {}


def _canvas(width: int, height: int) -> dict[str, Any]:
    ratio = next((r for r, size in ASPECTS.items() if size == (width, height)), f"{width}:{height}")
    return {"width": width, "height": height, "aspect_ratio": ratio}


def _split(ctx: _Ctx, kind: str, weights: list[float]) -> list[float]:
    """The turn's duration, drawn from its kind's range, shared out among its parts by jittered weights."""
    low, high = ctx.durations[kind]
    total = ctx.rng.uniform(float(low), float(high))
    jittered = [w * ctx.rng.uniform(0.8, 1.2) for w in weights]
    return [total * j / sum(jittered) for j in jittered]


def _chat(ctx: _Ctx, text: str) -> TurnPlan:
    (total,) = _split(ctx, "text", [1.0])
    return TurnPlan("chat", None, 0.0, (), text, total)


# -- operations: each changes ``w`` and says what happened as a Fact ------------------------------------------


def _music(
    w: _Work, ctx: _Ctx, genre: str | None, prompt: str = ""
) -> tuple[Fact, dict[str, Any], dict[str, Any] | None]:
    """One BGM segment under the whole draft, in place of any audio track.

    A named style asks for new music; otherwise the session's first audio upload is used when there is one. Returns
    the fact, the operation as tool args say it, and the ``generated_media`` entry (None for an upload).
    """
    total = w.draft["d"]
    audio = next((f for f in ctx.uploads if f.get("file_type") == FileType.AUDIO), None) if genre is None else None
    entry: dict[str, Any] | None = None
    if audio is not None:
        label, url = texts.readable(audio.get("filename"), "music"), str(audio.get("cdn_url", ""))
    else:
        label = genre or ctx.rng.choice(texts.MUSIC_PICKS)
        media_id = _new_id(ctx, "gen_", 12)
        url = f"{ctx.cdn_base}/generated/{media_id}.mp3"
        about = f"{label} background music" + (f" for: {prompt}" if prompt else "")
        entry = {"id": media_id, "media_type": "audio", "url": url, "duration": total / 1000, "prompt": about}
        w.media.append(entry)
        w.media_changed = True
    segment = {"id": _segment_id(ctx, w.draft), "n": label, "st": 0, "d": total, "u": url, "v": BGM_VOLUME}
    tracks = w.draft["t"]
    audio_at = [i for i, t in enumerate(tracks) if t.get("tt") == TrackType.AUDIO]
    others = [t for t in tracks if t.get("tt") != TrackType.AUDIO]
    if audio_at:  # the new BGM takes the old one's place
        position = audio_at[0]
    else:  # BGM goes between the video and the titles, the order of the track summary
        position = next((i for i, t in enumerate(others) if t.get("tt") == TrackType.TEXT), len(others))
    others.insert(position, {"tt": int(TrackType.AUDIO), "sg": [segment]})
    w.draft["t"] = others
    fields = {"label": label, "pct": round(BGM_VOLUME * 100), "span": (0, total)}
    action = {"action": "add_bgm", "label": label, "source": url, "volume": BGM_VOLUME}
    return ("music_replaced" if audio_at else "music", fields), action, entry


def _unmusic(w: _Work) -> Fact:
    before = len(w.draft["t"])
    w.draft["t"] = [t for t in w.draft["t"] if t.get("tt") != TrackType.AUDIO]
    return ("music_removed", {}) if len(w.draft["t"]) < before else ("nothing_to_remove", {})


def _title(w: _Work, ctx: _Ctx, text: str) -> Fact:
    end = min(TITLE_MS, w.draft["d"])
    tracks = w.draft["t"]
    texts_at = [i for i, t in enumerate(tracks) if t.get("tt") == TrackType.TEXT]
    if len(texts_at) == 1 and [(s.get("x"), s["st"], s["d"]) for s in tracks[texts_at[0]]["sg"]] == [(text, 0, end)]:
        return ("same_title", {"text": text})
    segment = {"id": _segment_id(ctx, w.draft), "n": text, "st": 0, "d": end, "x": text}
    kept = [t for t in tracks if t.get("tt") != TrackType.TEXT]
    kept.insert(texts_at[0] if texts_at else len(kept), {"tt": int(TrackType.TEXT), "sg": [segment]})
    w.draft["t"] = kept
    w.draft["m"]["title"] = text
    return ("title", {"text": text, "span": (0, end)})


def _trim(w: _Work, secs: float) -> Fact:
    limit, current = round(secs * 1000), w.draft["d"]
    if limit <= 0:
        return ("trim_invalid", {})
    if limit >= current:  # a trim only shortens; it never pads the video with nothing
        return ("trim_too_long", {"secs": limit, "current": current})
    for track in w.draft["t"]:
        track["sg"] = [s for s in track["sg"] if s["st"] < limit]
        for seg in track["sg"]:
            seg["d"] = min(seg["d"], limit - seg["st"])
    w.draft["t"] = [t for t in w.draft["t"] if t["sg"]]
    w.draft["d"] = limit
    return ("trim", {"secs": limit})


def _aspect(w: _Work, ratio: str) -> Fact:
    width, height = ASPECTS[ratio]
    meta = w.draft["m"]
    if (meta.get("width"), meta.get("height")) == (width, height) and w.canvas == _canvas(width, height):
        return ("same_aspect", {"ratio": ratio})
    meta["width"], meta["height"] = width, height
    w.canvas = _canvas(width, height)
    return ("aspect", {"ratio": ratio, "width": width, "height": height})


def _transitions(w: _Work, ctx: _Ctx, name: str) -> Fact:
    videos = [t for t in w.draft["t"] if t.get("tt") == TrackType.VIDEO]
    if not videos:
        return ("no_video", {})
    before = copy.deepcopy(videos)
    split = False
    for track in videos:
        segments = track["sg"]
        if len(segments) == 1 and segments[0]["d"] >= 2:  # a lone clip is halved so that a transition can exist
            first = segments[0]
            half = first["d"] // 2
            segments.append(
                {**first, "id": _segment_id(ctx, w.draft), "st": first["st"] + half, "d": first["d"] - half}
            )
            first["d"] = half
            split = True
        for seg in segments[:-1]:
            seg["tr"] = name
        segments[-1].pop("tr", None)
    if videos == before:
        return ("same_transitions", {})
    return ("transitions_split" if split else "transitions", {"name": name, "clips": len(videos[0]["sg"])})


def _volume(w: _Work, mode: str, amount: float) -> Fact:
    audio = [s for t in w.draft["t"] if t.get("tt") == TrackType.AUDIO for s in t["sg"]]
    if not audio:
        return ("no_music", {})
    changed = False
    for seg in audio:
        old = seg.get("v")
        base = float(old) if isinstance(old, int | float) and math.isfinite(old) else 1.0
        new = round(min(1.0, max(0.0, amount if mode == "set" else base + amount * VOLUME_STEP)), 2)
        changed = changed or new != old
        seg["v"] = new
    pct = round(audio[0]["v"] * 100)
    return ("volume", {"pct": pct}) if changed else ("same_volume", {"pct": pct})


def _apply(w: _Work, ctx: _Ctx, op: Op) -> tuple[Fact, dict[str, Any]]:
    """Run one operation on ``w``: what happened, and the operation as ``edit_multitrack``'s args say it."""
    if op.kind == "music":
        fact, action, _ = _music(w, ctx, op.value)
        return fact, action
    if op.kind == "unmusic":
        return _unmusic(w), {"action": "remove_bgm"}
    if op.kind == "title":
        text = op.value or ctx.rng.choice(texts.TITLE_PICKS[ctx.lang])
        return _title(w, ctx, text), {"action": "set_title", "text": text}
    if op.kind == "trim":
        return _trim(w, op.value), {"action": "trim", "duration_ms": round(op.value * 1000)}
    if op.kind == "aspect":
        width, height = ASPECTS[op.value]
        return _aspect(w, op.value), {
            "action": "set_canvas",
            "aspect_ratio": op.value,
            "width": width,
            "height": height,
        }
    if op.kind == "transitions":
        return _transitions(w, ctx, op.value), {"action": "add_transitions", "transition": op.value}
    mode, amount = op.value
    said = {"volume": amount} if mode == "set" else {"change": amount * VOLUME_STEP}
    return _volume(w, mode, amount), {"action": "set_volume", **said}


def _apply_all(w: _Work, ctx: _Ctx, ops: list[Op]) -> tuple[list[Fact], list[Fact], list[dict[str, Any]]]:
    """Run ``ops`` in order: (what changed, why the others changed nothing, the operations as tool args)."""
    changes: list[Fact] = []
    notes: list[Fact] = []
    actions: list[dict[str, Any]] = []
    for op in ops:
        fact, action = _apply(w, ctx, op)
        (changes if fact[0] in _CHANGES else notes).append(fact)
        actions.append(action)
    return changes, notes, actions


def _edit_spec(actions: list[dict[str, Any]], draft: Mapping[str, Any], delta: dict[str, Any], weight: float) -> _Spec:
    response = {"status": "success", "applied": len(actions), "track_count": len(draft.get("t", []))}
    response["duration"] = draft.get("d", 0) / 1000
    return _Spec("edit_multitrack", {"operations": actions}, response, delta, weight)


def _steps(specs: list[_Spec], durations: list[float]) -> tuple[ToolStep, ...]:
    return tuple(ToolStep(s.name, s.args, d, s.response, s.delta) for s, d in zip(specs, durations, strict=True))


# -- turns ----------------------------------------------------------------------------------------------------


def _plan_edit(ctx: _Ctx, ops: list[Op], state: Mapping[str, Any], silent_close_rate: float) -> TurnPlan:
    canvas = state.get("canvas_config")
    w = _Work(
        _normalise(state.get("draft")),
        copy.deepcopy(dict(canvas)) if isinstance(canvas, Mapping) else {},
        _copy_list(state.get("generated_media")),
    )
    canvas_before = copy.deepcopy(w.canvas)
    changes, notes, actions = _apply_all(w, ctx, ops)
    if not changes:  # nothing to do is an answer, not an edit (and costs nothing)
        return _chat(ctx, texts.unchanged_reply(ctx.rng, ctx.lang, notes))
    # Exactly one draw decides silence, and the text is worded either way, so the rest of the plan (durations
    # included) is the same whatever the draw says.
    silent = ctx.rng.random() < silent_close_rate
    said = texts.edit_closing(ctx.rng, ctx.lang, changes, notes)
    final = _tidy(w.draft)
    delta: dict[str, Any] = {"draft": final}
    if w.canvas != canvas_before:
        delta["canvas_config"] = copy.deepcopy(w.canvas)
    if w.media_changed:
        delta["generated_media"] = copy.deepcopy(w.media)
    opening_delay, step, closing_delay = _split(ctx, "edit", [0.1, 0.8, 0.1])
    steps = _steps([_edit_spec(actions, final, delta, 0.8)], [step])
    return TurnPlan("edit", None, opening_delay, steps, None if silent else said, closing_delay)


def _orientation(visuals: list[Mapping[str, Any]]) -> tuple[int, int]:
    """The canvas of the first visual upload's orientation (landscape when unknown)."""
    width, height = (_ms(visuals[0].get("width")), _ms(visuals[0].get("height"))) if visuals else (None, None)
    if not width or not height:
        return ASPECTS["16:9"]
    return ASPECTS["16:9" if width > height else "9:16" if height > width else "1:1"]


def _from_uploads(w: _Work, ctx: _Ctx, visuals: list[Mapping[str, Any]], prompt: str) -> list[_Spec]:
    """Stage one with uploads: understand them, then lay them end to end on the video track, in upload order."""
    segments: list[dict[str, Any]] = []
    start = 0
    for info in visuals:
        if start >= MAX_DRAFT_MS:  # a timeline holds 30 minutes at most; later uploads do not fit
            break
        seconds = info.get("duration")
        known = _ms(seconds * 1000) if isinstance(seconds, int | float) else None
        d = IMAGE_MS if info.get("file_type") == FileType.IMAGE else max(1, known or UNKNOWN_VIDEO_MS)
        d = min(d, MAX_DRAFT_MS - start)
        label = texts.readable(info.get("filename"))
        segments.append(
            {"id": _new_id(ctx, "sg_", 8), "n": label, "st": start, "d": d, "u": str(info.get("cdn_url", ""))}
        )
        start += d
    w.draft = {"t": [{"tt": int(TrackType.VIDEO), "sg": segments}], "d": start, "m": w.draft["m"]}
    files = [str(f.get("filename", "")) for f in visuals[: len(segments)]]
    analyses = [
        {"filename": f, "duration": s["d"] / 1000, "scenes": 1 + s["d"] // 4000}
        for f, s in zip(files, segments, strict=True)
    ]
    understand = _Spec(
        "understand_video", {"files": files, "prompt": prompt}, {"status": "success", "analyses": analyses}, {}, 0.15
    )
    build = [{"action": "add_clip", "label": s["n"], "source": s["u"], "duration_ms": s["d"]} for s in segments]
    delta = {"draft": copy.deepcopy(w.draft), "canvas_config": copy.deepcopy(w.canvas)}
    return [understand, _edit_spec(build, w.draft, delta, 0.12)]


def _from_prompt(w: _Work, ctx: _Ctx, label: str, prompt: str, secs: int) -> _Spec:
    """Stage one without uploads: one generated clip of the asked length."""
    media_id = _new_id(ctx, "gen_", 12)
    url = f"{ctx.cdn_base}/generated/{media_id}.mp4"
    segment = {"id": _new_id(ctx, "sg_", 8), "n": label, "st": 0, "d": secs * 1000, "u": url}
    w.draft = {"t": [{"tt": int(TrackType.VIDEO), "sg": [segment]}], "d": secs * 1000, "m": w.draft["m"]}
    w.media.append({"id": media_id, "media_type": "video", "url": url, "duration": float(secs), "prompt": prompt})
    w.media_changed = True
    args = {"prompt": prompt, "duration": secs, "aspect_ratio": w.canvas["aspect_ratio"]}
    response = {"status": "success", "id": media_id, "url": url, "duration": float(secs)}
    delta = {
        "draft": copy.deepcopy(w.draft),
        "generated_media": copy.deepcopy(w.media),
        "canvas_config": copy.deepcopy(w.canvas),
    }
    return _Spec("generate_video_with_seedance", args, response, delta, 0.55)


def _plan_generation(ctx: _Ctx, message: str, said: texts.Reading, state: Mapping[str, Any]) -> TurnPlan:
    ops = list(said.ops)
    visuals = [f for f in ctx.uploads if f.get("file_type") in (FileType.VIDEO, FileType.IMAGE)]
    aspects = [op.value for op in ops if op.kind == "aspect"]
    width, height = ASPECTS[aspects[-1]] if aspects else _orientation(visuals)
    meta = {"title": "", "width": width, "height": height, "fps": 30}
    w = _Work({"m": meta}, _canvas(width, height), _copy_list(state.get("generated_media")))
    asked = said.seconds
    secs = max(1, min(MAX_SECONDS, round(asked))) if asked else DEFAULT_SECONDS
    prompt = " ".join(message.split())[:500]
    if visuals:
        specs = _from_uploads(w, ctx, visuals, prompt)
        if asked:  # "a 15-second video" out of longer footage: the edit is cut down to it
            ops = [Op("trim", float(secs), -1, -1), *ops]
    else:
        specs = [_from_prompt(w, ctx, said.subject, prompt, secs)]
    # Stage two, as the real backend does it: music first, then the title and whatever else the message asked for.
    final_actions: list[dict[str, Any]] = []
    if not any(op.kind == "unmusic" for op in ops):
        _, action, entry = _music(w, ctx, said.genre, prompt)
        if entry is None:  # the user's own audio is laid in by the final edit; nothing to generate
            final_actions.append(action)
        else:
            args = {"prompt": entry["prompt"], "genre": action["label"], "duration": entry["duration"]}
            response = {"status": "success", "id": entry["id"], "url": entry["url"], "duration": entry["duration"]}
            delta = {"draft": copy.deepcopy(w.draft), "generated_media": copy.deepcopy(w.media)}
            specs.append(_Spec("generate_music", args, response, delta, 0.2))
    titles = [op.value for op in ops if op.kind == "title" and op.value]
    title = titles[0] if titles else said.quoted or ctx.rng.choice(texts.TITLE_PICKS[ctx.lang])
    _title(w, ctx, title)
    final_actions.append({"action": "set_title", "text": title})
    final_actions += _apply_all(w, ctx, [op for op in ops if op.kind in ("trim", "transitions", "volume")])[2]
    final = _tidy(w.draft)
    delta = {"draft": final, "canvas_config": copy.deepcopy(w.canvas)}
    if w.media_changed:
        delta["generated_media"] = copy.deepcopy(w.media)
    specs.append(_edit_spec(final_actions, final, delta, 0.1))
    opening = texts.generation_opening(ctx.rng, ctx.lang, uploads=len(visuals), secs=secs)
    closing = texts.generation_closing(ctx.rng, ctx.lang, final)
    parts = _split(ctx, "generation", [0.02, *(s.weight for s in specs), 0.02])
    return TurnPlan("generation", opening, parts[0], _steps(specs, parts[1:-1]), closing, parts[-1])
