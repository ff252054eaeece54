"""The documents' track summary, the client's way of showing a draft to a person.

``Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)``.
It is presentation, so it lives with the client, not in the protocol.
"""

from __future__ import annotations

import typing

from .protocol import TrackType
from .protocol import fields as f
from .protocol.shapes import segments_of

__all__ = ["format_timeline", "seconds", "track_line"]

_LABELS: dict[object, str] = {TrackType.VIDEO: "Video", TrackType.AUDIO: "BGM", TrackType.TEXT: "Title"}


def seconds(ms: float) -> str:
    """Milliseconds as the summary prints seconds: ``10000`` is ``10``, ``7500`` is ``7.5``."""
    value = ms / 1000
    return str(int(value)) if value == int(value) else f"{value:g}"


def _number(value: typing.Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def track_line(track: typing.Mapping[str, typing.Any]) -> str:
    """One track as the summary writes it: ``BGM: Lo-fi (0-10s, 35%)``."""
    kind = track.get(f.TRACK_TYPE)
    parts = []
    for seg in segments_of(track):
        start = _number(seg.get(f.START_MS), 0)
        span = f"{seconds(start)}-{seconds(start + _number(seg.get(f.DURATION_MS), 0))}s"
        if kind == TrackType.TEXT:
            parts.append(f'"{seg.get(f.CAPTION, seg.get(f.LABEL, ""))}" ({span})')
        elif kind == TrackType.AUDIO:
            volume = round(_number(seg.get(f.VOLUME), 1.0) * 100)
            parts.append(f"{seg.get(f.LABEL, 'audio')} ({span}, {volume}%)")
        else:
            parts.append(f"{seg.get(f.LABEL, 'clip')} ({span})")
    return f"{_LABELS.get(kind, 'Track')}: {', '.join(parts) if parts else '(empty)'}"


def format_timeline(draft: typing.Mapping[str, typing.Any] | None) -> str:
    """The whole draft in one line; ``Timeline (0 tracks): empty`` for an empty one."""
    found = draft.get(f.TRACKS) if isinstance(draft, typing.Mapping) else None
    tracks = [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []
    if not tracks:
        return "Timeline (0 tracks): empty"
    noun = "track" if len(tracks) == 1 else "tracks"
    lines = " ".join(f"{i}. {track_line(t)}" for i, t in enumerate(tracks, 1))
    return f"Timeline ({len(tracks)} {noun}): {lines}"
