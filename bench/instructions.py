"""Instructions per credits request through the emulator's ASGI app, counted by valgrind (no timing noise).

    python -m bench.instructions [--before OLD_TREE]

Outside ``make bench`` (it needs valgrind, and takes about a minute a tree). An in-process driver sends
``GET /api/credits/balance/simple`` straight to the app of ``mock_server`` from a tree (this one, and ``--before``
another checkout), 1,000 and then 5,000 times after a warm-up, each under ``valgrind --tool=callgrind`` with
``PYTHONHASHSEED=0``; the difference of the two totals over 4,000 is the figure. Wall-clock throughput on a shared
machine moves by tens of percent between runs; this count moves by about 1 %.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys

__all__ = ["main"]

_DRIVER = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
import mock_server
app = mock_server.create_app(seed=1)

async def call(method, path, headers):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": headers, "scheme": "http",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000), "root_path": "", "state": {}}
    sent, out = [], []
    async def receive():
        if not sent:
            sent.append(1)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
    async def send(message):
        out.append(message)
    await app(scope, receive, send)
    return out

async def main(count):
    async with app.router.lifespan_context(app):
        out = await call("POST", "/api/auth/anonymous-token", [(b"host", b"x"), (b"x-client-id", b"c")])
        token = json.loads(out[1]["body"])["data"]["token"]
        headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())]
        for _ in range(2000 + count):
            await call("GET", "/api/credits/balance/simple", headers)

asyncio.run(main(int(sys.argv[2])))
"""


def _total(tree: pathlib.Path, count: int) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            _DRIVER,
            str(tree),
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"bench.instructions: valgrind printed no total for {tree}")
    return int(found.group(1))


def per_request(tree: pathlib.Path) -> float:
    return (_total(tree, 5000) - _total(tree, 1000)) / 4000


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--before", type=pathlib.Path, help="another checkout's folder, counted the same way")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is not installed", file=sys.stderr)
        return 2
    here = pathlib.Path(__file__).resolve().parent.parent
    trees = [("before", args.before.resolve()), ("this tree", here)] if args.before else [("this tree", here)]
    for name, tree in trees:
        if not (tree / "mock_server").is_dir():
            print(f"bench.instructions: {tree} has no mock_server package", file=sys.stderr)
            return 2
        print(f"{name} ({tree}): {per_request(tree) / 1000:.1f}k instructions per credits request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
