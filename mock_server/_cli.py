"""``nemo-mock``: run the emulator, or write a sample clip to upload to it.

    nemo-mock serve [--host 127.0.0.1] [--port 8000] [--seed N] [--time-scale 1.0] [--clock-start TIME]
                    [--config FILE] [--data-dir DIR] [--max-disk SIZE] [--http auto|h11|httptools]
                    [--loop auto|asyncio|uvloop]
    nemo-mock sample-clip FILE.mp4 [--seconds 5] [--size 640x360] [--force]

``serve`` prints its base URL and its seed once it listens. Without ``--seed`` the seed is drawn at random, so
tokens, sessions and file URLs cannot be guessed; the printed seed repeats a run. Ctrl-C or SIGTERM ends open
streams and exits 0. ``sample-clip`` writes a real H.264 MP4 (the emulator's own render of a still picture) into
an existing folder, and replaces a file only with ``--force``. A bad flag or config file gets one line on
standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import importlib.util
import math
import pathlib
import re
import secrets
import signal
import socket
import sys
import types
import typing

from nemo_contract.__version__ import __version__

__all__ = ["add_commands", "main", "run"]

#: The --http and --loop choices that need a package uvicorn does not bring (it would fail only once started).
_OPTIONAL_PACKAGES = frozenset({"httptools", "uvloop"})


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be a finite number >= 0 (0 freezes the clock)")
    return value


def _moment(text: str) -> float:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


_SIZE = re.compile(r"([0-9]{1,16})\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
#: The largest --max-disk (the max_disk knob's maximum in specs/mock-admin.openapi.yaml): 1 PiB.
_MAX_DISK = 2**50


def _bytes(text: str) -> int:
    """A byte count: ``2147483648``, ``500M``, ``2G``, ``2GiB`` (binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size (bytes, or a number with K, M, G or T): {text!r}")
    size = int(match[1]) << (10 * " KMGT".index(match[2].upper() or " "))
    if size > _MAX_DISK:
        raise argparse.ArgumentTypeError(f"at most 1 PiB ({_MAX_DISK} bytes): {text!r}")
    return size


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.1 <= value <= 1800:
        raise argparse.ArgumentTypeError(f"must be from 0.1 to 1800 seconds, not {text}")
    return value


def _picture(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"not WIDTHxHEIGHT: {text!r}")
    if not all(16 <= int(side) <= 4096 and int(side) % 2 == 0 for side in (width, height)):
        raise argparse.ArgumentTypeError(f"sides must be even numbers from 16 to 4096, not {text}")
    return int(width), int(height)


class _Parser(argparse.ArgumentParser):
    """A parser whose errors can be one line (``one_line=True``), without the usage block."""

    def __init__(self, *args: typing.Any, one_line: bool = False, **kwargs: typing.Any) -> None:
        super().__init__(*args, **kwargs)
        self.one_line = one_line

    def error(self, message: str) -> typing.NoReturn:
        if not self.one_line:
            super().error(message)
        self.exit(2, f"{self.prog}: error: {message}\n")


#: What ``serve --help`` says of the connection limits: ``_guard``'s numbers, written out so that --help imports no
#: server code (tests/test_server.py checks that they agree).
_SERVE_TEXT = (
    "Serve the emulator over HTTP. Request heads over 32 KiB are answered 431; a head must be complete within "
    "10 s of the connection opening or the previous answer, and a body may not stall for 10 s (408 otherwise); "
    "a connection that sends nothing is closed after 5 s."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nemo-mock", description="Emulator of the NemoVideo agent API.")
    parser.add_argument("--version", action="version", version=f"nemo-mock {__version__}")
    add_commands(parser)
    return parser


def add_commands(parser: argparse.ArgumentParser) -> typing.Any:
    """Add ``serve`` and ``sample-clip`` to ``parser``; returns its subparsers action (whose parsers take
    ``one_line=True``), so that ``nemo-mock`` (``nemo_contract._cli._servers``) can add its other commands."""
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    serve = commands.add_parser("serve", help="serve the emulator over HTTP", description=_SERVE_TEXT)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument(
        "--seed",
        type=_seed,
        help="seed of every id and random draw (default: a random one, printed at start); with a seed, tokens "
        "and ids are predictable: for repeatable tests, never for a shared server",
    )
    serve.add_argument(
        "--time-scale", type=_time_scale, default=1.0, help="virtual seconds per real second (default 1; 0 freezes)"
    )
    serve.add_argument(
        "--clock-start",
        type=_moment,
        metavar="TIME",
        help="virtual time at start, ISO-8601 (default: now); with --seed and --time-scale 0, runs repeat exactly",
    )
    serve.add_argument(
        "--preset",
        metavar="NAME",
        help="a shipped configuration, under --config: documented-costs (the documents' credit costs: 100 a "
        "generation, 50 an edit, so a first anonymous session meets 2001)",
    )
    serve.add_argument("--config", type=pathlib.Path, help="YAML or JSON file of knobs and fault rules")
    serve.add_argument(
        "--data-dir",
        type=pathlib.Path,
        help="where uploads and renders are kept, in a folder .nemo-mock of their own (default: a temp dir)",
    )
    serve.add_argument(
        "--max-disk",
        type=_bytes,
        metavar="SIZE",
        help="cap of the emulator's files under the data dir, e.g. 500M or 2G (default 2G; the knob max_disk)",
    )
    serve.add_argument(
        "--quiet", action="store_true", help="no line per request (by default each one is shown as it ends)"
    )
    serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument(
        "--http",
        default="auto",
        choices=["auto", "h11", "httptools"],
        help="uvicorn's HTTP parser (default auto: httptools, installed with nemo-contract; h11 if it is missing)",
    )
    serve.add_argument(
        "--loop",
        default="auto",
        choices=["asyncio", "auto", "uvloop"],
        help="event loop (default auto: uvloop, installed with nemo-contract except on Windows; else asyncio)",
    )
    clip = commands.add_parser("sample-clip", help="write a short H.264 MP4 to upload (a still picture)", one_line=True)
    clip.add_argument("file", type=pathlib.Path, metavar="FILE.mp4", help="where to write it (an existing folder)")
    clip.add_argument("--seconds", type=_seconds, default=5.0, help="its length (default 5)")
    clip.add_argument("--size", type=_picture, default=(640, 360), metavar="WxH", help="its size (default 640x360)")
    clip.add_argument("-f", "--force", action="store_true", help="replace FILE if it exists")
    return commands


def _missing(args: argparse.Namespace) -> str | None:
    for flag, choice in (("--http", args.http), ("--loop", args.loop)):
        if choice in _OPTIONAL_PACKAGES and importlib.util.find_spec(choice) is None:
            return f"{flag} {choice} needs the {choice} package, which is not installed here"
    return None


def _tune_gc() -> None:
    """Keep full garbage collections from stalling open streams (bench/RESULTS.md, section 2).

    Each open ``/run_sse`` stream holds about 250 GC-tracked objects (mostly the coroutines and task group of
    the Starlette/sse-starlette/anyio stack), and a full collection visits them all: with 2,000 streams open
    that is a pause of 300-450 ms, repeated every couple of seconds while streams keep opening, and every
    heartbeat due meanwhile goes out late. Start-up objects are moved out of the collector's sight and full
    collections become rarer; the young generations are still collected as often as by default.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)


def _sample_clip(args: argparse.Namespace) -> int:
    path: pathlib.Path = args.file.expanduser()
    problem = None
    if path.suffix.lower() != ".mp4":
        problem = f"{path}: the sample clip is an MP4; give a name ending in .mp4"
    elif not path.parent.is_dir():
        problem = f"{path}: there is no folder {path.parent}"
    elif (path.exists() or path.is_symlink()) and not (args.force and path.is_file()):
        problem = f"{path} already exists (--force replaces a file)"
    if problem is not None:
        print(f"nemo-mock: {problem}", file=sys.stderr)
        return 2
    from ._media import render_mp4

    width, height = args.size
    try:
        render_mp4(path, width=width, height=height, duration_ms=round(args.seconds * 1000), color=(40, 90, 140))
    except OSError as exc:
        print(f"nemo-mock: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"nemo-mock: wrote {path} ({args.seconds:g} s, {width}x{height}, H.264)")
    return 0


def main(argv: typing.Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    return run(parser, args, extra)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: typing.Sequence[str]) -> int:
    """Run ``serve`` or ``sample-clip`` as parsed by ``parser`` (``extra``: what it did not recognise)."""
    if extra:  # what parse_args does, with sample-clip's one line
        if args.command == "sample-clip":
            print(f"nemo-mock sample-clip: error: unrecognized arguments: {' '.join(extra)}", file=sys.stderr)
            return 2
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "sample-clip":
        return _sample_clip(args)
    import uvicorn

    from nemo_contract.protocol.control import StreamEnd

    from ._app import create_app
    from ._config import Config, ConfigError, load_config_file, load_preset
    from ._journal import Change, Entry
    from ._server import server_config

    def show_request(entry: Entry, change: Change) -> None:
        """One short line per request as it ends: method, path, status and code (never a token or a query)."""
        if change is not Change.END:
            return
        status = "-" if entry.status is None else str(entry.status)
        if entry.stream is not None:
            how = f"stream {entry.end.value if entry.end else 'open'}, {len(entry.stream)} events"
        else:
            how = "file" if entry.code is None and entry.status == 200 else f"code {entry.code}"
        if entry.end is StreamEnd.CLIENT_GONE and entry.stream is None:
            how = "client gone"
        print(f"nemo-mock: {entry.method} {entry.path} {status} {how}", flush=True)

    try:
        config = load_preset(args.preset) if args.preset else None
        if args.config:
            config = load_config_file(args.config, config)
        if args.max_disk is not None:
            config = (config or Config()).merged({"max_disk": args.max_disk})
    except ConfigError as exc:
        print(f"nemo-mock: {exc}", file=sys.stderr)
        return 2
    missing = _missing(args)
    if missing is not None:
        print(f"nemo-mock: {missing}", file=sys.stderr)
        return 2
    seed = secrets.randbits(63) if args.seed is None else args.seed
    try:
        app = create_app(
            seed=seed,
            time_scale=args.time_scale,
            clock_start=args.clock_start,
            config=config,
            data_dir=args.data_dir,
            seed_shown=args.seed is not None,
        )
    except OSError as exc:  # the data directory cannot be made or written
        print(f"nemo-mock: cannot use the data directory {args.data_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    emulator = app.state.emulator
    if not args.quiet:
        emulator.journal.subscribe(show_request)

    class Server(uvicorn.Server):
        loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self.loop = asyncio.get_running_loop()
            await super().startup(sockets)
            if self.started:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                print(f"nemo-mock: serving http://{shown}:{port} (seed {seed}, time scale {args.time_scale:g})")
                sys.stdout.flush()

        def handle_exit(self, sig: int, frame: types.FrameType | None) -> None:
            # Long requests (journal long-polls, latency faults) end now, with their answers, rather than holding
            # the shutdown until uvicorn's grace runs out. A signal handler: hand the work to the event loop.
            if self.loop is not None:
                self.loop.call_soon_threadsafe(emulator.shutdown)
            super().handle_exit(sig, frame)

    server = Server(
        server_config(app, host=args.host, port=args.port, log_level=args.log_level, http=args.http, loop=args.loop)
    )
    _tune_gc()
    # uvicorn re-raises a caught SIGTERM once it has shut down; with this handler in place that ends in exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run()
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 0
    return 0 if server.started else 1
