"""The catalogue: every rule an integration is judged by, in the order reports show them, and judging one run.

Each rule is named, says what it judges, and quotes the sentence of the documents it enforces with the document
it comes from: the two public skill documents (``video-to-generator``, ``auto-generator``) and PROTOCOL.md, the
emulator's written-down decisions where the documents are silent. Each one is tripped by a program written with
that one bug in the tests (tests/toolkit/audit): a rule that cannot fail would be a defect.
"""

from __future__ import annotations

import typing

from . import _judging as judging
from . import _rules as rules
from ._facts import Run
from ._verdicts import Judgement, Rule, Verdict

__all__ = ["RULES", "RULE_NAMES", "judge_run"]

BOTH = f"{rules.VTG}, {rules.AG}"

RULES: typing.Final[tuple[Rule, ...]] = (
    Rule(
        name="bearer-token",
        judges="every API call but the token request carries Authorization: Bearer <token>",
        quote="Include `Authorization: Bearer <NEMO_TOKEN>` and all attribution headers on every request",
        source=rules.VTG,
        check=rules.bearer_token,
    ),
    Rule(
        name="attribution-headers",
        judges="every API call carries X-Skill-Source, X-Skill-Version and X-Skill-Platform with valid values",
        quote="Three attribution headers are required on every request and must match this file's frontmatter",
        source=rules.VTG,
        check=rules.attribution_headers,
    ),
    Rule(
        name="client-id",
        judges="every token request carries X-Client-Id (1 to 64 characters)",
        quote=(
            "POST to `https://mega-api-prod.nemovideo.ai/api/auth/anonymous-token` with header `X-Client-Id` set to "
            "that UUID."
        ),
        source=rules.VTG,
        check=rules.client_id,
    ),
    Rule(
        name="token-reused",
        judges="the token is reused; a new one is asked for only after a 1001",
        quote="The response `data.token` is your NEMO_TOKEN — 100 free credits, valid 7 days.",
        source=rules.VTG,
        check=rules.token_reused,
    ),
    Rule(
        name="session-reused",
        judges="the session is reused; a new one is created only after a 1001 or a 1002",
        quote="Store the returned `session_id` for all subsequent requests.",
        source=rules.VTG,
        check=rules.session_reused,
    ),
    Rule(
        name="after-1001",
        judges="after a 1001: one new token, and the call sent once more with it",
        quote="`1001` — token expired or invalid; re-acquire via `/api/auth/anonymous-token`",
        source=BOTH,
        check=rules.after_1001,
    ),
    Rule(
        name="after-1002",
        judges="after a 1002: one new session, and the call sent once more on it",
        quote="`1002` — session not found; create a new one",
        source=BOTH,
        check=rules.after_1002,
    ),
    Rule(
        name="after-429",
        judges="after a 429: the call sent once more, no earlier than Retry-After (30 s without one)",
        quote="`429` — rate limited; wait 30s and retry once",
        source=BOTH,
        check=rules.after_429,
    ),
    Rule(
        name="one-retry",
        judges="a failed call is sent at most once more",
        quote="1001 → get a new anonymous token and retry once; 1002 → create a new session and retry once",
        source=rules.PROTOCOL,
        check=rules.one_retry,
    ),
    Rule(
        name="after-2001",
        judges="after a 2001, no further turn is sent",
        quote=(
            "`2001` — out of credits; anonymous users get a registration link with `?bind=<id>`, registered users "
            "top up"
        ),
        source=BOTH,
        check=rules.after_2001,
    ),
    Rule(
        name="after-402",
        judges="after a 402 on the render start, the render is not started again",
        quote="`402` — free plan export blocked; not a credit issue, subscription tier",
        source=BOTH,
        check=rules.after_402,
    ),
    Rule(
        name="after-upload-refused",
        judges="after a 4001 or 4002, the same file is not uploaded again",
        quote=(
            "`4001` — unsupported file type; show accepted formats / "
            "`4002` — file too large; suggest compressing or trimming"
        ),
        source=BOTH,
        check=rules.after_upload_refused,
    ),
    Rule(
        name="turn-not-resent",
        judges="a turn whose stream began is never sent again (a cut, an error or a silent close included)",
        quote="its state change still happens, so a client must poll the state and diff it",
        source=rules.PROTOCOL,
        check=rules.turn_not_resent,
    ),
    Rule(
        name="one-turn-at-a-time",
        judges="no turn is sent while another of the same session is streaming (the service answers 409)",
        quote="a second `/run_sse` while a turn of the same session is running",
        source=rules.PROTOCOL,
        check=rules.one_turn_at_a_time,
    ),
    Rule(
        name="stream-read-to-end",
        judges="every turn's stream is read until the service ends it (a heartbeat is not the end)",
        quote="Heartbeats and empty `data:` lines mean the backend is still working",
        source=BOTH,
        check=rules.stream_read_to_end,
    ),
    Rule(
        name="silent-close-followed",
        judges="after a stream that closed without any text, the state is read before anything else",
        quote=(
            "When that happens, poll `/api/state` to confirm the timeline changed, then tell the user what was updated."
        ),
        source=BOTH,
        check=rules.silent_close_followed,
    ),
    Rule(
        name="poll-cadence",
        judges=(
            f"a render is polled about every 30 s: {rules.MIN_POLL_GAP:g} to {rules.MAX_POLL_GAP:g} s after a "
            "pending or processing answer"
        ),
        quote="Poll status every 30s.",
        source=rules.VTG,
        check=rules.poll_cadence,
    ),
    Rule(
        name="poll-to-the-end",
        judges="a render is polled until it is completed or failed, and not after",
        quote="Poll GET `/api/render/proxy/lambda/<id>` every 30s until `status` = `completed`.",
        source=rules.AG,
        check=rules.poll_to_the_end,
    ),
    Rule(
        name="download-output",
        judges="a completed render's output URL (output.url, or data.outputUrl in the wrapped shape) is fetched",
        quote="Download URL at `output.url`.",
        source=rules.AG,
        check=rules.download_output,
    ),
    Rule(
        name="own-user-paths",
        judges="paths name `me` or the program's own user id, never another user",
        quote="Path segment `me` means the token's user; the token's own `user_id` is accepted in its place",
        source=rules.PROTOCOL,
        check=rules.own_user_paths,
    ),
    Rule(
        name="envelope-decides",
        judges="under always200 the program does what it does under http (the envelope's code decides, not the status)",
        quote="a client that reads only the HTTP status must fail contract tests under it",
        source=rules.PROTOCOL,
        check=lambda run: judging.envelope_decides(run, _plain),
    ),
    Rule(
        name="token-not-shown",
        judges="no token appears in the program's output",
        quote="Don't expose tokens or raw API output.",
        source=rules.AG,
        check=judging.token_not_shown,
    ),
    Rule(
        name="raw-json-not-shown",
        judges="no raw API JSON (envelopes, render answers, event-stream lines, tool calls) in the program's output",
        quote="Don't display raw API responses or token values to the user.",
        source=rules.VTG,
        check=judging.raw_json_not_shown,
    ),
    Rule(
        name="outcome",
        judges="the run ends as its scenario expects: the work done and exit 0, or a stop with the right advice",
        quote="You upload, describe what you want, and download the result.",
        source=rules.VTG,
        check=judging.outcome,
    ),
)
RULE_NAMES: typing.Final = tuple(rule.name for rule in RULES)
_ENVELOPE_DECIDES: typing.Final = RULES[RULE_NAMES.index("envelope-decides")]


def _plain(run: Run) -> dict[str, Judgement]:
    """Every rule's judgement of a run but envelope-decides's own."""
    return {rule.name: rule.judge(run) for rule in RULES if rule is not _ENVELOPE_DECIDES}


def judge_run(run: Run) -> tuple[Verdict, ...]:
    """Every rule's verdict on one run (an always200 twin: envelope-decides, the rest judged through it)."""
    required = set(run.scenario.exercises)
    verdicts = []
    for rule in RULES:
        if run.original is not None and rule is not _ENVELOPE_DECIDES:
            said = Judgement("not_exercised", (f"judged by envelope-decides against {run.original.scenario.name}",))
        else:
            said = rule.judge(run)
        verdicts.append(
            Verdict(
                scenario=run.scenario.name,
                rule=rule.name,
                status=said.status,
                evidence=said.evidence,
                required=rule.name in required,
            )
        )
    return tuple(verdicts)
