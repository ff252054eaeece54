"""A bare event source for the recording bench: ``POST /run_sse?events=N&every=S`` streams N events, one every S
seconds, each stamped with the wall-clock time it was sent (``{"n":..,"sent":..,"pad":..}``, about 400 bytes: an
ADK event's size). ``GET /__mock__/health`` answers 200 (the bench's readiness probe).

    python -m bench._event_source --port P

Written as a raw ASGI app under uvicorn (httptools, uvloop), so the figures measure the proxy, not this server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import typing
import urllib.parse

__all__ = ["app", "main"]

PAD = "x" * 320


async def app(scope: dict[str, typing.Any], receive: typing.Any, send: typing.Any) -> None:
    # HTTP only: main() runs it with lifespan="off", as it has nothing to start or stop.
    while (await receive()).get("more_body"):
        pass
    if scope["path"] != "/run_sse":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    query = urllib.parse.parse_qs(scope["query_string"].decode())
    events, every = int(query.get("events", ["10"])[0]), float(query.get("every", ["0.01"])[0])
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    started = time.monotonic()
    for n in range(events):
        if every:
            await asyncio.sleep(max(0.0, started + n * every - time.monotonic()))
        data = json.dumps({"n": n, "sent": time.time(), "pad": PAD}, separators=(",", ":"))
        await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", http="httptools", loop="uvloop", lifespan="off"
    )


if __name__ == "__main__":
    main()
