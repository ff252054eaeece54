"""``nemo-contract``: drive the NemoVideo agent API from a terminal, the way the skill documents' agent does.

The one-shot commands share one token and session through a small state file, so ``upload``, then ``say``, then
``export`` work on the same timeline. Messages go to standard output as they arrive; progress goes to standard
error (a spinner or progress bar on a terminal, plain lines otherwise, nothing extra with ``--json``).

Only light modules are imported up front: the client (httpx, anyio) is loaded inside ``main``, where Ctrl-C is
already one line and exit status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shlex
import sys
import threading
import typing

from .__version__ import __version__
from ._exceptions import (
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
from ._models import Message, MessageKind
from ._session import BASE_URL_ENV, STATE_ENV, TOKEN_ENV, StateFile, check_base_url, default_state_path
from .protocol import DEFAULT_BASE_URL, SkillSource

if typing.TYPE_CHECKING:
    from ._client import Client

__all__ = ["EXIT_CODES", "main"]

PROG = "nemo-contract"

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

_EPILOG = "exit status:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)
_EPILOG += (
    "\n\nenvironment:\n"
    f"  {BASE_URL_ENV:<20} the service's base URL (default {DEFAULT_BASE_URL})\n"
    f"  {TOKEN_ENV:<20} a token to use instead of an anonymous one (used, never saved)\n"
    f"  {STATE_ENV:<20} the state file (default $XDG_CONFIG_HOME/nemo-contract/state.json)"
)


def exit_code(error: BaseException) -> int:
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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        """One line, not the usage block: ``nemo-contract: error: ... (see --help)``."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    options = common.add_argument_group("options")
    options.add_argument("--base-url", metavar="URL", help=f"the service (default ${BASE_URL_ENV}, else the real one)")
    options.add_argument(
        "--skill",
        choices=[s.value for s in SkillSource],
        help="which skill document to follow (default video-to-generator)",
    )
    options.add_argument("--skill-file", metavar="PATH", help="the skill file whose frontmatter gives the version")
    options.add_argument("--language", metavar="LANG", help="the session's language (default: detected)")
    options.add_argument("--state-file", metavar="PATH", help=f"where the token and session are kept (${STATE_ENV})")
    options.add_argument("--json", action="store_true", help="print JSON (one object per line) for scripts")
    options.add_argument(
        "--auto-export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help='run the export when the agent says "click Export" (the default), or only offer it',
    )
    options.add_argument("-v", "--verbose", action="store_true", help="log each request (method and path only)")
    # Options are accepted before and after the command; the command's copy only overrides when given.
    sub_common = _Parser(add_help=False)
    for action in common._actions:
        kwargs: dict[str, typing.Any] = {"help": action.help, "default": argparse.SUPPRESS, "dest": action.dest}
        names = list(action.option_strings)
        if isinstance(action, argparse._StoreTrueAction):
            kwargs["action"] = "store_true"
        elif isinstance(action, argparse.BooleanOptionalAction):
            kwargs["action"] = argparse.BooleanOptionalAction
            names = [name for name in names if not name.startswith("--no-")]  # it adds the --no- form itself
        else:
            kwargs["metavar"] = action.metavar
            if action.choices:
                kwargs["choices"] = action.choices
        sub_common.add_argument(*names, **kwargs)

    parser = _Parser(
        prog=PROG,
        description="A reference client of the NemoVideo agent API: upload, talk to the agent, export.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, summary: str, aliases: typing.Sequence[str] = ()) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            aliases=list(aliases),
            help=summary,
            description=summary,
            parents=[sub_common],
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    command("chat", "talk to the agent line by line (reads piped standard input too); routed like the documents")
    upload = command("upload", "upload files (or http(s) URLs) to the session")
    upload.add_argument("files", nargs="+", metavar="FILE")
    say = command("say", "say one thing, routed like a chat line (export, credits, status, upload, or the agent)")
    say.add_argument("text", nargs="+", metavar="TEXT")
    command("state", "show the session's timeline", aliases=["status"])
    command("credits", "show the credit balance")
    export = command("export", "render the timeline and download the MP4")
    export.add_argument("-o", "--output", metavar="FILE", help="where to save it (a file or folder; default: here)")
    command("forget", "forget the saved token and session (the next command starts afresh)")
    return parser


class _Output:
    """Where things are written: messages on stdout, progress and errors on stderr."""

    _FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, *, as_json: bool, stdout: typing.TextIO, stderr: typing.TextIO) -> None:
        self.as_json = as_json
        self.stdout, self.stderr = stdout, stderr
        self.live = not as_json and stderr.isatty()
        self._lock = threading.Lock()
        self._label: str | None = None
        self._frame = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- spinner -----------------------------------------------------------------------------------------------

    def _draw(self) -> None:
        """One frame of the spinner line (the caller holds the lock)."""
        if self._label is not None:
            self.stderr.write(f"\r\x1b[2K{self._FRAMES[self._frame % len(self._FRAMES)]} {self._label}")
            self.stderr.flush()

    def _spin(self) -> None:
        """Animation only: every change of the line is drawn at once by whoever makes it."""
        while not self._stop.wait(0.1):
            with self._lock:
                self._frame += 1
                self._draw()

    def _clear(self) -> None:
        if self.live and self._label is not None:
            self.stderr.write("\r\x1b[2K")
            self.stderr.flush()

    @contextlib.contextmanager
    def busy(self, label: str = "Working...") -> typing.Iterator[None]:
        if not self.live:
            yield
            return
        with self._lock:
            self._label = label
            self._draw()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._spin, name="nemo-contract-spinner", daemon=True)
            self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._clear()
                self._label = None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None
        with self._lock:
            self._clear()
            self._label = None

    # -- writing -----------------------------------------------------------------------------------------------

    def message(self, message: Message) -> None:
        with self._lock:
            if self.as_json:
                print(json.dumps(message.to_dict(), ensure_ascii=False), file=self.stdout, flush=True)
            elif message.kind is MessageKind.PROGRESS:
                if self.live and self._label is not None:
                    self._label = _bar(message)
                    self._draw()
                else:
                    print(message.text, file=self.stderr, flush=True)
            else:
                self._clear()
                print(message.text, file=self.stdout, flush=True)

    def aside(self, message: Message) -> None:
        """A message of a command that prints a result: shown to people, left out of --json output."""
        if not self.as_json:
            self.message(message)

    def result(self, data: typing.Any, text: str) -> None:
        with self._lock:
            self._clear()
            if self.as_json:
                print(json.dumps(data, ensure_ascii=False), file=self.stdout, flush=True)
            else:
                print(text, file=self.stdout, flush=True)

    def warning(self, text: str) -> None:
        with self._lock:
            self._clear()
            print(f"{PROG}: warning: {' '.join(text.split())}", file=self.stderr, flush=True)
            self._draw()

    def error(self, text: str, data: dict[str, typing.Any] | None = None) -> None:
        line = " ".join(text.split())
        with self._lock:
            self._clear()
            if self.as_json and data is not None:
                print(json.dumps({"error": data}, ensure_ascii=False), file=self.stdout, flush=True)
            print(f"{PROG}: error: {line}", file=self.stderr, flush=True)


def _bar(message: Message) -> str:
    if message.progress is None:
        return message.text
    done = max(0, min(20, message.progress // 5))
    return f"Rendering [{'█' * done}{'░' * (20 - done)}] {message.progress}%"


def _error_data(error: NemoError) -> dict[str, typing.Any]:
    data: dict[str, typing.Any] = {"type": type(error).__name__, "message": error.message, "advice": error.advice}
    code = getattr(error, "code", None)
    if isinstance(code, int):
        data["code"] = code
    link = getattr(error, "register_url", None)
    if link:
        data["register_url"] = link
    return data


def _split_line(line: str) -> tuple[str, list[str]]:
    """A chat line's words and the files it names (existing paths are uploaded, not said)."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    files = [w for w in words if os.path.isfile(os.path.expanduser(w))]
    if not files:
        return line.strip(), []
    rest = [w for w in words if w not in files]
    return " ".join(rest), [os.path.expanduser(f) for f in files]


class _Session:
    """One run of the command: its client, its state file, its output."""

    def __init__(self, args: argparse.Namespace, out: _Output, options: typing.Mapping[str, typing.Any]) -> None:
        self.args, self.out, self.options = args, out, options
        if args.base_url:
            self.base_url = check_base_url(args.base_url, source="--base-url")
        elif os.environ.get(BASE_URL_ENV):
            self.base_url = check_base_url(os.environ[BASE_URL_ENV], source=BASE_URL_ENV)
        else:
            self.base_url = DEFAULT_BASE_URL
        self.skill = args.skill or SkillSource.VIDEO_TO_GENERATOR.value
        self.state = StateFile(args.state_file or default_state_path(), warn=out.warning)
        self.client: Client | None = None

    def open(self) -> Client:
        credentials = self.state.load(self.base_url, self.skill)
        client_class = _client_class()
        self.client = client_class(
            base_url=self.base_url,
            skill=self.skill,
            skill_file=self.args.skill_file,
            language=self.args.language,
            credentials=credentials,
            auto_export=self.args.auto_export,
            on_message=self.out.aside,
            **self.options,
        )
        return self.client

    def save(self) -> None:
        if self.client is not None:
            self.state.save(self.base_url, self.skill, self.client.credentials_to_save())

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def _client_class() -> type[Client]:
    """The client, imported when first needed (httpx and anyio take a while to import)."""
    from ._client import Client

    return Client


def _run_line(session: _Session, client: Client, text: str, files: typing.Sequence[str]) -> None:
    out = session.out
    with out.busy():
        for message in client.iter_handle(text, files):
            out.message(message)
    session.save()


def _chat(session: _Session, client: Client, stdin: typing.TextIO) -> int:
    out = session.out
    interactive = stdin.isatty() and not out.as_json
    status = 0
    if interactive:
        for message in client.handle(""):
            out.message(message)  # the document's greeting; no request is made
        print('(type "exit" or press Ctrl-D to leave)', file=out.stderr)
    while True:
        if interactive:
            try:
                line = input("you> ")
            except EOFError:
                print(file=out.stderr)
                break
        else:
            line = stdin.readline()
            if not line:
                break
        if line.strip().lower() in ("exit", "quit", "/exit", "/quit"):
            break
        if not line.strip():
            continue
        text, files = _split_line(line)
        try:
            _run_line(session, client, text, files)
        except NemoError as error:
            session.save()
            out.error(_describe(error, session.base_url), _error_data(error))
            status = exit_code(error)
    return status


def _describe(error: NemoError, base_url: str) -> str:
    if isinstance(error, NetworkError):
        return f"{error.message} ({base_url}). {error.advice}"
    return error.user_text()


def _dispatch(session: _Session, stdin: typing.TextIO) -> int:
    args, out = session.args, session.out
    if args.command == "forget":
        session.state.forget(session.base_url, session.skill)
        out.result({"forgotten": True}, "Forgot the saved token and session.")
        return 0
    client = session.open()
    command = "state" if args.command == "status" else args.command
    if command == "chat":
        return _chat(session, client, stdin)
    if command == "say":
        _run_line(session, client, " ".join(args.text), [])
        return 0
    with out.busy():
        if command == "upload":
            files = client.upload(*args.files)
            out.result([f.to_dict() for f in files], "\n".join(f.text for f in files))
        elif command == "state":
            snapshot = client.state()
            out.result(snapshot.to_dict(), snapshot.text)
        elif command == "credits":
            credits = client.credits()
            out.result(credits.to_dict(), credits.text)
        elif command == "export":
            result = client.export(args.output)
            if args.json:
                out.result(result.to_dict(), result.text)
    session.save()
    return 0


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
            args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=stderr, flush=True)
        return 130
    out = _Output(as_json=args.json, stdout=stdout, stderr=stderr)
    logger = logging.getLogger("nemo_contract")
    handler: logging.Handler | None = None
    level = logger.level
    if args.verbose:
        handler = logging.StreamHandler(stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    session: _Session | None = None
    try:
        session = _Session(args, out, client_options or {})
        return _dispatch(session, stdin)
    except KeyboardInterrupt:
        if session is not None:
            with contextlib.suppress(NemoError):
                session.save()
        out.error("interrupted")
        return 130
    except NemoError as error:
        if session is not None:
            with contextlib.suppress(NemoError):
                session.save()
        out.error(_describe(error, session.base_url if session else ""), _error_data(error))
        return exit_code(error)
    except Exception as error:  # a bug of ours: still one line, never a traceback with a token in it
        out.error(f"internal error ({type(error).__name__}); please report it")
        return 1
    finally:
        out.close()
        if session is not None:
            session.close()
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(level)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
