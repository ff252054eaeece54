"""One verification run: our checks, then Schemathesis, then the checks judged over every answer of the run."""

from __future__ import annotations

import contextlib
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
    base = check_url(url)
    known = {check.name: check for check in CHECKS}
    chosen = list(known) if checks is None else list(dict.fromkeys(checks))
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {', '.join(known)}")
    phases = tuple(dict.fromkeys(phases))
    unknown = [phase for phase in phases if phase not in PHASES]
    if unknown:
        raise ValueError(f"unknown Schemathesis phases {unknown}; choose from {', '.join(PHASES)}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if max_examples < 1:
        raise ValueError(f"max_examples must be at least 1, not {max_examples!r}")
    mode = None if status_mode is None else StatusMode(status_mode)
    if phases:
        try:
            import schemathesis  # noqa: F401 - only whether it is there
        except ImportError:
            raise ImportError(
                "the Schemathesis phases need schemathesis: pip install 'nemo-contract[verify]' (or run no phases)"
            ) from None
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    say = progress or (lambda text: None)
    started = time.monotonic()
    masker = Masker()
    server = Server(base, timeout=timeout, recorder=Recorder(masker), masker=masker)
    try:
        ctx = Context(server, token=token, seed=seed, message=message, status_mode=mode)
        try:
            say("a token")
            ctx.reach()
        except Broken as exc:
            if exc.transport:
                raise ServerUnreachable(f"nothing answers at {base} ({exc})") from None
        except NotRun:
            pass  # the checks that need a token say why they did not run
        results: dict[str, CheckResult] = {}
        for check in (known[name] for name in chosen):
            if check.late:
                if check.prepare is not None:
                    with contextlib.suppress(NotRun, Broken):  # the check, judged later, says what it saw
                        check.prepare(ctx)
                continue
            say(check.name)
            results[check.name] = _judge(check, ctx)
        if not server.recorder.errors():
            with contextlib.suppress(Broken):  # the status mode shows in an error answer; make one if none did
                ctx.provoke_401()
        extra: list[CheckResult] = []
        if phases:
            from . import _schemathesis

            try:
                run_token = ctx.user().token
            except (NotRun, Broken) as exc:
                extra = [
                    CheckResult(
                        "schemathesis",
                        "Schemathesis ran against the recorded spec",
                        Outcome.NOT_RUN,
                        "schemathesis",
                        f"no token to authenticate with: {exc}",
                    )
                ]
            else:
                extra = _schemathesis.run(
                    base,
                    token=run_token,
                    recorder=server.recorder,
                    masker=masker,
                    max_examples=max_examples,
                    seed=seed,
                    phases=phases,
                    timeout=timeout,
                    status_mode=ctx.status_mode,
                    progress=say,
                )
        for check in (known[name] for name in chosen if known[name].late):
            results[check.name] = _judge(check, ctx)
    finally:
        server.close()
    ordered = [results[check.name] for check in CHECKS if check.name in results]
    shown = ctx.status_mode
    return Report(
        url=base,
        seed=seed,
        status_mode=None if shown is None else shown.value,
        phases=phases,
        results=(*ordered, *extra),
        seconds=time.monotonic() - started,
    )
