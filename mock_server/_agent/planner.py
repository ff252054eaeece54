"""Planning one turn: a generation, an edit or a chat reply, with the turn's duration shared out among its parts.

``plan_turn`` reads one user message and the session state and returns a ``TurnPlan``: the texts to send, the tool
steps to run (each with the state keys it replaces) and how long each part takes on the virtual clock. The SSE layer
turns the plan into events. Every random choice comes from the ``random.Random`` passed in, so the same message,
state and seed always give the same plan.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Mapping
from typing import Any, Literal

from nemo_contract.protocol import FileType, TrackType
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import GeneratedMedia, Segment, VideoAnalysis, draft_is_exportable

from . import wording
from .draft import ASPECTS, MAX_DRAFT_MS, Ctx, Work, as_ms, canvas, copy_list, new_id, normalise, readable, tidy
from .draft_ops import apply_all, music, title
from .reading import Op, Reading, language_of, read

__all__ = ["ToolStep", "TurnPlan", "plan_turn"]


@dataclasses.dataclass(frozen=True, slots=True)
class ToolStep:
    """One tool call: its name and args, how long it runs, what it answers, the state keys it replaces."""

    name: str  # generate_video_with_seedance | generate_music | understand_video | edit_multitrack
    args: dict[str, Any]
    duration: float  # virtual seconds; the stream sends heartbeats meanwhile
    response: dict[str, Any]  # the functionResponse "response" object
    state_delta: dict[str, Any]  # complete new values of any of draft, generated_media, canvas_config, video_analyses


@dataclasses.dataclass(frozen=True, slots=True)
class TurnPlan:
    """One turn; opening_delay + the step durations + closing_delay is its duration."""

    kind: Literal["generation", "edit", "chat"]
    opening: str | None  # text before the tools run
    opening_delay: float  # virtual seconds before the opening text (or the first tool)
    steps: tuple[ToolStep, ...]
    closing: str | None  # text after the tools; None: the stream closes without any
    closing_delay: float  # virtual seconds between the last tool response and the closing text


IMAGE_MS = 3000
UNKNOWN_VIDEO_MS = 5000
DEFAULT_SECONDS = 10
MAX_SECONDS = 60  # a prompt-only clip; longer asks are clamped so the emulator never has to render minutes of video
_SUCCESS = "success"
#: What a generation applies of the other edits its message names (a generation always has a title and music,
#: unless the message says none).
_GENERATION_EDITS = ("trim", "cut_end", "transitions", "volume", "subtitles", "sfx", "speed", "filter")


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
    infos = state.get(f.VIDEO_INFOS)
    uploads = tuple(i for i in infos if isinstance(i, Mapping)) if isinstance(infos, list) else ()
    ctx = Ctx(rng, language_of(message, language), cdn_base.rstrip("/"), uploads, durations)
    said = read(message, ctx.lang)
    ops = list(said.ops)
    raw = state.get(f.DRAFT)
    tracks = len(normalise(raw)[f.TRACKS]) if isinstance(raw, Mapping) and draft_is_exportable(raw) else 0
    # A plain "make a video" always generates; a bare generating verb only when there is nothing to edit instead.
    if said.strength == 2 or (said.strength == 1 and not (tracks and ops)):
        return _plan_generation(ctx, message, said, state)
    if ops and tracks:
        return _plan_edit(ctx, ops, said.unsupported, state, silent_close_rate)
    if said.unsupported and not ops:  # an edit the agent cannot do: it says so, in the editor's words
        return _chat(ctx, wording.unsupported_reply(rng, ctx.lang, said.unsupported))
    if ops:  # an edit with nothing on the timeline: the real agent asks for a generation first
        visuals = sum(1 for u in uploads if u.get(f.FILE_TYPE) in (FileType.VIDEO, FileType.IMAGE))
        return _chat(ctx, wording.generate_first(rng, ctx.lang, visuals))
    return _chat(ctx, wording.help_reply(rng, ctx.lang, tracks))


# -- sharing the turn out -------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Spec:
    """A tool step before the turn's duration is shared out."""

    name: str
    args: dict[str, Any]
    response: dict[str, Any]
    delta: dict[str, Any]
    weight: float


def _split(ctx: Ctx, kind: str, weights: list[float]) -> list[float]:
    """The turn's duration, drawn from its kind's range, shared out among its parts by jittered weights."""
    low, high = ctx.durations[kind]
    total = ctx.rng.uniform(float(low), float(high))
    jittered = [w * ctx.rng.uniform(0.8, 1.2) for w in weights]
    return [total * j / sum(jittered) for j in jittered]


def _chat(ctx: Ctx, text: str) -> TurnPlan:
    (total,) = _split(ctx, "text", [1.0])
    return TurnPlan("chat", None, 0.0, (), text, total)


def _edit_spec(actions: list[dict[str, Any]], draft: Mapping[str, Any], delta: dict[str, Any], weight: float) -> _Spec:
    response = {f.STATUS: _SUCCESS, "applied": len(actions), "track_count": len(draft.get(f.TRACKS, []))}
    response[f.DURATION] = draft.get(f.DURATION_MS, 0) / 1000
    return _Spec("edit_multitrack", {"operations": actions}, response, delta, weight)


def _steps(specs: list[_Spec], durations: list[float]) -> tuple[ToolStep, ...]:
    return tuple(ToolStep(s.name, s.args, d, s.response, s.delta) for s, d in zip(specs, durations, strict=True))


# -- an edit ----------------------------------------------------------------------------------------------------


def _plan_edit(
    ctx: Ctx, ops: list[Op], unsupported: tuple[str, ...], state: Mapping[str, Any], silent_close_rate: float
) -> TurnPlan:
    canvas_now = state.get(f.CANVAS_CONFIG)
    w = Work(
        normalise(state.get(f.DRAFT)),
        copy.deepcopy(dict(canvas_now)) if isinstance(canvas_now, Mapping) else {},
        copy_list(state.get(f.GENERATED_MEDIA)),
    )
    canvas_before = copy.deepcopy(w.canvas)
    changes, notes, actions = apply_all(w, ctx, ops)
    notes += [("unsupported_" + kind, {}) for kind in unsupported]  # what else it asked for is answered too
    if not changes:  # nothing to do is an answer, not an edit (and costs nothing)
        return _chat(ctx, wording.unchanged_reply(ctx.rng, ctx.lang, notes))
    # Exactly one draw decides silence, and the text is worded either way, so the rest of the plan (durations
    # included) is the same whatever the draw says.
    silent = ctx.rng.random() < silent_close_rate
    said = wording.edit_closing(ctx.rng, ctx.lang, changes, notes)
    final = tidy(w.draft)
    delta: dict[str, Any] = {f.DRAFT: final}
    if w.canvas != canvas_before:
        delta[f.CANVAS_CONFIG] = copy.deepcopy(w.canvas)
    if w.media_changed:
        delta[f.GENERATED_MEDIA] = copy.deepcopy(w.media)
    opening_delay, step, closing_delay = _split(ctx, "edit", [0.1, 0.8, 0.1])
    steps = _steps([_edit_spec(actions, final, delta, 0.8)], [step])
    return TurnPlan("edit", None, opening_delay, steps, None if silent else said, closing_delay)


# -- a generation -----------------------------------------------------------------------------------------------


def _orientation(visuals: list[Mapping[str, Any]]) -> tuple[int, int]:
    """The canvas of the first visual upload's orientation (landscape when unknown)."""
    width, height = (as_ms(visuals[0].get(f.WIDTH)), as_ms(visuals[0].get(f.HEIGHT))) if visuals else (None, None)
    if not width or not height:
        return ASPECTS["16:9"]
    return ASPECTS["16:9" if width > height else "9:16" if height > width else "1:1"]


def _from_uploads(
    w: Work, ctx: Ctx, visuals: list[Mapping[str, Any]], prompt: str, state: Mapping[str, Any]
) -> list[_Spec]:
    """Stage one with uploads: understand them, then lay them end to end on the video track, in upload order.

    Understanding them fills ``video_analyses``, keyed by file name (the spec's VideoAnalyses), on top of any
    analyses the session already has.
    """
    segments: list[Segment] = []
    start = 0
    for info in visuals:
        if start >= MAX_DRAFT_MS:  # a timeline holds 30 minutes at most; later uploads do not fit
            break
        seconds = info.get(f.DURATION)
        known = as_ms(seconds * 1000) if isinstance(seconds, int | float) else None
        d = IMAGE_MS if info.get(f.FILE_TYPE) == FileType.IMAGE else max(1, known or UNKNOWN_VIDEO_MS)
        d = min(d, MAX_DRAFT_MS - start)
        label = readable(info.get(f.FILENAME))
        segments.append(
            {
                f.ID: new_id(ctx, "sg_", 8),
                f.LABEL: label,
                f.START_MS: start,
                f.DURATION_MS: d,
                f.SOURCE_URL: str(info.get(f.CDN_URL, "")),
            }
        )
        start += d
    w.draft = {
        f.TRACKS: [{f.TRACK_TYPE: int(TrackType.VIDEO), f.SEGMENTS: segments}],
        f.DURATION_MS: start,
        f.META: w.draft[f.META],
    }
    files = [str(i.get(f.FILENAME, "")) for i in visuals[: len(segments)]]
    known = state.get(f.VIDEO_ANALYSES)
    found: dict[str, VideoAnalysis] = copy.deepcopy(dict(known)) if isinstance(known, Mapping) else {}
    analyses: list[dict[str, Any]] = []
    for name, info, s in zip(files, visuals, segments, strict=False):
        seconds, scenes = s[f.DURATION_MS] / 1000, 1 + s[f.DURATION_MS] // 4000
        found[name] = {f.FILE_TYPE: str(info.get(f.FILE_TYPE)), f.DURATION: seconds, f.SCENES: scenes}
        analyses.append({f.FILENAME: name, f.DURATION: seconds, f.SCENES: scenes})
    understand = _Spec(
        "understand_video",
        {f.FILES: files, f.PROMPT: prompt},
        {f.STATUS: _SUCCESS, "analyses": analyses},
        {f.VIDEO_ANALYSES: found},
        0.15,
    )
    build = [
        {"action": "add_clip", "label": s[f.LABEL], "source": s[f.SOURCE_URL], "duration_ms": s[f.DURATION_MS]}
        for s in segments
    ]
    delta = {f.DRAFT: copy.deepcopy(w.draft), f.CANVAS_CONFIG: copy.deepcopy(w.canvas)}
    return [understand, _edit_spec(build, w.draft, delta, 0.12)]


def _from_prompt(w: Work, ctx: Ctx, label: str, prompt: str, secs: int) -> _Spec:
    """Stage one without uploads: one generated clip of the asked length."""
    media_id = new_id(ctx, "gen_", 12)
    url = f"{ctx.cdn_base}/generated/{media_id}.mp4"
    segment: Segment = {
        f.ID: new_id(ctx, "sg_", 8),
        f.LABEL: label,
        f.START_MS: 0,
        f.DURATION_MS: secs * 1000,
        f.SOURCE_URL: url,
    }
    track = {f.TRACK_TYPE: int(TrackType.VIDEO), f.SEGMENTS: [segment]}
    w.draft = {f.TRACKS: [track], f.DURATION_MS: secs * 1000, f.META: w.draft[f.META]}
    entry: GeneratedMedia = {
        f.ID: media_id,
        f.MEDIA_TYPE: "video",
        f.URL: url,
        f.DURATION: float(secs),
        f.PROMPT: prompt,
    }
    w.media.append(entry)
    w.media_changed = True
    args = {f.PROMPT: prompt, f.DURATION: secs, f.ASPECT_RATIO: w.canvas[f.ASPECT_RATIO]}
    response = {f.STATUS: _SUCCESS, f.ID: media_id, f.URL: url, f.DURATION: float(secs)}
    delta = {
        f.DRAFT: copy.deepcopy(w.draft),
        f.GENERATED_MEDIA: copy.deepcopy(w.media),
        f.CANVAS_CONFIG: copy.deepcopy(w.canvas),
    }
    return _Spec("generate_video_with_seedance", args, response, delta, 0.55)


def _plan_generation(ctx: Ctx, message: str, said: Reading, state: Mapping[str, Any]) -> TurnPlan:
    ops = list(said.ops)
    visuals = [u for u in ctx.uploads if u.get(f.FILE_TYPE) in (FileType.VIDEO, FileType.IMAGE)]
    aspects = [op.value for op in ops if op.kind == "aspect"]
    width, height = ASPECTS[aspects[-1]] if aspects else _orientation(visuals)
    meta = {f.TITLE: "", f.WIDTH: width, f.HEIGHT: height, f.FPS: 30}
    w = Work({f.META: meta}, canvas(width, height), copy_list(state.get(f.GENERATED_MEDIA)))
    asked = said.seconds
    secs = max(1, min(MAX_SECONDS, round(asked))) if asked else DEFAULT_SECONDS
    prompt = " ".join(message.split())[:500]
    if visuals:
        specs = _from_uploads(w, ctx, visuals, prompt, state)
        if asked:  # "a 15-second video" out of longer footage: the edit is cut down to it
            ops = [Op("trim", float(secs), -1, -1), *ops]
    else:
        specs = [_from_prompt(w, ctx, said.subject, prompt, secs)]
    # Stage two, as the real backend does it: music first, then the title and whatever else the message asked for.
    final_actions: list[dict[str, Any]] = []
    if not any(op.kind == "unmusic" for op in ops):
        _, action, entry = music(w, ctx, said.genre, prompt)
        if entry is None:  # the user's own audio is laid in by the final edit; nothing to generate
            final_actions.append(action)
        else:
            args = {f.PROMPT: entry[f.PROMPT], "genre": action["label"], f.DURATION: entry[f.DURATION]}
            response = {f.STATUS: _SUCCESS, f.ID: entry[f.ID], f.URL: entry[f.URL], f.DURATION: entry[f.DURATION]}
            delta = {f.DRAFT: copy.deepcopy(w.draft), f.GENERATED_MEDIA: copy.deepcopy(w.media)}
            specs.append(_Spec("generate_music", args, response, delta, 0.2))
    if not any(op.kind == "untitle" for op in ops):
        titles = [op.value for op in ops if op.kind == "title" and op.value]
        text = titles[0] if titles else said.quoted or ctx.rng.choice(wording.TITLE_PICKS[ctx.lang])
        title(w, ctx, text)
        final_actions.append({"action": "set_title", f.TEXT: text})
    final_actions += apply_all(w, ctx, [op for op in ops if op.kind in _GENERATION_EDITS])[2]
    final = tidy(w.draft)
    delta = {f.DRAFT: final, f.CANVAS_CONFIG: copy.deepcopy(w.canvas)}
    if w.media_changed:
        delta[f.GENERATED_MEDIA] = copy.deepcopy(w.media)
    specs.append(_edit_spec(final_actions, final, delta, 0.1))
    opening = wording.generation_opening(ctx.rng, ctx.lang, uploads=len(visuals), secs=secs)
    closing = wording.generation_closing(ctx.rng, ctx.lang, final)
    parts = _split(ctx, "generation", [0.02, *(s.weight for s in specs), 0.02])
    return TurnPlan("generation", opening, parts[0], _steps(specs, parts[1:-1]), closing, parts[-1])
