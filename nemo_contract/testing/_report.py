"""The emulator's journal as a person reads it in a test report: one line per request, streams in a few words.

Used by the pytest plugin (the "nemo journal" section of a failed test) and by ``ClientMachine`` (what a failing
step sent). A line says the request, its answer (status and envelope code), the token it carried (as the
journal names it, ``token#N``: never the token itself) and, for a stream, its events' kinds in order (repeats
counted) and how it ended.
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from mock_server import Entry

__all__ = ["MAX_LINES", "describe", "journal_text", "stream_kinds"]

#: A report shows at most this many entries: the last ones, which are those a failure is about.
MAX_LINES = 40


def stream_kinds(entry: Entry) -> list[str]:
    """The kinds of a stream's events in order (``text``, ``tool_call``, ...); empty for other answers."""
    return [event.kind.value for event in entry.events or ()]


def _runs(kinds: list[str]) -> str:
    """``text, heartbeat x4, tool_result``: repeats of one kind counted."""
    shown: list[str] = []
    previous, count = "", 0
    for kind in [*kinds, ""]:
        if kind == previous:
            count += 1
            continue
        if previous:
            shown.append(previous if count == 1 else f"{previous} x{count}")
        previous, count = kind, 1
    return ", ".join(shown) or "no events"


def describe(entry: Entry) -> str:
    """One request on one line."""
    answer = "no answer" if entry.status is None else str(entry.status)
    if entry.code is not None:
        answer += f" code {entry.code}"
    parts = [f"#{entry.seq}", entry.method, entry.path, answer]
    if entry.token_ref:
        parts.append(entry.token_ref)
    if entry.events is not None:
        ended = entry.end.value if entry.end is not None else "still open"
        parts.append(f"stream: {_runs(stream_kinds(entry))}; ended {ended}")
    return " ".join(parts)


def journal_text(entries: typing.Sequence[Entry], *, limit: int = MAX_LINES) -> str:
    """The entries, oldest first, one per line; past ``limit`` only the last ones, saying how many are left out."""
    if not entries:
        return "no requests reached the emulator"
    shown = list(entries)[-limit:] if limit > 0 else []
    lines = [describe(entry) for entry in shown]
    left_out = len(entries) - len(shown)
    if left_out:
        lines.insert(0, f"({left_out} earlier request{'s' * (left_out != 1)} left out)")
    return "\n".join(lines)
