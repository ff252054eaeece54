"""``nemo-mock``: run the emulator.

    nemo-mock serve [--host 127.0.0.1] [--port 8000] [--seed 0] [--time-scale 1.0] [--clock-start TIME]
                    [--config FILE] [--data-dir DIR] [--http auto|h11|httptools] [--loop auto|asyncio|uvloop]

It prints its base URL once it listens. Ctrl-C or SIGTERM ends open streams and exits 0. A bad flag or config
file gets one line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import math
import pathlib
import signal
import socket
import sys
import typing

from nemo_contract.__version__ import __version__

__all__ = ["main"]

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


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return int(text)


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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the emulator over HTTP", description=_SERVE_TEXT)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--seed", type=int, default=0, help="seed of every id and random draw (default 0)")
    serve.add_argument(
        "--time-scale", type=_time_scale, default=1.0, help="virtual seconds per real second (default 1; 0 freezes)"
    )
    serve.add_argument(
        "--clock-start",
        type=_moment,
        metavar="TIME",
        help="virtual time at start, ISO-8601 (default: now); with --seed and --time-scale 0, runs repeat exactly",
    )
    serve.add_argument("--config", type=pathlib.Path, help="YAML or JSON file of knobs and fault rules")
    serve.add_argument("--data-dir", type=pathlib.Path, help="where uploads and renders are kept (default: a temp dir)")
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
    return parser


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


def main(argv: typing.Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import uvicorn

    from ._app import create_app
    from ._config import ConfigError, load_config_file
    from ._server import server_config

    try:
        config = load_config_file(args.config) if args.config else None
    except ConfigError as exc:
        print(f"nemo-mock: {exc}", file=sys.stderr)
        return 2
    missing = _missing(args)
    if missing is not None:
        print(f"nemo-mock: {missing}", file=sys.stderr)
        return 2
    app = create_app(
        seed=args.seed,
        time_scale=args.time_scale,
        clock_start=args.clock_start,
        config=config,
        data_dir=args.data_dir,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                print(f"nemo-mock: serving http://{shown}:{port} (seed {args.seed}, time scale {args.time_scale:g})")
                sys.stdout.flush()

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
