"""The client's commands: chat, say, upload, state (status), credits, export, forget.

The one-shot commands share one token and session through a small state file (``_session.StateFile``), so
``upload``, then ``say``, then ``export`` work on the same timeline. Messages go to standard output as they
arrive; progress goes to standard error.

A video goes where ``export -o`` says, else into the download folder (``--download-dir``, else
``NEMO_CONTRACT_DOWNLOADS``, else ``$XDG_DATA_HOME/nemo-contract/exports``), never silently into the current
folder; the default folder is the only one ever created. ``export -o FILE`` replaces a file only with ``--force``.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shlex
import typing

from .._exceptions import LocalFileError, NemoError, NetworkError, OutputExists
from .._session import (
    BASE_URL_ENV,
    DOWNLOADS_ENV,
    StateFile,
    check_base_url,
    default_download_dir,
    default_state_path,
    user_path,
)
from ..protocol import DEFAULT_BASE_URL, SkillSource
from ._commands import Commands, Invocation, error_data, exit_code

if typing.TYPE_CHECKING:
    from .._client import Client
    from .._models import ExportResult

__all__ = ["Session", "add_commands", "run"]


def add_commands(commands: Commands) -> None:
    chat = "talk to the agent line by line (reads piped standard input too); routed like the documents"
    commands.add("chat", chat, run=run)
    upload = commands.add("upload", "upload files (or http(s) URLs) to the session", run=run)
    upload.add_argument("files", nargs="+", metavar="FILE")
    say = commands.add(
        "say", "say one thing, routed like a chat line (export, credits, status, upload, or the agent)", run=run
    )
    say.add_argument("text", nargs="+", metavar="TEXT")
    commands.add("state", "show the session's timeline", aliases=["status"], run=run)
    commands.add("credits", "show the credit balance", run=run)
    export = commands.add("export", "render the timeline and download the MP4", run=run)
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to save it: a file, or an existing folder (default: the download folder, see --download-dir)",
    )
    export.add_argument("-f", "--force", action="store_true", help="replace FILE if it exists")
    commands.add("forget", "forget the saved token and session (the next command starts afresh)", run=run)


class Session:
    """One run of a client command: its client, its state file, its output."""

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        args = invocation.args
        self.args, self.out = args, invocation.console
        #: Where the base URL came from: "--base-url", NEMO_API_URL, or None for the default (the real service).
        self.url_source: str | None = None
        if args.base_url:
            self.url_source = "--base-url"
            self.base_url = check_base_url(args.base_url, source=self.url_source)
        elif os.environ.get(BASE_URL_ENV):
            self.url_source = BASE_URL_ENV
            self.base_url = check_base_url(os.environ[BASE_URL_ENV], source=self.url_source)
        else:
            self.base_url = DEFAULT_BASE_URL
        self.skill = args.skill or SkillSource.VIDEO_TO_GENERATOR.value
        self.state = StateFile(args.state_file or default_state_path(), warn=self.out.warning)
        self.downloads, self.downloads_source = _download_folder(args.download_dir)
        self.client: Client | None = None

    def prepare_downloads(self) -> None:
        """Before a command that may save a video without -o: the default folder is made, a chosen one must be."""
        if self.downloads_source is None:
            with contextlib.suppress(OSError):  # if it cannot be made, the export says so before it renders
                self.downloads.mkdir(parents=True, exist_ok=True)
        elif not self.downloads.is_dir():
            raise LocalFileError(
                f"the download folder {self.downloads} (from {self.downloads_source}) does not exist",
                advice="Create it, or choose another folder.",
            )

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
            download_dir=self.downloads,
            on_message=self.out.aside,
            **self.invocation.client_options,
        )
        return self.client

    def save(self) -> None:
        if self.client is not None:
            self.state.save(self.base_url, self.skill, self.client.credentials_to_save())

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def _download_folder(option: str | None) -> tuple[pathlib.Path, str | None]:
    """The download folder, and the setting it came from (None: the default)."""
    if option:
        return user_path(option), "--download-dir"
    if os.environ.get(DOWNLOADS_ENV):
        return user_path(os.environ[DOWNLOADS_ENV]), DOWNLOADS_ENV
    return default_download_dir(), None


def _client_class() -> type[Client]:
    """The client, imported when first needed (httpx and anyio take a while to import)."""
    from .._client import Client

    return Client


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


def _describe(error: NemoError, session: Session | None) -> str:
    """The one line for an error: a connection failure names the service's URL and the setting it came from."""
    if not isinstance(error, NetworkError) or session is None:
        return error.user_text()
    if error.timed_out:
        advice = error.advice
    elif session.url_source is None:
        advice = (
            f"That is the real service, the default: neither --base-url nor {BASE_URL_ENV} is set. Check your "
            f"network connection, or set {BASE_URL_ENV} to use another service (the emulator: http://127.0.0.1:8000)."
        )
    else:
        advice = f"Check that the service is running there and that {session.url_source} is right."
    return f"{error.message} ({session.base_url}). {advice}"


def _interrupted(session: Session | None) -> str:
    """The line for Ctrl-C: an export's render keeps running on the service, and how to get its video."""
    pending = session.client.pending_render if session is not None and session.client is not None else None
    if pending is None:
        return "interrupted"
    if pending.url is None:
        return (
            f"interrupted; the render {pending.render_id} keeps running on the service "
            "(run the export again to get the video: exporting is free)"
        )
    return f"interrupted; the render {pending.render_id} is done: its video is at {pending.url}"


def _run_line(session: Session, client: Client, text: str, files: typing.Sequence[str]) -> None:
    out = session.out
    with out.busy():
        for message in client.iter_handle(text, files):
            out.message(message)
    session.save()


def _chat(session: Session, client: Client, stdin: typing.TextIO) -> int:
    out = session.out
    interactive = stdin.isatty() and not out.as_json
    status = 0
    if interactive:
        for message in client.handle(""):
            out.message(message)  # the document's greeting; no request is made
        out.note('(type "exit" or press Ctrl-D to leave)')
    while True:
        if interactive:
            try:
                line = input("you> ")
            except EOFError:
                out.note("")
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
            out.error(_describe(error, session), error_data(error))
            status = exit_code(error)
    return status


def _export(client: Client, output: str | None, *, force: bool) -> ExportResult:
    try:
        return client.export(output, overwrite=force)
    except OutputExists as error:
        error.advice = "Add --force to replace it, or choose another name with -o."
        raise


def _dispatch(session: Session) -> int:
    args, out = session.args, session.out
    if args.command == "forget":
        session.state.forget(session.base_url, session.skill)
        out.result(dict(forgotten=True), "Forgot the saved token and session.")
        return 0
    command = "state" if args.command == "status" else args.command
    if command in ("chat", "say") or (command == "export" and args.output is None):
        session.prepare_downloads()
    client = session.open()
    if command == "chat":
        return _chat(session, client, session.invocation.stdin)
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
            result = _export(client, args.output, force=args.force)
            if args.json:
                out.result(result.to_dict(), result.text)
    session.save()
    return 0


def run(invocation: Invocation) -> int:
    """Run a client command; its errors become one line and their exit status, after the state is saved."""
    out = invocation.console
    session: Session | None = None
    try:
        session = Session(invocation)
        return _dispatch(session)
    except KeyboardInterrupt:
        if session is not None:
            with contextlib.suppress(NemoError):
                session.save()
        out.error(_interrupted(session))
        return 130
    except NemoError as error:
        if session is not None:
            with contextlib.suppress(NemoError):
                session.save()
        out.error(_describe(error, session), error_data(error))
        return exit_code(error)
    finally:
        if session is not None:
            session.close()
