"""What a command family is given and gives back: the pieces ``main`` and every family share.

A family is a module of this package with two functions: ``add_commands(commands: Commands)``, which adds its
subcommands (``commands.add(name, summary, run=...)`` returns the subcommand's parser, for its own arguments), and
the ``run`` functions it named there, which take an ``Invocation`` and return the exit status. ``main`` builds
the parser from every family in ``FAMILIES`` (``__init__``), parses, and calls the chosen command's ``run``.

A family module is imported for ``--help`` too, so it imports only light modules at the top and the heavy ones
(httpx, anyio, the client) inside its ``run``. A run reports a failure by raising ``CommandError`` (or any
``NemoError``): ``main`` prints it as one line and exits with its status.
"""

from __future__ import annotations

import argparse
import typing

from .._exceptions import (
    ExportBlocked,
    InvalidBaseURL,
    LocalFileError,
    NemoError,
    NetworkError,
    OutOfCredits,
    RenderFailed,
    RenderTimeout,
    TurnError,
    UploadRejected,
)
from ..protocol import fields as f
from ._console import Console

__all__ = [
    "EXIT_CODES",
    "CommandError",
    "Commands",
    "Invocation",
    "Parser",
    "Runner",
    "error_data",
    "exit_code",
]

#: Exit status -> meaning (also printed by --help).
EXIT_CODES: typing.Final = (
    (0, "success"),
    (1, "the service refused or failed the request (an error not listed below)"),
    (2, "usage error (unknown command or option, missing argument, a service URL that is not http(s))"),
    (3, "out of credits (code 2001): the message includes where to register or top up"),
    (4, "export blocked by the account's plan (402): not a credit problem"),
    (5, "a file was rejected (4001 type, 4002 size) or cannot be read or written"),
    (6, "the service could not be reached, or stopped answering"),
    (7, "the work failed: a turn or render ended in error or ran out of time"),
    (130, "interrupted (Ctrl-C)"),
)


def exit_code(error: BaseException) -> int:
    """The exit status of an error of the client (see ``EXIT_CODES``)."""
    if isinstance(error, InvalidBaseURL):
        return 2
    if isinstance(error, OutOfCredits):
        return 3
    if isinstance(error, ExportBlocked):
        return 4
    if isinstance(error, UploadRejected | LocalFileError):
        return 5
    if isinstance(error, NetworkError):
        return 6
    if isinstance(error, TurnError | RenderFailed | RenderTimeout):
        return 7
    return 1


def error_data(error: NemoError) -> dict[str, typing.Any]:
    """An error for ``--json`` output: its kind, message and advice, and the service's code and link if any.

    ``code``, ``message`` and ``register_url`` are the service's own fields, passed on; the rest is ours.
    """
    data: dict[str, typing.Any] = dict(type=type(error).__name__)
    data[f.MESSAGE] = error.message
    data.update(advice=error.advice)
    code = getattr(error, "code", None)
    if isinstance(code, int):
        data[f.CODE] = code
    link = getattr(error, "register_url", None)
    if link:
        data[f.REGISTER_URL] = link
    return data


class CommandError(Exception):
    """A command that cannot go on: ``main`` prints the message as one line and exits with ``status``."""

    def __init__(self, message: str, *, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Invocation(typing.NamedTuple):
    """One run of a command: its parsed arguments, where it writes, what it reads, and options for the client.

    (A named tuple rather than a dataclass: it is made at every start, and a dataclass costs ten times more.)
    """

    args: argparse.Namespace
    console: Console
    stdin: typing.TextIO
    #: Extra keyword arguments for the ``Client`` (``sleep``, ``clock``, ``transport``...): embedding and tests.
    client_options: typing.Mapping[str, typing.Any]


Runner = typing.Callable[[Invocation], int]


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        """One line, not the usage block: ``nemo-contract: error: ... (see --help)``."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Commands:
    """The subcommands of the parser, as the families add them."""

    def __init__(self, parser: argparse.ArgumentParser, *, options: Parser, epilog: str) -> None:
        self._subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, required=True)
        self._options = options
        self._epilog = epilog
        self._runners: dict[str, Runner] = {}

    def add(
        self,
        name: str,
        summary: str,
        *,
        run: Runner,
        aliases: typing.Sequence[str] = (),
        global_options: bool = True,
        epilog: str | None = None,
    ) -> argparse.ArgumentParser:
        """A subcommand that ``run`` carries out; it takes the global options too (the client's: ``--base-url``,
        ``--json``...), unless ``global_options`` is False (a command that is no client, like ``verify`` or
        ``audit``, with options of its own). Returns its parser."""
        for each in (name, *aliases):
            if each in self._runners:
                raise ValueError(f"two commands are named {each!r}")
            self._runners[each] = run
        return self._subparsers.add_parser(
            name,
            aliases=list(aliases),
            help=summary,
            description=summary,
            parents=[self._options] if global_options else [],
            epilog=self._epilog if epilog is None else epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def runner(self, name: str) -> Runner:
        return self._runners[name]
