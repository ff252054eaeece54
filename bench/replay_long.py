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

from ._common import OUT_DIR, log, median, percentile
from .recording import _replay, _resent, _ten_minutes

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

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / "rec-ten-minutes-1x.jsonl"
    log("replay-long: recording the 10-minute session in-process")
    _ten_minutes(path)
    errors: list[float] = []
    started = time.monotonic()
    with _replay("rec-replay-long", path, "1") as replay:
        for exchange in load(path).exchanges:
            method, url, headers, body = _resent(exchange)
            if exchange.events:
                offsets = [(event.at - exchange.request.at) / 1000 for event in exchange.events]
                found = _stream_errors(replay.url, method, url, headers, body, offsets)
                log(
                    f"replay-long: #{exchange.x} {url}: {len(found)} of {len(offsets)} events, "
                    f"p99 {percentile(found, 99):.2f} ms, max {max(found):.2f} ms"
                )
                errors += found
            else:
                httpx.request(method, replay.url + url, headers=headers, content=body, timeout=60)
    took = time.monotonic() - started
    print(
        f"10-minute session at 1x: {len(errors)} events, replayed in {took:.0f} s; offset error p50 "
        f"{median(errors):.2f} ms, p99 {percentile(errors, 99):.2f} ms, max {max(errors):.2f} ms (target p99 < 20 ms)"
    )


if __name__ == "__main__":
    main()
