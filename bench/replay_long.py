"""A 10-minute recorded session replayed at 1x, outside ``make bench`` (it takes as long as the session's streams).

    python -m bench.replay_long

Records the 10-minute session of section 7 (``bench.recording``: a 7-minute generation with a heartbeat a
second, an export with its polls, an edit, another export; offsets on the emulator's virtual clock), serves it
with ``nemo-mock replay --speed 1``, sends every recorded request in order and notes when each event block of each
stream arrives after its request was sent. The figure is the error against the recorded offset, |arrival -
offset|, over every event of every stream; target p99 under 20 ms. Prints one line per stream and a summary.
"""

from __future__ import annotations

import time

from ._common import OUT_DIR, Server, free_port, log, median, percentile
from .recording import _nemo_mock, _ten_minutes

__all__ = ["main"]


def _stream_errors(
    base: str, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None, offsets: list[float]
) -> list[float]:
    import httpx

    arrivals: list[float] = []
    with httpx.Client(base_url=base, timeout=900) as http:
        started = time.monotonic()
        with http.stream(method, url, headers=headers, content=body) as answer:
            in_block = False
            for line in answer.iter_lines():
                if line:
                    in_block = True
                elif in_block:  # a blank line ends an event block
                    arrivals.append(time.monotonic() - started)
                    in_block = False
            if in_block:
                arrivals.append(time.monotonic() - started)
    return [abs(a - o) * 1000 for a, o in zip(arrivals, offsets, strict=False)]


def main() -> None:
    import httpx

    from nemo_contract.recording import load
    from nemo_contract.recording._replay import _body_bytes

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / "rec-ten-minutes-1x.jsonl"
    log("replay-long: recording the 10-minute session in-process")
    _ten_minutes(path)
    cassette = load(path)
    port = free_port()
    errors: list[float] = []
    started = time.monotonic()
    with Server.start(
        "rec-replay-long",
        _nemo_mock("replay", str(path), "--speed", "1", "--port", str(port)),
        port,
        ready_path="/__none__",
    ) as replay:
        for exchange in cassette.exchanges:
            request = exchange.request
            headers = [(n, v) for n, v in request.headers if n.lower() not in ("content-length", "host")]
            body = _body_bytes(request.body) if request.body is not None and request.body.parts is None else None
            url = request.path + (f"?{request.query}" if request.query else "")
            if exchange.events:
                offsets = [(event.at - request.at) / 1000 for event in exchange.events]
                found = _stream_errors(replay.url, request.method, url, headers, body, offsets)
                log(
                    f"replay-long: #{exchange.x} {request.path}: {len(found)} of {len(offsets)} events, "
                    f"p99 {percentile(found, 99):.2f} ms, max {max(found):.2f} ms"
                )
                errors += found
            else:
                httpx.request(request.method, replay.url + url, headers=headers, content=body, timeout=60)
    took = time.monotonic() - started
    print(
        f"10-minute session at 1x: {len(errors)} events, replayed in {took:.0f} s; offset error p50 "
        f"{median(errors):.2f} ms, p99 {percentile(errors, 99):.2f} ms, max {max(errors):.2f} ms (target p99 < 20 ms)"
    )


if __name__ == "__main__":
    main()
