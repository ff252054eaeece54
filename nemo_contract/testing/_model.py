"""The documents' rules as a model that ``ClientMachine`` holds a client to after every action.

Each check reads only what the user was shown (the adapter's ``Outcome``) and the journal's public entries of
the requests the action made: method, path, status, envelope code, the attribution headers present, the token
sent, a body's digest, a stream's events (their kinds and virtual times) and how it ended. Nothing of the
emulator's state is read, so the model stands on its own: a client is judged by the protocol, not by how the
emulator happens to work.

The rules, each with the words of the documents it comes from:

* Attribution: every request to the API carries ``X-Skill-Source``, ``X-Skill-Version`` and ``X-Skill-Platform``.
* Secrets: the user is never shown a token ("Don't display raw API responses or token values"), nor raw JSON.
* Turns: an accepted turn is never sent again ("Never re-send during generation"): no ``/run_sse`` request of
  the action repeats the body of one that was answered with a stream.
* Retries: a request is tried again at most once after each error code ("429 — wait 30s and retry once"); the
  requests a client makes in between to recover (a token, a session) do not count.
* Recovery: 1001 and 1002 are never the last word ("1001 — re-acquire", "1002 — create a new one").
* Advice: after 2001 a registration link (``?bind=<user id>``; the machine's users are anonymous), after 4001
  the accepted formats, after 4002 a suggestion to compress or trim, after 402 that the plan (not the credits)
  blocks export. An error counts once the client has stopped retrying the request it answered.
* Streams: a turn that ended with an error event is not reported as done; a stream without text is followed by a
  read of the state; a stream that stopped before its turn finished (a tool call without its result, or text
  without the turn's final text) is followed by the documents' recovery: wait 30 s, read the state, report the
  change, or report a failure after 5 unchanged reads.
* Credits: the balance shown adds up (``total = available + frozen``), with nothing negative.
"""

from __future__ import annotations

import dataclasses
import re
import typing

from ..protocol import (
    ACCEPTED_FORMATS_TEXT,
    ATTRIBUTION_HEADERS,
    DROPPED_STREAM_POLLS,
    DROPPED_STREAM_WAIT,
    PATHS,
    Code,
    path_pattern,
)
from ..protocol.events import EventKind
from ._report import describe, stream_kinds

if typing.TYPE_CHECKING:
    from mock_server import Entry

    from ._adapter import Outcome

__all__ = ["StreamReading", "check_action", "read_stream", "route_of"]

#: Answers a client must recover from, and the documents' words for how.
RECOVERABLE = {
    Code.TOKEN_INVALID: "re-acquire a token via /api/auth/anonymous-token and retry",
    Code.SESSION_NOT_FOUND: "create a new session and retry",
}
_ROUTES = [(path_pattern(template), template) for template in PATHS]
_RAW_JSON = re.compile(r'[{\[]\s*"[^"\n]{1,64}"\s*:')
_RECOVERY_ROUTES = {PATHS.anonymous_token, PATHS.create_session}


def route_of(path: str) -> str | None:
    """The API path template a path is an instance of (None outside the API: a download link, say)."""
    for pattern, template in _ROUTES:
        if pattern.fullmatch(path):
            return template
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class StreamReading:
    """A turn's stream as its events tell it."""

    kinds: tuple[str, ...]
    said: bool  # a text event came
    changed: bool  # a tool result came: the state changed
    errored: bool  # an error event came
    open_calls: int  # tool calls without their result
    ended_at: float  # virtual time of the last event (or of the request)

    @property
    def unfinished(self) -> bool:
        """The turn stopped before its end: a tool still running, or text without the turn's final text."""
        meaningful = [k for k in self.kinds if k in (EventKind.TEXT, EventKind.TOOL_CALL, EventKind.TOOL_RESULT)]
        return not self.errored and (self.open_calls > 0 or (self.said and meaningful[-1] != EventKind.TEXT))

    @property
    def silent(self) -> bool:
        return not (self.said or self.errored or self.unfinished)


def read_stream(entry: Entry) -> StreamReading:
    kinds = tuple(stream_kinds(entry))
    calls = kinds.count(EventKind.TOOL_CALL) - kinds.count(EventKind.TOOL_RESULT)
    events = entry.events or ()
    return StreamReading(
        kinds=kinds,
        said=EventKind.TEXT in kinds,
        changed=EventKind.TOOL_RESULT in kinds,
        errored=EventKind.ERROR in kinds,
        open_calls=max(calls, 0),
        ended_at=events[-1].time if events else entry.time,
    )


def _is_error(entry: Entry) -> bool:
    return entry.code is not None and entry.code != Code.SUCCESS


def _chains(entries: typing.Sequence[Entry]) -> list[list[Entry]]:
    """Each call of the action with its retries: a request to a route right after an error of that route is a
    retry of it (whatever recovery requests came between); after a success, a new call."""
    chains: list[list[Entry]] = []
    open_chain: dict[str, list[Entry]] = {}
    for entry in entries:
        route = route_of(entry.path) or entry.path
        chain = open_chain.get(route)
        if chain is not None and _is_error(chain[-1]):
            chain.append(entry)
        else:
            chain = [entry]
            chains.append(chain)
            open_chain[route] = chain
    return chains


def _advice(code: int, entry: Entry, shown: str) -> str | None:
    """What the user must be told after this final error, when it is missing from ``shown``."""
    low = shown.lower()
    if code == Code.INSUFFICIENT_CREDITS:
        link = f"bind={entry.user_id}" if entry.user_id else "bind="
        return None if link.lower() in low else f"a registration link with ?{link} (2001, anonymous user)"
    if code == Code.UNSUPPORTED_FILE_TYPE:
        missing = [name for name in ACCEPTED_FORMATS_TEXT.split(", ") if name not in low]
        return f"the accepted formats (4001; missing: {', '.join(missing)})" if missing else None
    if code == Code.FILE_TOO_LARGE:
        words = ("compress", "trim", "压缩", "剪")
        return None if any(w in low for w in words) else "a suggestion to compress or trim the file (4002)"
    if code == Code.EXPORT_BLOCKED:
        words = ("plan", "subscription", "套餐", "订阅")
        return None if any(w in low for w in words) else "that the plan blocks export, not the credits (402)"
    return None


def _stream_problems(entry: Entry, later: list[Entry], outcome: Outcome) -> list[str]:
    reading = read_stream(entry)
    seen = f"{describe(entry)}"
    if reading.errored:
        return [f"{seen}: the turn ended with an error event, but the user was told it went fine"] if outcome.ok else []
    if reading.silent:
        if later:
            return []
        return [f"{seen}: the turn closed without text and the state was never read to say what changed"]
    if not reading.unfinished:
        return []
    recovery = "wait 30 s, read the state, report the change, or report a failure after 5 unchanged reads"
    if not later:
        return [f"{seen}: the stream stopped before the turn finished and the client never read the state ({recovery})"]
    problems = []
    waited = later[0].time - reading.ended_at
    if waited < DROPPED_STREAM_WAIT - 1e-6:
        problems.append(f"{seen}: the state was read {waited:.3g} s after the stream's last event ({recovery})")
    if not reading.changed:
        if outcome.ok:
            problems.append(
                f"{seen}: the stream stopped before the turn finished, nothing changed, and the user "
                "was told it went fine"
            )
        elif len(later) < DROPPED_STREAM_POLLS:
            problems.append(f"{seen}: a failure was reported after {len(later)} read(s) of the state ({recovery})")
    return problems


def check_action(entries: typing.Sequence[Entry], outcome: Outcome, *, tokens: typing.Collection[str]) -> list[str]:
    """What the action did against the rules (see the module docstring); empty when it kept them all.

    ``entries``: the journal entries of the action's requests, oldest first; ``tokens``: every token sent so far.
    """
    problems: list[str] = []
    for entry in entries:
        if route_of(entry.path) is None:
            continue
        missing = [h.value for h in ATTRIBUTION_HEADERS if not entry.header(h.value)]
        if missing:
            problems.append(f"{describe(entry)}: sent without {', '.join(missing)}")
    leaked = [token for token in tokens if token and token in outcome.shown]
    if leaked:
        problems.append(f"the user was shown a token ({len(leaked)} of them)")
    if _RAW_JSON.search(outcome.shown):
        problems.append(f"the user was shown raw JSON: {_RAW_JSON.search(outcome.shown)!r}")
    turns = [e for e in entries if e.path == PATHS.run_sse]
    for n, first in enumerate(turns):
        if first.events is not None and first.body_sha256 is not None:
            again = [e for e in turns[n + 1 :] if e.body_sha256 == first.body_sha256]
            if again:
                problems.append(f"{describe(first)} was accepted, and sent again as #{again[0].seq}")
    for chain in _chains(entries):
        retried: dict[int, int] = {}
        for before in chain[:-1]:
            if before.code is not None:
                retried[before.code] = retried.get(before.code, 0) + 1
        for code, times in retried.items():
            if times > 1:
                problems.append(f"{describe(chain[0])}: retried {times} times after code {code} (once at most)")
        last = chain[-1]
        if last.code in RECOVERABLE and route_of(last.path) not in _RECOVERY_ROUTES:
            how = RECOVERABLE[Code(last.code)]
            problems.append(f"{describe(last)}: the client gave up on code {last.code}; the documents say: {how}")
        if last.code is not None and (needed := _advice(last.code, last, outcome.shown)) is not None:
            problems.append(f"{describe(last)}: the user was not given {needed}")
    for entry in turns:
        if entry.events is not None:
            later = [e for e in entries if e.seq > entry.seq and route_of(e.path) == PATHS.state]
            problems += _stream_problems(entry, later, outcome)
    if outcome.balance is not None:
        available, frozen, total = outcome.balance
        if total != available + frozen or min(outcome.balance) < 0:
            problems.append(f"the balance shown does not add up: available {available} + frozen {frozen} != {total}")
    return problems
