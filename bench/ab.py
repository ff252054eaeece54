"""Before and after a change: the credits throughput of two emulator trees in interleaved wrk rounds.

    python -m bench.ab --before /path/to/old/checkout [--rounds 5] [--seconds 6]

``--before`` is a folder holding the old ``mock_server`` (and ``nemo_contract``, ``specs``) packages, for example
``git worktree add /tmp/old <commit>``. Both emulators and the bare Starlette app run side by side on the server
CPU and take turns under the same wrk load (in reverse order every other round), so drift in the machine's
speed hits all three alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import typing

from ._common import Server, free_port, log, mock_command, pin_self, tree_command
from ._tools import ensure_wrk
from .throughput import PATH, _token, _wrk, round_order

__all__ = ["main"]


def main(argv: typing.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab")
    parser.add_argument("--before", required=True, help="folder with the old mock_server package")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=6)
    args = parser.parse_args(argv)
    wrk, why = ensure_wrk()
    if wrk is None:
        print(why, file=sys.stderr)
        return 1
    pin_self()
    commands = {
        "before": tree_command(args.before, "serve"),
        "after": mock_command(),
        "bare": [sys.executable, "-m", "bench.baseline_app"],
    }
    servers: dict[str, Server] = {}
    rps: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for name, command in commands.items():
            port = free_port()
            servers[name] = Server.start(f"ab-{name}", [*command, "--port", str(port)], port, ready_path=PATH)
        tokens = {name: _token(s.url) if name != "bare" else "bare" for name, s in servers.items()}
        for name, server in servers.items():
            _wrk(wrk, server.url, tokens[name], 2, server.pid)
        for round_no in range(1, args.rounds + 1):
            for name, server in round_order(list(servers.items()), round_no):
                result = _wrk(wrk, server.url, tokens[name], args.seconds, server.pid)
                rps[name].append(result.rps)
                cpu[name].append(result.cpu_us)
                log(f"ab: round {round_no} {name}: {result.rps:,.0f} req/s, {result.cpu_us:.0f} us CPU/request")
    finally:
        for server in servers.values():
            server.stop()
    bare = statistics.median(rps["bare"])
    for name in ("before", "after", "bare"):
        value = statistics.median(rps[name])
        print(
            f"{name:7s} median {value:8,.0f} req/s  {value / bare:.2f}x bare  "
            f"CPU {statistics.median(cpu[name]):.0f} us/request  runs {[round(x) for x in rps[name]]}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
