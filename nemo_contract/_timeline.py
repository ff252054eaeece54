"""What changed between two drafts, told in the words of the documents' track summary.

When a turn closes without a word, the client reads the state and tells the user what was updated:
``Added track: BGM: Lo-fi (0-10s, 35%)``, ``Removed track: ...``, ``Changed track: ... -> ...``,
``Duration: 10s -> 8s``, ``Size: 1920x1080 -> 1080x1920``. Tracks are paired by type, in order.
"""

from __future__ import annotations

import typing

from ._models import Snapshot, field_dict
from ._summary import seconds, track_line
from .protocol import fields as f

__all__ = ["describe_changes"]


def _tracks(draft: typing.Mapping[str, typing.Any]) -> list[typing.Mapping[str, typing.Any]]:
    tracks = draft.get(f.TRACKS)
    return [t for t in tracks if isinstance(t, dict)] if isinstance(tracks, list) else []


def _length(draft: typing.Mapping[str, typing.Any]) -> str | None:
    ms = draft.get(f.DURATION_MS)
    return seconds(ms) + "s" if isinstance(ms, int | float) and not isinstance(ms, bool) else None


def _size(draft: typing.Mapping[str, typing.Any]) -> str | None:
    meta = draft.get(f.META)
    if isinstance(meta, dict) and meta.get(f.WIDTH) and meta.get(f.HEIGHT):
        return f"{meta[f.WIDTH]}x{meta[f.HEIGHT]}"
    return None


def _track_changes(before: typing.Mapping[str, typing.Any], after: typing.Mapping[str, typing.Any]) -> list[str]:
    lines: list[str] = []
    kinds: list[typing.Any] = []
    for track in [*_tracks(before), *_tracks(after)]:
        if track.get(f.TRACK_TYPE) not in kinds:
            kinds.append(track.get(f.TRACK_TYPE))
    for kind in kinds:
        old = [t for t in _tracks(before) if t.get(f.TRACK_TYPE) == kind]
        new = [t for t in _tracks(after) if t.get(f.TRACK_TYPE) == kind]
        for index in range(max(len(old), len(new))):
            if index >= len(old):
                lines.append(f"Added track: {track_line(new[index])}")
            elif index >= len(new):
                lines.append(f"Removed track: {track_line(old[index])}")
            elif old[index] != new[index]:
                was, now = track_line(old[index]), track_line(new[index])
                lines.append(f"Changed track: {was} -> {now}" if was != now else f"Changed track: {now}")
    return lines


def describe_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per change, in the summary's words; empty when nothing changed."""
    lines = _track_changes(before.draft, after.draft)
    for label, read in (("Duration", _length), ("Size", _size)):
        was, now = read(before.draft), read(after.draft)
        if was != now and now is not None:
            lines.append(f"{label}: {was} -> {now}" if was is not None else f"{label}: {now}")
    old_meta, new_meta = field_dict(before.draft, f.META), field_dict(after.draft, f.META)
    if new_meta.get(f.TITLE) and old_meta.get(f.TITLE) != new_meta.get(f.TITLE):
        lines.append(f'Project title: "{new_meta[f.TITLE]}"')
    if before.draft != after.draft and not lines:
        lines.append(f"Timeline updated: {after.summary}")
    return lines
