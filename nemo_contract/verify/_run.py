"""One verification run: our checks, then Schemathesis, then the checks judged over every answer of the run."""

from __future__ import annotations

import contextlib
import math
import random
import time
import typing
import urllib.parse

from ..protocol import StatusMode
from ._checks import CHECKS, DEFAULT_MESSAGE, Check, Context
from ._http import Broken, Masker, NotRun, Recorder, Server, ServerUnreachable
from ._model import CheckResult, Evidence, Outcome, Report
from ._schemathesis import DEFAULT_MAX_EXAMPLES, PHASES

__all__ = ["DEFAULT_TIMEOUT", "check_url", "verify"]

#: A turn may stream for 15 minutes (the protocol's limit); no single wait of verify lasts longer by default.
DEFAULT_TIMEOUT = 900.0
_KEEP = 10


def check_url(url: str) -> str:
    """``url`` without a trailing slash when it can be a server's base URL, else ValueError naming the problem."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ValueError(f"{url!r} cannot be read as a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"{url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host name")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r}: a base URL has no query or fragment")
    import httpx  # its own reading is stricter (a host name must be IDNA): a URL it refuses is one we refuse

    try:
        httpx.URL(url.strip())
    except httpx.InvalidURL:
        raise ValueError(f"{url!r} cannot be read as a URL") from None
    return url.strip().rstrip("/")


def _judge(check: Check, ctx: Context) -> CheckResult:
    started = time.monotonic()

    def result(outcome: Outcome, reason: str = "", evidence: tuple[Evidence, ...] = ()) -> CheckResult:
        seconds = time.monotonic() - started
        return CheckResult(check.name, check.description, outcome, "protocol", reason, evidence, seconds=seconds)

    try:
        found = check.judge(ctx)
    except NotRun as exc:
        return result(Outcome.NOT_RUN, str(exc))
    except Broken as exc:
        return result(Outcome.ERROR, str(exc), () if exc.evidence is None else (exc.evidence,))
    except Exception as exc:  # a bug of ours must not hide the other checks' findings
        return result(Outcome.ERROR, f"verify itself failed ({type(exc).__name__}: {exc}); please report it")
    if not found:
        return result(Outcome.PASSED)
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return result(Outcome.FAILED, found[0].note + more, tuple(found[:_KEEP]))


def verify(
    url: str,
    *,
    token: str | None = None,
    checks: typing.Iterable[str] | None = None,
    phases: typing.Iterable[str] = PHASES,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    status_mode: StatusMode | str | None = None,
    message: str = DEFAULT_MESSAGE,
    progress: typing.Callable[[str], None] | None = None,
) -> Report:
    """Check the server at ``url`` against the recorded spec and the protocol's behaviour.

    ``checks`` chooses among our checks (default all, see ``CHECKS``); ``phases`` the Schemathesis phases (empty:
    no Schemathesis run, and Schemathesis need not be installed). ``seed`` (default: a random one, in the
    report) drives every random choice. ``timeout`` bounds every wait: one request, one turn, one render.
    ``status_mode`` holds the server to a mode instead of the one it shows. ``message`` is what the turn says
    to the agent: the default asks for a generation (tools, heartbeats, a draft to render); a short chat message
    makes a quick run against a real-time server. ``progress`` is told what the run is doing.

    Raises ValueError for a bad argument, ServerUnreachable when nothing answers at ``url``, and ImportError when
    a Schemathesis phase is asked for and Schemathesis is not installed.
    """
    base, chosen, phases, mode = _arguments(url, checks, phases, max_examples, timeout, status_mode)
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    say = progress or (lambda text: None)
    started = time.monotonic()
    masker = Masker()
    server = Server(base, timeout=timeout, recorder=Recorder(masker), masker=masker)
    try:
        ctx = Context(server, token=token, seed=seed, message=message, status_mode=mode)
        try:
            ctx.reach()
        except Broken as exc:
            if exc.transport:
                raise ServerUnreachable(f"nothing answers at {base} ({exc})") from None
        except NotRun:
            pass  # the checks that need a token say why they did not run
        results: dict[str, CheckResult] = {}
        for check in chosen:
            if not check.late:
                say(check.name)
                results[check.name] = _judge(check, ctx)
            elif check.prepare is not None:
                with contextlib.suppress(NotRun, Broken):  # the check, judged later, says what it saw
                    check.prepare(ctx)
        if not server.recorder.errors():
            with contextlib.suppress(Broken):  # the status mode shows in an error answer; make one if none did
                ctx.provoke_401()
        extra = _schemathesis_phases(ctx, phases, max_examples=max_examples, say=say) if phases else []
        results.update((check.name, _judge(check, ctx)) for check in chosen if check.late)
    finally:
        server.close()
    shown = ctx.status_mode
    return Report(
        url=base,
        seed=seed,
        status_mode=None if shown is None else shown.value,
        phases=phases,
        results=(*(results[check.name] for check in CHECKS if check.name in results), *extra),
        seconds=time.monotonic() - started,
    )


def _arguments(
    url: str,
    checks: typing.Iterable[str] | None,
    phases: typing.Iterable[str],
    max_examples: int,
    timeout: float,
    status_mode: StatusMode | str | None,
) -> tuple[str, list[Check], tuple[str, ...], StatusMode | None]:
    """The arguments checked: the base URL, the checks chosen, the phases, the status mode."""
    base = check_url(url)
    known = {check.name: check for check in CHECKS}
    names = list(known) if checks is None else list(dict.fromkeys(checks))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {', '.join(known)}")
    chosen_phases = tuple(dict.fromkeys(phases))
    unknown = [phase for phase in chosen_phases if phase not in PHASES]
    if unknown:
        raise ValueError(f"unknown Schemathesis phases {unknown}; choose from {', '.join(PHASES)}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if max_examples < 1:
        raise ValueError(f"max_examples must be at least 1, not {max_examples!r}")
    mode = None if status_mode is None else StatusMode(status_mode)
    if chosen_phases:
        try:
            import schemathesis  # noqa: F401 - only whether it is there
        except ImportError:
            raise ImportError(
                "the Schemathesis phases need schemathesis: pip install 'nemo-contract[verify]' (or run no phases)"
            ) from None
    return base, [known[name] for name in names], chosen_phases, mode


def _schemathesis_phases(
    ctx: Context, phases: tuple[str, ...], *, max_examples: int, say: typing.Callable[[str], None]
) -> list[CheckResult]:
    """Schemathesis's results, run as the run's user, with the status mode the server has shown so far."""
    from . import _schemathesis

    try:
        token = ctx.user().token
    except (NotRun, Broken) as exc:
        reason = f"no token to authenticate with: {exc}"
        return [CheckResult(_schemathesis.RUN, _schemathesis.RUN_DESCRIPTION, Outcome.NOT_RUN, "schemathesis", reason)]
    return _schemathesis.run(
        ctx.server.url,
        token=token,
        recorder=ctx.recorder,
        masker=ctx.mask,
        max_examples=max_examples,
        seed=ctx.seed,
        phases=phases,
        timeout=ctx.server.timeout,
        status_mode=ctx.status_mode,
        progress=say,
    )
