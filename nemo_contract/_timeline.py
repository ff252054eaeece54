"""What changed between two drafts, told in the words of the documents' track summary.

When a turn closes without a word, the client reads the state and tells the user what was updated:
``Added track: BGM: Lo-fi (0-10s, 35%)``, ``Removed track: ...``, ``Changed track: ... -> ...``,
``Duration: 10s -> 8s``, ``Size: 1920x1080 -> 1080x1920``. Tracks are paired by type, in order.
"""

from __future__ import annotations

import re
import typing

from ._models import Snapshot, field_dict
from ._protocol import format_timeline

__all__ = ["describe_changes", "track_summary"]

_ONE_TRACK = re.compile(r"^Timeline \(1 track\): 1\. ")


def track_summary(track: typing.Mapping[str, typing.Any]) -> str:
    """One track as the summary writes it, e.g. ``BGM: Lo-fi (0-10s, 35%)``."""
    return _ONE_TRACK.sub("", format_timeline({"t": [dict(track)]}))


def _tracks(draft: typing.Mapping[str, typing.Any]) -> list[typing.Mapping[str, typing.Any]]:
    tracks = draft.get("t")
    return [t for t in tracks if isinstance(t, dict)] if isinstance(tracks, list) else []


def _seconds(ms: typing.Any) -> str | None:
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        return None
    value = ms / 1000
    return (f"{value:g}" if value != int(value) else str(int(value))) + "s"


def _size(draft: typing.Mapping[str, typing.Any]) -> str | None:
    meta = draft.get("m")
    if isinstance(meta, dict) and meta.get("width") and meta.get("height"):
        return f"{meta['width']}x{meta['height']}"
    return None


def _track_changes(before: typing.Mapping[str, typing.Any], after: typing.Mapping[str, typing.Any]) -> list[str]:
    lines: list[str] = []
    kinds: list[typing.Any] = []
    for track in [*_tracks(before), *_tracks(after)]:
        if track.get("tt") not in kinds:
            kinds.append(track.get("tt"))
    for kind in kinds:
        old = [t for t in _tracks(before) if t.get("tt") == kind]
        new = [t for t in _tracks(after) if t.get("tt") == kind]
        for index in range(max(len(old), len(new))):
            if index >= len(old):
                lines.append(f"Added track: {track_summary(new[index])}")
            elif index >= len(new):
                lines.append(f"Removed track: {track_summary(old[index])}")
            elif old[index] != new[index]:
                was, now = track_summary(old[index]), track_summary(new[index])
                lines.append(f"Changed track: {was} -> {now}" if was != now else f"Changed track: {now}")
    return lines


def describe_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per change, in the summary's words; empty when nothing changed."""
    lines = _track_changes(before.draft, after.draft)
    for label, read in (("Duration", lambda d: _seconds(d.get("d"))), ("Size", _size)):
        was, now = read(before.draft), read(after.draft)
        if was != now and now is not None:
            lines.append(f"{label}: {was} -> {now}" if was is not None else f"{label}: {now}")
    old_meta, new_meta = field_dict(before.draft, "m"), field_dict(after.draft, "m")
    if new_meta.get("title") and old_meta.get("title") != new_meta.get("title"):
        lines.append(f'Project title: "{new_meta["title"]}"')
    if before.draft != after.draft and not lines:
        lines.append(f"Timeline updated: {after.summary}")
    return lines
