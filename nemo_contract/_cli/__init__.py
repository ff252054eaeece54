"""``nemo-contract``: drive the NemoVideo agent API from a terminal, the way the skill documents' agent does.

The commands come in families, one module each (``_client_commands``: chat, say, upload, state, credits, export,
forget; ``_verify``: verify; ``_audit``: audit; ``_cassette``: cassette show, har, compact, check); ``FAMILIES``
lists them and ``_commands`` says what a family is. To add one: write the module, add it to ``FAMILIES``. The global
options are accepted before and after the command; the copy after the command only overrides when it is given.
Output goes through ``_console``.

Only light modules are imported up front (``--help`` must start quickly): the client (httpx, anyio) is loaded
inside a command's run, where Ctrl-C is already one line and exit status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import typing

from ..__version__ import __version__
from .._exceptions import NemoError
from .._session import BASE_URL_ENV, DOWNLOADS_ENV, STATE_ENV, TOKEN_ENV
from ..protocol import DEFAULT_BASE_URL, SkillSource
from . import _audit, _cassette, _client_commands, _verify
from ._commands import EXIT_CODES, CommandError, Commands, Invocation, Parser, error_data, exit_code
from ._console import PROG, Console

__all__ = ["EXIT_CODES", "FAMILIES", "main"]


class _Family(typing.Protocol):
    def add_commands(self, commands: Commands) -> None: ...


#: The command families, in the order ``--help`` lists their commands.
FAMILIES: typing.Final[tuple[_Family, ...]] = (_client_commands, _verify, _audit, _cassette)

_EPILOG = "exit status:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)
_EPILOG += (
    "\n\nenvironment:\n"
    f"  {BASE_URL_ENV:<24} the service's base URL (default {DEFAULT_BASE_URL})\n"
    f"  {TOKEN_ENV:<24} a token to use instead of an anonymous one (used, never saved)\n"
    f"  {STATE_ENV:<24} the state file (default $XDG_CONFIG_HOME/nemo-contract/state.json)\n"
    f"  {DOWNLOADS_ENV:<24} the download folder: where videos go without -o, an automatic export's too\n"
    f"  {'':<24} (default $XDG_DATA_HOME/nemo-contract/exports, else ~/.local/share/nemo-contract/exports)"
)


def _add_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The global options. After the command they default to "not given" (argparse.SUPPRESS leaves the
    attribute unset), so there they override the values before the command only when given."""

    def default(value: typing.Any) -> typing.Any:
        return argparse.SUPPRESS if after_command else value

    options = parser.add_argument_group("options")

    def valued(flag: str, text: str, **how: typing.Any) -> None:
        """An option that takes a value and defaults to None: the client then chooses."""
        options.add_argument(flag, default=default(None), help=text, **how)

    valued("--base-url", f"the service (default ${BASE_URL_ENV}, else the real one)", metavar="URL")
    skills = [s.value for s in SkillSource]
    valued("--skill", "which skill document to follow (default video-to-generator)", choices=skills)
    valued("--skill-file", "the skill file whose frontmatter gives the version", metavar="PATH")
    valued("--language", "the session's language (default: detected)", metavar="LANG")
    valued("--state-file", f"where the token and session are kept (${STATE_ENV})", metavar="PATH")
    valued(
        "--download-dir",
        "where videos go without -o, an automatic export's too: an existing folder "
        f"(default ${DOWNLOADS_ENV}, else $XDG_DATA_HOME/nemo-contract/exports)",
        metavar="DIR",
    )
    options.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON (one object per line) for scripts"
    )
    options.add_argument(
        "--auto-export",
        action=argparse.BooleanOptionalAction,
        default=default(True),
        help='run the export when the agent says "click Export" (the default), or only offer it',
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="log each request (method and path only)",
    )


def _parser() -> tuple[argparse.ArgumentParser, Commands]:
    parser = Parser(
        prog=PROG,
        description="A reference client of the NemoVideo agent API: upload, talk to the agent, export.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_options(parser, after_command=False)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    after = Parser(add_help=False)
    _add_options(after, after_command=True)
    commands = Commands(parser, options=after, epilog=_EPILOG)
    for family in FAMILIES:
        family.add_commands(commands)
    return parser, commands


def main(
    argv: typing.Sequence[str] | None = None,
    *,
    stdin: typing.TextIO | None = None,
    stdout: typing.TextIO | None = None,
    stderr: typing.TextIO | None = None,
    client_options: typing.Mapping[str, typing.Any] | None = None,
) -> int:
    """Run the command line; returns the exit status (the console script exits with it).

    ``client_options`` are extra keyword arguments for the ``Client`` (``sleep``, ``clock``, ``transport``...),
    for embedding and tests.
    """
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            parser, commands = _parser()
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=stderr, flush=True)
        return 130
    console = Console(as_json=args.json, stdout=stdout, stderr=stderr)
    logger = logging.getLogger("nemo_contract")
    handler: logging.Handler | None = None
    level = logger.level
    if args.verbose:
        handler = logging.StreamHandler(stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    invocation = Invocation(args=args, console=console, stdin=stdin, client_options=client_options or {})
    try:
        return commands.runner(args.command)(invocation)
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except CommandError as error:
        console.error(str(error))
        return error.status
    except NemoError as error:
        console.error(error.user_text(), error_data(error))
        return exit_code(error)
    except Exception as error:  # a bug of ours: still one line, never a traceback with a token in it
        console.error(f"internal error ({type(error).__name__}); please report it")
        return 1
    finally:
        console.close()
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(level)
