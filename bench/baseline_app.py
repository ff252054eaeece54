"""The baseline: a bare Starlette app that answers the credits endpoint with the emulator's exact bytes.

    python -m bench.baseline_app --port 8001 [--http auto|h11|httptools] [--loop auto|asyncio|uvloop]

It runs under uvicorn with the settings ``nemo-mock serve`` uses (the HTTP parser and loop given, warning log
level, no access log, lifespan on), so the only difference measured is what the emulator does per request.
``/__mock__/health`` answers too, for start-up timing.
"""

from __future__ import annotations

import argparse
import typing

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["BODY", "app", "main"]

#: What the emulator sends for a fresh account's balance (compact JSON, the envelope of the protocol).
BODY = b'{"code":0,"message":"success","data":{"available":100,"frozen":0,"total":100}}'


async def balance(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b'{"code":0,"message":"success","data":{"status":"ok"}}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/api/credits/balance/simple", balance, methods=["GET"]),
        Route("/__mock__/health", health, methods=["GET"]),
    ]
)


def main(argv: typing.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    # nemo-mock serve's choices, spelled again: importing mock_server would load the emulator into the baseline.
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    parser.add_argument("--loop", default="auto", choices=["asyncio", "auto", "uvloop"])
    args = parser.parse_args(argv)
    import uvicorn

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        http=args.http,
        loop=args.loop,
        access_log=False,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
