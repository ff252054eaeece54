"""``nemo-mock record`` and ``nemo-mock replay``: the recording proxy and the replay server as commands.

    nemo-mock record --upstream URL --out FILE [--host 127.0.0.1] [--port 8001] [--force] [--keep-bodies]
                     [--redact-header NAME] [--redact-field NAME] [--redact-pattern REGEX]
    nemo-mock replay FILE [--host 127.0.0.1] [--port 8000] [--speed 1|N|instant] [--tail error|repeat-last]
                     [--strict]

Each prints its address once it listens and runs until Ctrl-C or SIGTERM. ``record`` then closes the cassette and
scans it (a secret left in it removes the file and exits 1); ``replay`` says which recorded exchanges were never
asked for, and with ``--strict`` exits 1 if any were, or if any request missed. Bad input (a flag, a cassette that
is torn in the middle or not a cassette, a file that cannot be written) is one line and exit status 2.

``nemo_contract._cli._servers`` adds these to the emulator's own ``serve`` and ``sample-clip``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import pathlib
import re
import signal
import socket
import sys
import typing
import urllib.parse
import warnings

__all__ = ["COMMANDS", "add_commands", "http_url", "run", "speed"]

COMMANDS = ("record", "replay")
_PROG = "nemo-mock"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return int(text)


def http_url(text: str) -> str:
    """An argparse type: an http(s) URL with a host, without its trailing slash (``nemo-contract cassette check
    --url`` takes it too)."""
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.rstrip("/")


def speed(text: str) -> float:
    """An argparse type: a replay speed, as ``parse_speed`` reads it (1, N, ``instant``)."""
    from ._replay import parse_speed

    try:
        return parse_speed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pattern(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression ({exc}): {text!r}") from None
    return text


def add_commands(commands: typing.Any) -> None:
    """Add ``record`` and ``replay`` to an argparse subparsers action (whose parsers take ``one_line``)."""
    record = commands.add_parser(
        "record",
        help="record a session: a reverse proxy to the real service (or an emulator) that writes a cassette",
        description="Forward every request to --upstream and write each exchange, streams event by event, to "
        "--out as it happens. Secrets become placeholders before anything is written.",
        one_line=True,
    )
    record.add_argument("--upstream", type=http_url, required=True, metavar="URL", help="the service to forward to")
    record.add_argument("--out", type=pathlib.Path, required=True, metavar="FILE", help="the cassette to write")
    record.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    record.add_argument("--port", type=_port, default=8001, help="port (default 8001; 0 picks a free one)")
    record.add_argument("-f", "--force", action="store_true", help="replace FILE if it exists")
    record.add_argument(
        "--keep-bodies", action="store_true", help="keep binary bodies' bytes (base64), not only their digest"
    )
    record.add_argument("--redact-header", action="append", default=[], metavar="NAME", help="a header to redact")
    record.add_argument("--redact-field", action="append", default=[], metavar="NAME", help="a JSON field to redact")
    record.add_argument(
        "--redact-pattern", action="append", default=[], type=_pattern, metavar="REGEX", help="text to redact"
    )
    record.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    replay = commands.add_parser(
        "replay",
        help="serve a recorded session (a cassette) to any client, at its recorded pace",
        description="The n-th request of a kind gets the n-th recorded answer; streams replay event by event at "
        "the recorded offsets divided by --speed. A request that matches nothing is answered with 599.",
        one_line=True,
    )
    replay.add_argument("file", type=pathlib.Path, metavar="FILE", help="the cassette")
    replay.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    replay.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    replay.add_argument(
        "--speed", type=speed, default=1.0, metavar="1|N|instant", help="recorded pace (1), N times faster, or none"
    )
    replay.add_argument(
        "--tail",
        choices=["error", "repeat-last"],
        default="error",
        help="what a request gets once its kind's recorded answers are used up (default error)",
    )
    replay.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1, once stopped, if a request missed or a recorded exchange was never asked for",
    )
    replay.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])


def _say(text: str) -> None:
    print(f"{_PROG}: {text}", file=sys.stderr, flush=True)


class _Failed(Exception):
    """A command that cannot go on: ``run`` says the message as one line and exits with ``status``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@contextlib.contextmanager
def _failing(status: int, doing: str, own: tuple[type[Exception], ...] = ()) -> typing.Iterator[None]:
    """A step whose failure ends the command with ``status``: an error of ours (``own``) in its own words, an
    OSError as "cannot ``doing``" and why."""
    try:
        yield
    except own as exc:
        raise _Failed(str(exc), status) from None
    except OSError as exc:
        raise _Failed(f"cannot {doing}: {exc.strerror or exc}", status) from None


class _DroppedConnections(logging.Filter):
    """The proxy and the replay drop a connection on purpose (the upstream's broke, a recorded reset) by returning
    without the answer's last chunk; uvicorn calls that an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is one line of ours (OSError), not uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _serve(
    app: typing.Any, args: argparse.Namespace, sock: socket.socket, started: typing.Callable[[str], None]
) -> None:
    """Run ``app`` under uvicorn on ``sock`` until a signal; ``started`` gets the base URL once it listens."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                started(f"http://{f'[{host}]' if ':' in host else host}:{port}")

    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level=args.log_level, lifespan="on", timeout_graceful_shutdown=2
    )
    server = Server(config)
    logging.getLogger("uvicorn.error").addFilter(_DroppedConnections())
    # uvicorn raises a caught SIGTERM again once it has shut down; with this handler that ends in exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def _record(args: argparse.Namespace) -> int:
    from ._errors import RedactionError
    from ._proxy import RecordingProxy
    from ._recorder import Recorder
    from ._redact import DEFAULT_RULES

    out: pathlib.Path = args.out.expanduser()
    if out.exists() and not (args.force and out.is_file()):
        raise _Failed(f"{out} already exists (--force replaces a file)", 2)
    rules = DEFAULT_RULES.extended(headers=args.redact_header, fields=args.redact_field, patterns=args.redact_pattern)
    with _failing(2, f"listen on {args.host}:{args.port}"):
        sock = _listen(args.host, args.port)
    try:
        recorder = Recorder(out, target=args.upstream, rules=rules, keep_bodies=args.keep_bodies, overwrite=args.force)
    except OSError as exc:
        sock.close()
        raise _Failed(f"cannot write {out}: {exc.strerror or exc}", 2) from None
    proxy = RecordingProxy(upstream=args.upstream, recorder=recorder)
    _serve(proxy, args, sock, lambda url: _say(f"recording {url} -> {args.upstream} into {out}"))
    with _failing(1, f"finish {out}", (RedactionError,)):
        recorder.close()
    _say(f"recorded {recorder.exchanges} exchanges into {out}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from ._cassette import load
    from ._errors import CassetteError, CassetteWarning
    from ._replay import ReplayApp, speed_text

    path: pathlib.Path = args.file.expanduser()
    with _failing(2, f"read {path}", (CassetteError,)), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CassetteWarning)
        cassette = load(path)
    for warning in caught:
        _say(f"warning: {warning.message}")
    app = ReplayApp(cassette, speed=args.speed, tail=args.tail, on_miss=lambda miss: _say(f"miss: {miss.message}"))
    count = len(app.matcher.exchanges)

    def started(url: str) -> None:
        _say(f"replaying {path} ({count} exchanges, speed {speed_text(args.speed)}, tail {args.tail}) at {url}")

    with _failing(2, f"listen on {args.host}:{args.port}"):
        sock = _listen(args.host, args.port)
    _serve(app, args, sock, started)
    unused = app.matcher.unused()
    misses = app.matcher.misses
    if unused:
        listed = ", ".join(f"#{e.x} {e.request.op or e.request.path}" for e in unused[:10])
        more = f" and {len(unused) - 10} more" if len(unused) > 10 else ""
        _say(f"{len(unused)} recorded exchanges were never asked for: {listed}{more}")
    _say(f"served {count - len(unused)} of {count} recorded exchanges; {len(misses)} requests missed")
    return 1 if args.strict and (unused or misses) else 0


def run(args: argparse.Namespace) -> int:
    """Run ``record`` or ``replay`` (``args.command``)."""
    try:
        return _record(args) if args.command == "record" else _replay(args)
    except _Failed as failed:
        _say(str(failed))
        return failed.status
