"""The rules on the program's output and on the run as a whole.

``token-not-shown`` and ``raw-json-not-shown`` read the program's standard output and error; ``outcome`` holds
the run against what its scenario expects. ``envelope-decides`` judges an ``always200`` twin as a whole against
its http scenario: everything the twin does differently (a rule that breaks only there, another exit status,
other calls) is the envelope's matter, since the two differ in nothing but the HTTP statuses of the errors. So
a twin's other rules are reported as judged by it, and a bug that shows under both is reported once, where it
belongs, in the http scenario.
"""

from __future__ import annotations

import re
import typing

from ..protocol import Code
from ._facts import Run
from ._verdicts import Judgement, judged

if typing.TYPE_CHECKING:
    from mock_server import Entry

__all__ = ["envelope_decides", "outcome", "raw_json_not_shown", "token_not_shown"]

#: What every token the service issues looks like (``nmv_usr_`` and 40 characters), for tokens not seen whole.
_TOKEN_SHAPE = re.compile(r"nmv_usr_[A-Za-z0-9_-]{8,}")
#: Raw API JSON: the envelope (and the top-level render answer), the wrapped render answer, SSE lines, tool JSON.
_RAW = (
    ("an API envelope", re.compile(r'\{\s*"code"\s*:\s*-?\d+\s*,\s*"(?:message|id)"\s*:')),
    ("a wrapped render answer", re.compile(r'\{\s*"success"\s*:\s*(?:true|false)\s*,\s*"data"\s*:')),
    ("a raw event-stream line", re.compile(r"^[ \t]*data:", re.M)),
    ("a tool call's JSON", re.compile(r'"function(?:Call|Response)"\s*:|"type"\s*:\s*"(?:tool_call|tool_result)"')),
)


def _masked(line: str, secrets: typing.Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        line = line.replace(secret, secret[:10] + "…")
    line = _TOKEN_SHAPE.sub(lambda m: m[0][:10] + "…", line)
    return line if len(line) <= 100 else line[:97] + "..."


def token_not_shown(run: Run) -> Judgement:
    tokens = {t for t in run.tokens if len(t) >= 8}
    problems = [
        f"{stream} line {number}: {_masked(line, tokens)!r}"
        for stream, number, line in run.lines()
        if _TOKEN_SHAPE.search(line) or any(t in line for t in tokens)
    ]
    return judged(tokens, problems)


def raw_json_not_shown(run: Run) -> Judgement:
    problems = []
    for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        for what, pattern in _RAW:
            match = pattern.search(text)
            if match:
                number = text.count("\n", 0, match.start()) + 1
                line = text.splitlines()[number - 1] if text.splitlines() else ""
                problems.append(f"{stream} line {number} shows {what}: {_masked(line, run.tokens)!r}")
    answered = any(e.code is not None or e.events for e in run.api())
    return judged(answered, problems)


def _done(run: Run, work: str) -> bool:
    """Whether the traffic shows this part of the work done."""
    if work == "upload":
        return any(e.code == Code.SUCCESS for e in run.of("upload"))
    if work == "turn":  # a turn the agent took on (whether the program then read it to its end is another rule)
        return any(e.events is not None for e in run.of("run_sse"))
    return any(e.status == 200 and e.complete for e in run.of("render_result", "render_download"))


def _advice(run: Run, pattern: str) -> bool:
    users = "|".join(re.escape(u) for u in sorted(run.user_ids)) or "(?!)"
    return re.search(pattern.replace("{user_id}", f"(?:{users})"), run.stdout + "\n" + run.stderr) is not None


def _last_words(run: Run) -> str:
    lines = [line.strip() for line in (run.stderr or run.stdout).splitlines() if line.strip()]
    return f"; its last words: {lines[-1][:100]!r}" if lines else ""


def outcome(run: Run) -> Judgement:
    expect = run.scenario.expect
    if run.timed_out:
        return judged(True, [f"the program did not finish: it was stopped at {run.at(run.finished)}"])
    status = run.exit_status
    missing = [w for w in expect.work if not _done(run, w)]
    unsaid = [p for p in expect.advice if not _advice(run, p)]
    finished = status == 0 and not missing
    stopped = status != 0 and not unsaid
    if expect.outcome == "finish" and not finished:
        why = (
            f"exited {status}{_last_words(run)}"
            if status != 0
            else f"exited 0, but the traffic shows no {', '.join(missing)}"
        )
        return judged(True, [f"expected the work done and exit status 0; the program {why}"])
    if expect.outcome == "stop" and not stopped:
        if status == 0:
            return judged(True, ["expected a stop with a non-zero exit status and advice; the program exited 0"])
        return judged(True, [f"the program stopped (exit {status}) without advice matching /{p}/" for p in unsaid])
    if expect.outcome == "either" and not (finished or stopped):
        why = (
            f"exited 0, but the traffic shows no {', '.join(missing)}"
            if status == 0
            else f"stopped without advice /{unsaid[0]}/"
        )
        return judged(True, [f"the program {why}"])
    return judged(True, [])


def _signature(run: Run) -> list[tuple[Entry, str]]:
    """The calls a run made, as (entry, method endpoint answer), repeated polls of a render counted once."""
    calls: list[tuple[Entry, str]] = []
    for entry in run.entries:
        kind = run.endpoint(entry)
        if kind is None:
            continue
        answer = str(entry.code) if entry.code is not None else f"HTTP {entry.status}"
        key = f"{entry.method} {kind} {answer}"
        if not (calls and calls[-1][1] == key and kind == "render_poll"):
            calls.append((entry, key))
    return calls


def _ended(run: Run) -> str:
    return "was stopped at the timeout" if run.timed_out else f"exited {run.exit_status}"


def envelope_decides(run: Run, plain: typing.Callable[[Run], dict[str, Judgement]]) -> Judgement:
    """An always200 twin against its http run: ``plain`` gives every other rule's judgement of a run."""
    original = run.original
    if original is None:
        return judged(False, [])
    twin_says, http_says = plain(run), plain(original)
    problems = []
    for name, said in twin_says.items():
        if said.status == "fail" and http_says[name].status != "fail":
            problems.append(
                f"under always200, {name} breaks ({said.evidence[0]}); in {original.scenario.name} it holds"
            )
    name = original.scenario.name
    mine, theirs = _signature(run), _signature(original)
    for (entry, key), (other, their_key) in zip(mine, theirs, strict=False):
        if key != their_key:
            problems.append(
                f"the calls part ways at {run.cite(entry)} ({run.answer_text(entry)}); in {name} the call there was "
                f"{original.cite(other)} ({original.answer_text(other)})"
            )
            break
    else:
        if len(mine) > len(theirs):
            entry = mine[len(theirs)][0]
            problems.append(
                f"under always200 the program went on with {run.cite(entry)} ({run.answer_text(entry)}); "
                f"in {name} it had stopped there"
            )
        elif len(mine) < len(theirs):
            other = theirs[len(mine)][0]
            problems.append(
                f"under always200 the program stopped where in {name} it went on with {original.cite(other)}"
            )
    if (run.exit_status, run.timed_out) != (original.exit_status, original.timed_out):
        problems.append(f"the program {_ended(run)} under always200; in {name} it {_ended(original)}")
    errors_as_200 = any(e.code not in (None, Code.SUCCESS) and e.status == 200 for e in run.entries)
    return judged(errors_as_200, problems)
