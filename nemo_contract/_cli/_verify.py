"""``nemo-contract verify``: check a server against the recorded spec and the protocol's behaviour.

The summary goes to standard output (with the global ``--json``, the report as one JSON object instead), what
the run is doing to standard error; ``--junit FILE`` and ``--json FILE`` write the report for CI and scripts.
Exit status 0 only when every check held, 1 when one failed or errored, 2 for a usage error or a server that
does not answer. ``nemo_contract.verify`` (and Schemathesis) load inside the run, not for ``--help``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import tempfile
import typing

from ..protocol import StatusMode
from ._commands import CommandError, Commands, Invocation
from ._reports import report_path, write_report

__all__ = ["add_commands", "run"]

# The defaults, spelled here too so that --help need not import the verify package; a test keeps them equal.
PHASES = ("examples", "coverage", "fuzzing", "stateful")
CHECK_NAMES = (
    "token_required",
    "envelope_status",
    "retry_after",
    "cross_user",
    "sse_streaming",
    "sse_frames",
    "sse_heartbeats",
    "sse_close",
    "render_attribution",
    "render_progress",
)
DEFAULT_TIMEOUT = 900.0
DEFAULT_MAX_EXAMPLES = 25

_EPILOG = """exit status:
  0    every check held
  1    a check failed or errored (the summary says which, and why)
  2    usage error, a report file that cannot be written, or nothing answers at --url
  130  interrupted (Ctrl-C)

Against the emulator, run it fast: nemo-mock serve --time-scale 1000 (a 300-second turn then takes 0.3 s).
Against a real-time server a run takes minutes (a generation turn, a render, every Schemathesis phase): a short
--message (a chat line: no tools, no heartbeats) and --phases examples shorten it."""


def _positive(kind: typing.Callable[[str], float | int], minimum: float) -> typing.Callable[[str], typing.Any]:
    def parse(text: str) -> typing.Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value >= minimum or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum:g}")
        return value

    return parse


def _names(allowed: typing.Sequence[str], *, none: bool) -> typing.Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        if none and text.strip().lower() == "none":
            return ()
        chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
        unknown = [name for name in chosen if name not in allowed]
        if unknown or not chosen:
            extra = ", or none" if none else ""
            raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join(allowed)}{extra}")
        return chosen

    return parse


def add_commands(commands: Commands) -> None:
    verify = commands.add(
        "verify",
        "check a server against the recorded spec and the protocol's behaviour (Schemathesis and our own checks)",
        run=run,
        global_options=False,
        epilog=_EPILOG,
    )
    options = verify
    options.add_argument("--url", required=True, metavar="URL", help="the server's base URL (http:// or https://)")
    options.add_argument("--token", metavar="TOKEN", help="a token to act with (default: a new anonymous one)")
    options.add_argument("--junit", metavar="FILE", type=pathlib.Path, help="also write the report as JUnit XML")
    options.add_argument(
        "--json", dest="json_file", metavar="FILE", type=pathlib.Path, help="also write the report as JSON"
    )
    options.add_argument(
        "--timeout",
        type=_positive(float, 0.001),
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"the longest any one request, turn or render may take (default {DEFAULT_TIMEOUT:g})",
    )
    options.add_argument(
        "--max-examples",
        type=_positive(int, 1),
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"Schemathesis examples per operation and phase (default {DEFAULT_MAX_EXAMPLES})",
    )
    options.add_argument(
        "--phases",
        type=_names(PHASES, none=True),
        default=PHASES,
        metavar="LIST",
        help=f"Schemathesis phases, comma-separated (default {','.join(PHASES)}; none: our checks alone)",
    )
    options.add_argument(
        "--checks",
        type=_names(CHECK_NAMES, none=False),
        default=None,
        metavar="LIST",
        help=f"our checks to run, comma-separated (default all: {', '.join(CHECK_NAMES)})",
    )
    options.add_argument(
        "--seed", type=_positive(int, 0), metavar="N", help="seed every random choice (default: random)"
    )
    options.add_argument(
        "--status-mode",
        choices=[mode.value for mode in StatusMode],
        help="hold the server to this status mode (default: the one its error answers show)",
    )
    options.add_argument("--message", metavar="TEXT", help="what the turn says to the agent (default: a generation)")
    options.add_argument("--strict", action="store_true", help="a check that could not run fails the run too")


@contextlib.contextmanager
def _scratch_storage(used: bool) -> typing.Iterator[None]:
    """Hypothesis (under Schemathesis) keeps caches in ``./.hypothesis``; a command run in someone's folder keeps
    them in a temporary folder instead, unless ``HYPOTHESIS_STORAGE_DIRECTORY`` says where."""
    if not used or os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    try:
        from hypothesis.configuration import set_hypothesis_home_dir, storage_directory
    except ImportError:  # no Schemathesis either: verify says so
        yield
        return
    previous = storage_directory(intent_to_write=False).home_directory
    with tempfile.TemporaryDirectory(prefix="nemo-contract-verify-") as folder:
        set_hypothesis_home_dir(folder)
        try:
            yield
        finally:
            set_hypothesis_home_dir(previous)


def run(invocation: Invocation) -> int:
    args, console = invocation.args, invocation.console
    junit_path = report_path("--junit", args.junit)
    json_path = report_path("--json", args.json_file)
    from .. import verify as v

    options: dict[str, typing.Any] = dict(
        token=args.token,
        phases=args.phases,
        max_examples=args.max_examples,
        seed=args.seed,
        timeout=args.timeout,
        status_mode=args.status_mode,
        progress=lambda text: console.note(f"verify: {text}"),
    )
    if args.checks is not None:
        options.update(checks=args.checks)
    if args.message is not None:
        if not args.message.strip():
            raise CommandError("--message is empty", status=2)
        options.update(message=args.message)
    try:
        with _scratch_storage(bool(args.phases)):
            report = v.verify(args.url, **options)
    except (ValueError, ImportError, v.ServerUnreachable) as exc:
        raise CommandError(str(exc), status=2) from None
    write_report("--junit", junit_path, v.junit_xml(report))
    write_report("--json", json_path, v.report_json(report))
    console.result(report.to_dict(), v.text_summary(report))
    return 0 if report.holds(strict=args.strict) else 1
