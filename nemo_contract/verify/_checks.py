"""Our own checks: what the protocol promises that a schema cannot say, checked by driving the server directly.

The checks share what they need through ``Context``, which makes each thing once, when a check first asks for
it: a token (the one given, or an anonymous one), a second user's token, a session, one turn on ``/run_sse``
read with the arrival time of every chunk, a render of the session's draft polled until it ends. A thing that
cannot be made stops every check that needs it the same way: ``NotRun`` (the account is out of credits, exports
are blocked for its plan) or ``Broken`` (the server failed on the way; the check errors).

``envelope_status`` and ``retry_after`` are judged last, over every answer of the run, Schemathesis's included.
"""

from __future__ import annotations

import contextlib
import random
import time
import typing

from ..protocol import (
    ATTRIBUTION_HEADERS,
    DEFAULT_LANGUAGE,
    DEFAULT_TASK_NAME,
    HTTP_STATUS,
    ME,
    PATHS,
    Code,
    Header,
    RenderStatus,
    StatusMode,
    shapes,
)
from ..protocol import fields as f
from ..protocol.control import MOCK_FAULT
from . import _stream
from ._http import ATTRIBUTION, Answer, Broken, Masker, NotRun, Recorder, Seen, Server, StreamRead
from ._model import Evidence

__all__ = [
    "CHECKS",
    "DEFAULT_MESSAGE",
    "Check",
    "Context",
    "RenderRun",
    "judge_render",
    "judge_retry_after",
    "judge_statuses",
]

#: A generation: the agent runs tools (so heartbeats are sent) and leaves an exportable draft to render.
DEFAULT_MESSAGE = "generate a 5-second video of waves at sunset"
_T = typing.TypeVar("_T")
#: How far along each render status is: a render's status never goes down, and stays put once it is 2.
_RANK: typing.Final[dict[str | None, int]] = {
    RenderStatus.PENDING.value: 0,
    RenderStatus.PROCESSING.value: 1,
    RenderStatus.COMPLETED.value: 2,
    RenderStatus.FAILED.value: 2,
}
_ENDED = 2
_EVENT_STREAM = "text/event-stream"
#: A token no server issued (the documented prefix, so it is refused for being unknown, not for its form).
_UNKNOWN_TOKEN = "Bearer nmv_usr_verify_unknown_0000000000"


class User(typing.NamedTuple):
    token: str
    user_id: str | None  # None until a session answer names it (a token given on the command line)


class RenderRun(typing.NamedTuple):
    """A render from its start to one poll after it ended: each answer read in either shape; ``stopped`` says
    why polling stopped early (a refused poll, the timeout)."""

    seen: list[tuple[Answer, shapes.RenderView]]
    stopped: Evidence | None


def _view(answer: Answer) -> shapes.RenderView:
    return shapes.read_render(answer.body if isinstance(answer.body, dict) else {})


class Context:
    """What the checks share, each made once on first use (a failure to make it is remembered too)."""

    def __init__(
        self, server: Server, *, token: str | None, seed: int, message: str, status_mode: StatusMode | None
    ) -> None:
        self.server = server
        self.mask = server.mask
        self.recorder: Recorder = server.recorder
        self.seed = seed
        self.rng = random.Random(seed)
        self.message = message
        self.given_mode = status_mode
        self._token = token
        self._made: dict[str, typing.Any] = {}
        self._failed: dict[str, Exception] = {}
        self.run_id = f"{self.rng.getrandbits(40):010x}"
        #: Render ids are the client's and may not be used twice: a run with the same seed needs new ones.
        self.render_prefix = f"render_{int(time.time() * 1000)}_{self.run_id}"

    def once(self, name: str, make: typing.Callable[[], _T]) -> _T:
        if name in self._failed:
            raise self._failed[name]
        if name not in self._made:
            try:
                self._made[name] = make()
            except (NotRun, Broken) as exc:
                self._failed[name] = exc
                raise
        found: _T = self._made[name]
        return found

    @property
    def status_mode(self) -> StatusMode | None:
        return self.given_mode or self.recorder.mode()

    def refusal(self, answer: Answer, what: str) -> Exception:
        """What a refused setup step means: NotRun for an account that cannot pay or a rate limit, else Broken."""
        code = answer.code
        if code == Code.INSUFFICIENT_CREDITS:
            return NotRun(f"{what}: the account is out of credits (code {code}); use a --token with credits")
        if code == Code.RATE_LIMITED or answer.status == HTTP_STATUS[Code.RATE_LIMITED]:
            return NotRun(f"{what}: the server is rate limiting this client ({answer.describe()})")
        return Broken(f"{what}: {answer.describe()}", answer.evidence(f"{what} was refused", self.mask))

    # -- what the checks share -------------------------------------------------------------------------------

    def mint(self, client_id: str) -> User:
        answer = self.server.call("POST", PATHS.anonymous_token, headers={Header.CLIENT_ID: client_id})
        if answer.refused:
            raise self.refusal(answer, "an anonymous token")
        token, user_id = answer.data(f.TOKEN), answer.data(f.USER_ID)
        if not isinstance(token, str) or not token:
            raise Broken("the anonymous token answer has no data.token", answer.evidence("no token", self.mask))
        self.mask.add(token)
        return User(token, user_id if isinstance(user_id, str) else None)

    def user(self) -> User:
        """The user the run acts as: the token given, else a new anonymous one."""
        if self._token is not None:
            self.mask.add(self._token)
            return User(self._token, None)
        return self.once("user", lambda: self.mint(f"nemo-contract-verify-{self.run_id}"))

    def other(self) -> User:
        """A second user, for the checks that one user cannot reach another's things."""
        return self.once("other", lambda: self.mint(f"nemo-contract-verify-{self.run_id}-other"))

    def session(self) -> tuple[str, str | None]:
        """(session id, its owner's user id) of a new session of ``user()``."""

        def make() -> tuple[str, str | None]:
            body = {f.TASK_NAME: DEFAULT_TASK_NAME, f.LANGUAGE: DEFAULT_LANGUAGE}
            answer = self.server.call("POST", PATHS.create_session.format(user=ME), token=self.user().token, json=body)
            if answer.refused:
                raise self.refusal(answer, "creating a session")
            session_id, owner = answer.data(f.SESSION_ID), answer.data(f.USER_ID)
            if not isinstance(session_id, str) or not session_id:
                raise Broken("the session answer has no data.session_id", answer.evidence("no session", self.mask))
            return session_id, owner if isinstance(owner, str) else self.user().user_id

        return self.once("session", make)

    def turn(self) -> StreamRead:
        """One turn on ``/run_sse`` (the run's message), read to its end with every chunk timed."""

        def make() -> StreamRead:
            session_id = self.session()[0]
            body = shapes.turn_request(session_id, self.message)
            read = self.server.stream(PATHS.run_sse, token=self.user().token, json=body, timeout=self.server.timeout)
            if read.answer.refused:
                raise self.refusal(read.answer, "starting a turn")
            kind = read.answer.headers.get("content-type", "")
            if not kind.startswith(_EVENT_STREAM):
                note = f"/run_sse answered Content-Type {kind!r}, not {_EVENT_STREAM}"
                raise Broken(note, read.answer.evidence(note, self.mask))
            return read

        return self.once("turn", make)

    def render(self) -> RenderRun:
        """A render of the session's draft (as its state holds it, after the turn), polled until it ends."""
        return self.once("render", self._render)

    def _render(self) -> RenderRun:
        session_id = self.session()[0]
        token = self.user().token
        with contextlib.suppress(NotRun, Broken):
            self.turn()  # the draft to export is the one the turn left; without a turn, the empty draft
        state = self.server.call("GET", PATHS.state.format(user=ME, session_id=session_id), token=token)
        if state.refused:
            raise self.refusal(state, "reading the state")
        draft = state.data(f.STATE, f.DRAFT)
        if not isinstance(draft, dict):
            raise Broken("the state answer has no data.state.draft", state.evidence("no draft", self.mask))
        render_id = f"{self.render_prefix}_export"
        start = self.server.call(
            "POST", PATHS.render_start, token=token, json=shapes.render_request(render_id, session_id, draft)
        )
        if start.code == Code.EXPORT_BLOCKED:
            raise NotRun("exports are blocked for this account's plan (402): no render can be started")
        if start.refused:
            raise self.refusal(start, "starting a render")
        seen = [(start, _view(start))]
        deadline = time.monotonic() + self.server.timeout
        delay = 0.05
        poll = PATHS.render_poll.format(render_id=render_id)
        while True:
            ended = _RANK.get(seen[-1][1].status) == _ENDED
            if not ended and time.monotonic() > deadline:
                note = f"the render had not ended after {self.server.timeout:g} s (last status {seen[-1][1].status})"
                return RenderRun(seen, seen[-1][0].evidence(note, self.mask))
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            answer = self.server.call("GET", poll, token=token)
            if answer.refused:
                note = f"a poll of the render was refused ({answer.describe()})"
                return RenderRun(seen, answer.evidence(note, self.mask))
            seen.append((answer, _view(answer)))
            if ended:  # that was one more poll after the end: an ended render stays ended
                return RenderRun(seen, None)

    def reach(self) -> None:
        """The first request of the run: the token's own (a new anonymous one, or the credits of the one given).
        A token given that the server refuses is a ValueError: the run would check nothing."""
        if self._token is None:
            self.user()
            return
        answer = self.server.call("GET", PATHS.credits, token=self.user().token)
        if answer.code == Code.TOKEN_INVALID:
            raise ValueError(f"the server refuses the token given ({answer.describe()})")

    def provoke_401(self) -> None:
        """An answer that must be an error (an unknown token): the status mode shows in it."""
        self.server.call("GET", PATHS.credits, token=_UNKNOWN_TOKEN)

    def provoke_429(self) -> None:
        """Ask for a 429 the way the emulator allows (``X-Mock-Fault: 429``); a real server ignores the header."""
        self.server.call(
            "GET", PATHS.credits, token=self.user().token, headers={MOCK_FAULT: str(int(Code.RATE_LIMITED))}
        )


# -- the checks ---------------------------------------------------------------------------------------------------


class Check(typing.NamedTuple):
    name: str
    description: str
    judge: typing.Callable[[Context], list[Evidence]]
    #: Judged after the Schemathesis run, over every answer seen; ``prepare`` runs with the other checks.
    late: bool = False
    prepare: typing.Callable[[Context], None] | None = None


def _expect_code(ctx: Context, answer: Answer, code: Code, what: str) -> list[Evidence]:
    if answer.code == code:
        return []
    return [answer.evidence(f"{what}: expected code {int(code)}, got {answer.describe()}", ctx.mask)]


def token_required(ctx: Context) -> list[Evidence]:
    found: list[Evidence] = []
    for what, authorization in (
        ("no token", None),
        ("an unknown token", _UNKNOWN_TOKEN),
        ("a malformed Authorization", "Basic dmVyaWZ5OnZlcmlmeQ=="),
    ):
        answer = ctx.server.call("GET", PATHS.credits, token=authorization)
        found += _expect_code(ctx, answer, Code.TOKEN_INVALID, f"a request with {what}")
    return found


def cross_user(ctx: Context) -> list[Evidence]:
    session_id, owner = ctx.session()
    intruder = ctx.other().token
    found: list[Evidence] = []
    paths = [(ME, "its own `me` path")] + ([(owner, "the owner's user id in the path")] if owner else [])
    for user, how in paths:
        answer = ctx.server.call("GET", PATHS.state.format(user=user, session_id=session_id), token=intruder)
        found += _expect_code(ctx, answer, Code.SESSION_NOT_FOUND, f"another user read the state through {how}")
    body = shapes.turn_request(session_id, "hello")
    turn = ctx.server.stream(PATHS.run_sse, token=intruder, json=body, timeout=ctx.server.timeout, head_only=True)
    found += _expect_code(ctx, turn.answer, Code.SESSION_NOT_FOUND, "another user ran a turn in the session")
    render = shapes.render_request(f"{ctx.render_prefix}_other", session_id, {})
    answer = ctx.server.call("POST", PATHS.render_start, token=intruder, json=render)
    found += _expect_code(ctx, answer, Code.SESSION_NOT_FOUND, "another user started a render of the session")
    return found


def render_attribution(ctx: Context) -> list[Evidence]:
    ctx.render()  # NotRun when the plan blocks exports: then every render start is 402 and this proves nothing
    session_id = ctx.session()[0]
    found: list[Evidence] = []
    for index, missing in enumerate(ATTRIBUTION_HEADERS):
        headers = {name: value for name, value in ATTRIBUTION.items() if name != missing}
        body = shapes.render_request(f"{ctx.render_prefix}_{index}", session_id, {})
        answer = ctx.server.call(
            "POST", PATHS.render_start, token=ctx.user().token, json=body, headers=headers, attribution=False
        )
        found += _expect_code(ctx, answer, Code.EXPORT_BLOCKED, f"a render start without {missing}")
    return found


def judge_render(run: RenderRun, mask: Masker) -> list[Evidence]:
    """Statuses known, never going down (nor changing once ended), progress not falling while processing, and
    an end within the timeout."""
    found: list[Evidence] = []
    previous: shapes.RenderView | None = None
    for answer, view in run.seen:
        if view.status not in _RANK:
            found.append(answer.evidence(f"a render status {view.status!r} that is none of {list(_RANK)}", mask))
            continue
        if previous is not None and previous.status in _RANK:
            before, now = _RANK[previous.status], _RANK[view.status]
            if now < before or (before == _ENDED and view.status != previous.status):
                note = f"the render's status went from {previous.status} to {view.status}"
                found.append(answer.evidence(note, mask))
            elif view.status == previous.status == RenderStatus.PROCESSING and view.progress < previous.progress:
                note = f"the render's progress went from {previous.progress} to {view.progress}"
                found.append(answer.evidence(note, mask))
        previous = view
    if run.stopped is not None:
        found.append(run.stopped)
    return found


def render_progress(ctx: Context) -> list[Evidence]:
    return judge_render(ctx.render(), ctx.mask)


def judge_statuses(answers: typing.Iterable[Seen], mode: StatusMode | None) -> list[Evidence]:
    """Each envelope's HTTP status is its code's under ``http``, 200 under ``always200``."""
    if mode is None:
        raise NotRun("no error answer was seen, so the server's status mode cannot be told")
    found: list[Evidence] = []
    for seen in answers:
        if seen.code is None or seen.code not in HTTP_STATUS:
            continue  # not an envelope, or a code the schema checks judge
        code = Code(seen.code)
        expected = HTTP_STATUS[Code.SUCCESS] if mode is StatusMode.ALWAYS200 else HTTP_STATUS[code]
        if seen.status != expected:
            note = f"code {int(code)} came with HTTP {seen.status}; under status_mode={mode} it is sent with {expected}"
            found.append(seen.evidence(note))
    return found


def envelope_status(ctx: Context) -> list[Evidence]:
    return judge_statuses(ctx.recorder.seen, ctx.status_mode)


def judge_retry_after(answers: typing.Iterable[Seen]) -> list[Evidence]:
    """Every 429 (by status or by code) carries Retry-After, a whole number of seconds."""
    limited = [s for s in answers if Code.RATE_LIMITED in (s.code, s.status)]
    if not limited:
        raise NotRun(f"no answer was a 429: the server ignores {MOCK_FAULT} and limited no request")
    found: list[Evidence] = []
    for seen in limited:
        if seen.retry_after is None:
            found.append(seen.evidence("a 429 without Retry-After"))
        elif not seen.retry_after.strip().isdigit():
            found.append(seen.evidence(f"Retry-After is {seen.retry_after!r}: integer seconds expected"))
    return found


def retry_after(ctx: Context) -> list[Evidence]:
    return judge_retry_after(ctx.recorder.seen)


def _stream_check(
    judge: typing.Callable[[StreamRead, Masker], list[Evidence]],
) -> typing.Callable[[Context], list[Evidence]]:
    return lambda ctx: judge(ctx.turn(), ctx.mask)


#: Every check of ours, in report order.
CHECKS: typing.Final = (
    Check(
        "token_required",
        "a request without a token, or with an unknown or malformed one, is refused with 1001",
        token_required,
    ),
    Check(
        "envelope_status",
        "every envelope's HTTP status agrees with its code under the server's status mode",
        envelope_status,
        late=True,
    ),
    Check(
        "retry_after",
        "every 429 carries Retry-After in integer seconds",
        retry_after,
        late=True,
        prepare=Context.provoke_429,
    ),
    Check("cross_user", "another user's session is refused with 1002 (state, /run_sse, render start)", cross_user),
    Check(
        "sse_streaming",
        "/run_sse delivers each event when it happens: the first arrives before the stream ends",
        _stream_check(_stream.streaming),
    ),
    Check(
        "sse_frames",
        "each event is one `data:` line of ADK (or typed) JSON; no event:, id: or retry: fields",
        _stream_check(_stream.frames),
    ),
    Check(
        "sse_heartbeats",
        "heartbeats take one of the three documented forms, one form per stream",
        _stream_check(_stream.heartbeats),
    ),
    Check(
        "sse_close",
        "the stream ends by the server closing it, after a complete last event",
        _stream_check(_stream.close),
    ),
    Check(
        "render_attribution",
        "a render start without any one of the attribution headers is refused with 402",
        render_attribution,
    ),
    Check("render_progress", "a render's status only moves forward and ends completed or failed", render_progress),
)
