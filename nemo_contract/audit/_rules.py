"""The rules on an integration's traffic: what each one judges in a run, and the evidence it cites.

A rule judges one run (``_facts.Run``): ``pass`` when what it judges happened and held, ``fail`` with evidence
(journal entry numbers and times, or the output line), or ``not_exercised`` when the run gave it nothing to judge,
which is never counted as a pass. Each rule is tripped by a program written with that one bug in the tests
(tests/toolkit/audit): a rule that cannot fail would be a defect.

The sources: the two public skill documents (``video-to-generator``, ``auto-generator``) and PROTOCOL.md, the
emulator's written-down decisions where the documents are silent. The output rules and the whole-run rules live
apart, in ``_judging.py``; ``_catalogue.RULES`` lists them all, in the order reports show them.
"""

from __future__ import annotations

import itertools
import typing

from ..protocol import ATTRIBUTION_HEADERS, PLATFORMS, UNKNOWN_PLATFORM, Code, Header, RenderStatus, SkillSource
from ..protocol import fields as f
from ..protocol.control import StreamEnd
from ._facts import Run, retry_after_of, session_segment, user_segment
from ._verdicts import Judgement, judged

if typing.TYPE_CHECKING:
    from mock_server import Entry

__all__ = [
    "AG",
    "MAX_POLL_GAP",
    "MIN_POLL_GAP",
    "PROTOCOL",
    "VTG",
    "after_402",
    "after_429",
    "after_1001",
    "after_1002",
    "after_2001",
    "after_upload_refused",
    "attribution_headers",
    "bearer_token",
    "client_id",
    "download_output",
    "one_retry",
    "one_turn_at_a_time",
    "own_user_paths",
    "poll_cadence",
    "poll_to_the_end",
    "session_reused",
    "silent_close_followed",
    "stream_read_to_end",
    "token_reused",
    "turn_not_resent",
]

VTG = "video-to-generator skill"
AG = "auto-generator skill"
PROTOCOL = "PROTOCOL.md"
#: A retry this much earlier than Retry-After still counts as waiting it (timer granularity).
WAIT_TOLERANCE = 0.05
#: Two polls of one render closer than this are too close ("every 30s").
MIN_POLL_GAP = 25.0
#: "About every 30 s" from the other side: a poll more than half an interval late is not polling every 30 s.
MAX_POLL_GAP = 45.0
_PLATFORMS = {name for name, _ in PLATFORMS} | {UNKNOWN_PLATFORM}
_SOURCES = {s.value for s in SkillSource}
_WAITING = {RenderStatus.PENDING.value, RenderStatus.PROCESSING.value}
_DONE = {RenderStatus.COMPLETED.value, RenderStatus.FAILED.value}


def _bearer(entry: Entry) -> bool:
    value = entry.header(Header.AUTHORIZATION.value) or ""
    scheme, _, token = value.partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def bearer_token(run: Run) -> Judgement:
    calls = [e for e in run.api() if run.endpoint(e) != "anonymous_token"]
    return judged(calls, [f"{run.cite(e)} sent no Authorization: Bearer token" for e in calls if not _bearer(e)])


def attribution_headers(run: Run) -> Judgement:
    problems = []
    for entry in run.api():
        found = entry.attribution  # source, version, platform: the three headers' values
        missing = [h.value for h, value in zip(ATTRIBUTION_HEADERS, found.values(), strict=True) if not value]
        if missing:
            problems.append(f"{run.cite(entry)} had no {', '.join(missing)}")
        elif found["source"] not in _SOURCES or found["platform"] not in _PLATFORMS:
            problems.append(
                f"{run.cite(entry)} said X-Skill-Source {found['source']!r}, X-Skill-Platform {found['platform']!r}"
                f" (sources: {', '.join(sorted(_SOURCES))}; platforms: {', '.join(sorted(_PLATFORMS))})"
            )
    return judged(run.api(), problems)


def client_id(run: Run) -> Judgement:
    asks = run.of("anonymous_token")
    problems = []
    for entry in asks:
        value = entry.header(Header.CLIENT_ID.value)
        if not value or len(value) > 64:
            problems.append(
                f"{run.cite(entry)} sent {'no X-Client-Id' if not value else 'an X-Client-Id over 64 characters'}"
            )
    return judged(asks, problems)


def _reused(run: Run, endpoint: str, allowed_after: set[int], what: str) -> Judgement:
    """A second ``endpoint`` call (token or session) is fine only to recover, or after one that failed."""
    made = run.of(endpoint)
    problems: list[str] = []
    previous: Entry | None = None
    for entry in made:
        if previous is not None and entry not in run.recovery and previous.code == Code.SUCCESS:
            since = run.entries[run.number(previous) : run.number(entry) - 1]
            if not any(e.code in allowed_after and run.recoverable(e) for e in since):
                codes = " or ".join(map(str, sorted(allowed_after)))
                problems.append(f"{run.cite(entry)} asked for a new {what}: no {codes} since {run.cite(previous)}")
        previous = entry
    used = bool(made) and any(e.token for e in run.after(made[0]))
    return judged(used, problems)


def token_reused(run: Run) -> Judgement:
    return _reused(run, "anonymous_token", {Code.TOKEN_INVALID}, "token")


def session_reused(run: Run) -> Judgement:
    return _reused(run, "create_session", {Code.TOKEN_INVALID, Code.SESSION_NOT_FOUND}, "session")


def _failures(run: Run, code: int) -> list[Entry]:
    return [e for e in run.entries if e.code == code and run.recoverable(e)]


class _Renewal(typing.NamedTuple):
    """How a call recovers from one code: what it renews (a token, a session) and how each fault is worded."""

    code: int
    endpoint: str  # the call that renews it
    none: str  # no renewal at all
    several: str  # more than one renewal ("{}": how many)
    resent: str  # how the call should have been sent again
    stale: typing.Callable[[Run, Entry, Entry, list[Entry]], str | None]  # (run, failed, retry, renewals)


def _recovered(run: Run, renewal: _Renewal) -> Judgement:
    """After each failure with ``renewal.code``: one renewal, and the call sent once more with what it renewed."""
    failed = _failures(run, renewal.code)
    problems: list[str] = []
    for entry in failed:
        if run.is_retry(entry):
            continue  # a retry failing again: the call has had its one retry (one-retry judges what follows)
        renewals = [e for e in run.between(entry) if run.endpoint(e) == renewal.endpoint]
        retry = run.retry_of(entry)
        head = f"after the {renewal.code} at {run.cite(entry)}"
        if not renewals:
            problems.append(f"{head}, {renewal.none}" + (f" before {run.cite(retry)}" if retry else ""))
        elif len(renewals) > 1:
            problems.append(f"{head}, {renewal.several.format(len(renewals))}: " + run.numbers(renewals))
        if retry is None:
            if not renewals or renewals[-1].code == Code.SUCCESS:
                problems.append(f"{head}, the call was not sent again {renewal.resent}")
            continue
        stale = renewal.stale(run, entry, retry, renewals)
        if stale is not None:
            problems.append(f"{run.cite(retry)} was sent again {stale}, {head}")
    return judged(failed, problems)


def _old_token(run: Run, entry: Entry, retry: Entry, renewals: list[Entry]) -> str | None:
    if retry.token is None:
        return None  # no token at all: bearer-token judges that
    fresh = run.data(renewals[-1]) if renewals else None
    new_token = fresh.get(f.TOKEN) if fresh else None
    if (new_token and retry.token != new_token) or (not new_token and retry.token == entry.token):
        return f"with the old token ({retry.token_ref})"
    return None


def _lost_session(run: Run, entry: Entry, retry: Entry, renewals: list[Entry]) -> str | None:
    lost = session_segment(entry.path)
    same = session_segment(retry.path) == lost if lost else run.digest(retry) == run.digest(entry)
    return "on the lost session" if same else None


_NEW_TOKEN = _Renewal(
    Code.TOKEN_INVALID,
    "anonymous_token",
    none="no new token was asked for",
    several="a new token was asked for {} times",
    resent="with a new token",
    stale=_old_token,
)
_NEW_SESSION = _Renewal(
    Code.SESSION_NOT_FOUND,
    "create_session",
    none="no new session was created",
    several="{} sessions were created",
    resent="on a new session",
    stale=_lost_session,
)


def after_1001(run: Run) -> Judgement:
    return _recovered(run, _NEW_TOKEN)


def after_1002(run: Run) -> Judgement:
    return _recovered(run, _NEW_SESSION)


def after_429(run: Run) -> Judgement:
    limited = _failures(run, Code.RATE_LIMITED)
    problems: list[str] = []
    for entry in limited:
        wait = retry_after_of(entry)
        retry = run.retry_of(entry)
        if retry is None:
            if not run.is_retry(entry):  # the first 429 of a call: wait and retry once
                problems.append(f"after the 429 at {run.cite(entry)} (Retry-After {wait:g} s) the call was not retried")
            continue
        gap = retry.real_time - entry.real_time
        if gap < wait - WAIT_TOLERANCE:
            problems.append(
                f"{run.cite(retry)} came {gap:.2f} s after the 429 at #{run.number(entry)}, "
                f"which said to wait {wait:g} s"
            )
    return judged(limited, problems)


def one_retry(run: Run) -> Judgement:
    failed = [e for e in run.entries if run.recoverable(e)]
    problems: list[str] = []
    for entry in failed:
        if run.is_retry(entry):
            continue
        attempts, current = [entry], entry
        while run.recoverable(current) and (retry := run.retry_of(current)) is not None:
            attempts.append(retry)
            current = retry
        if len(attempts) > 2:
            again = ", ".join(f"#{run.number(e)} at {run.at(e.real_time)}" for e in attempts[1:])
            answers = ", ".join(str(e.code) for e in attempts[:-1])
            problems.append(
                f"{run.cite(entry)} was sent {len(attempts)} times for one call: again as {again} (answers: {answers})"
            )
    return judged(failed, problems)


def _no_more(run: Run, endpoint: str, code: int, what: str) -> Judgement:
    refused = [e for e in run.of(endpoint) if e.code == code]
    if not refused:
        return judged(False, [])
    first = refused[0]
    later = [e for e in run.after(first) if run.endpoint(e) == endpoint]
    return judged(True, [f"{run.cite(e)} {what} after the {code} at #{run.number(first)}" for e in later])


def after_2001(run: Run) -> Judgement:
    return _no_more(run, "run_sse", Code.INSUFFICIENT_CREDITS, "sent another turn")


def after_402(run: Run) -> Judgement:
    return _no_more(run, "render_start", Code.EXPORT_BLOCKED, "started the render again")


def _multipart(entry: Entry) -> bool:
    return (entry.header("content-type") or "").lower().startswith("multipart/")


def after_upload_refused(run: Run) -> Judgement:
    refused = [e for e in run.of("upload") if e.code in (Code.UNSUPPORTED_FILE_TYPE, Code.FILE_TOO_LARGE)]
    problems = []
    for entry in refused:
        for later in run.after(entry):
            if run.endpoint(later) != "upload":
                continue
            # A multipart body has a new random boundary on every attempt: the same file then has the same size.
            if _multipart(entry) and _multipart(later):
                same = run.size(later) is not None and run.size(later) == run.size(entry)
            else:
                same = run.digest(later) is not None and run.digest(later) == run.digest(entry)
            if same:
                problems.append(
                    f"{run.cite(later)} uploaded the same file again after the {entry.code} at #{run.number(entry)}"
                )
    return judged(refused, problems)


def turn_not_resent(run: Run) -> Judgement:
    begun = [t for t in run.of("run_sse") if t.events is not None]
    problems = []
    for turn in begun:
        again = [t for t in run.after(turn) if run.endpoint(t) == "run_sse" and run.digest(t) == run.digest(turn)]
        problems += [
            f"{run.cite(t)} sent the turn of #{run.number(turn)} again (its stream had begun)" for t in again[:1]
        ]
    # Re-sending tempts only when a turn did not end with its text: a cut, an error, a silent close.
    return judged(any(t.end is not StreamEnd.COMPLETE for t in begun), problems)


def one_turn_at_a_time(run: Run) -> Judgement:
    turns = run.of("run_sse")
    problems = []
    for turn in turns:
        if turn.code != Code.CONFLICT:
            continue
        for other in turns:
            ended = run.ended_at(other)
            if (
                other is not turn
                and other.events is not None
                and other.real_time <= turn.real_time < (ended or run.finished)
            ):
                problems.append(f"{run.cite(turn)} was refused 409: the turn {run.cite(other)} was still streaming")
                break
    return judged(len(turns) > 1, problems)


def stream_read_to_end(run: Run) -> Judgement:
    begun = [t for t in run.of("run_sse") if t.events is not None]
    problems = []
    for turn in begun:
        if turn.end is not StreamEnd.CLIENT_GONE:
            continue
        gone = run.ended_at(turn) or run.finished
        if run.timed_out and gone >= run.finished - 0.5:
            continue  # the audit stopped the program mid-stream; the outcome rule says so
        events = turn.events or []
        last = f", the last a {events[-1].kind.value}" if events else ""
        problems.append(
            f"{run.cite(turn)}: the program closed the stream at {run.at(gone)} after {len(events)} events{last}, "
            "while the turn was still running"
        )
    return judged(begun, problems)


def silent_close_followed(run: Run) -> Judgement:
    silent = [
        t for t in run.of("run_sse") if t.end is StreamEnd.SILENT_CLOSE or (t.end is StreamEnd.CUT and not t.text_sent)
    ]
    problems = []
    for turn in silent:
        closed = run.ended_at(turn) or (turn.events[-1].real_time if turn.events else turn.real_time)
        following = [e for e in run.after(turn) if e.real_time >= closed and run.endpoint(e) is not None]
        how = "closed without any text" if turn.end is StreamEnd.SILENT_CLOSE else "was cut without any text"
        if not following:
            problems.append(f"the stream of {run.cite(turn)} {how}, and the state was never read")
        elif run.endpoint(following[0]) != "state":
            problems.append(
                f"the stream of {run.cite(turn)} {how}; the next call was {run.cite(following[0])}, not a state read"
            )
    return judged(silent, problems)


def _renders(run: Run) -> dict[tuple[str | None, str], list[Entry]]:
    """Each render the program started (by user and render id): its start and polls, in order."""
    found: dict[tuple[str | None, str], list[Entry]] = {}
    for entry in run.of("render_start", "render_poll"):
        if run.endpoint(entry) == "render_start":
            view = run.render(entry)
            if view is None or view.render_id is None:
                continue
            found[entry.user_id, view.render_id] = [entry]
        else:
            key = (entry.user_id, entry.path.rstrip("/").rsplit("/", 1)[-1])
            if key in found:
                found[key].append(entry)
    return found


def poll_cadence(run: Run) -> Judgement:
    pairs = []
    for steps in _renders(run).values():
        for before, after in itertools.pairwise(steps):
            view = run.render(before)
            if view is not None and view.status in _WAITING:
                pairs.append((before, after))
    problems = [
        f"{run.cite(b)} polled {b.real_time - a.real_time:.1f} s after #{run.number(a)} answered "
        f"{run.render(a).status} (polls {MIN_POLL_GAP:g} to {MAX_POLL_GAP:g} s apart; the documents say every 30 s)"  # type: ignore[union-attr]
        for a, b in pairs
        if not MIN_POLL_GAP <= b.real_time - a.real_time <= MAX_POLL_GAP
    ]
    return judged(pairs, problems)


def poll_to_the_end(run: Run) -> Judgement:
    renders = _renders(run)
    problems = []
    for (_, render_id), steps in renders.items():
        seen = [(e, v) for e in steps if (v := run.render(e)) is not None]
        done = next(((e, v) for e, v in seen if v.status in _DONE), None)
        if done is None:
            if seen and not run.timed_out:
                last, view = seen[-1]
                problems.append(f"polling of {render_id} stopped at {run.cite(last)}, which answered {view.status}")
            continue
        extra = [e for e in steps if run.number(e) > run.number(done[0])]
        if extra:
            problems.append(
                f"{run.cite(extra[0])} polled {render_id} again after #{run.number(done[0])} answered {done[1].status}"
            )
    return judged(renders, problems)


def download_output(run: Run) -> Judgement:
    import urllib.parse

    completed = []
    problems = []
    for (_, render_id), steps in _renders(run).items():
        done = next(
            ((e, v) for e in steps if (v := run.render(e)) is not None and v.status == RenderStatus.COMPLETED), None
        )
        if done is None or not done[1].url:
            continue
        completed.append(done)
        wanted = urllib.parse.urlsplit(done[1].url).path
        fetched = [e for e in run.after(done[0]) if e.method == "GET" and e.path == wanted]
        if not fetched:
            field = "output.url" if done[1].shape.value == "toplevel" else "data.outputUrl"
            other = [e for e in run.after(done[0]) if run.endpoint(e) == "render_download"]
            instead = f"; it fetched {run.cite(other[0])} instead" if other else ""
            problems.append(f"{render_id} completed at {run.cite(done[0])}, but its {field} was never fetched{instead}")
    return judged(completed, problems)


def own_user_paths(run: Run) -> Judgement:
    named = [e for e in run.api() if user_segment(e.path) is not None]
    problems = [
        f"{run.cite(e)} names the user {user_segment(e.path)!r}: neither `me` nor its own user id"
        for e in named
        if not run.own_path(e)
    ]
    return judged(named, problems)
