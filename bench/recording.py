"""7. Recording and replaying: what the recording proxy adds, how fast a long session replays, how close a 1x
replay keeps to the recorded offsets, and whether the recorder's memory stays flat.

* Added latency per request: ``GET /api/credits/balance/simple`` (keep-alive, one at a time) straight to
  ``nemo-mock serve`` and through ``nemo-mock record`` in front of it; the figure is the difference of the medians.
* Added latency per event: a bare event source (``bench/_event_source.py``) sends events every 10 ms stamped with
  their send time; the client notes each arrival, straight and through the proxy; the figure is the difference of
  the median lateness (arrival - sent).
* A 10-minute session (recorded in-process from the emulator, offsets on its virtual clock: a 7-minute generation
  with a heartbeat a second, an export with its polls, an edit, another export) replayed by ``nemo-mock replay
  --speed instant``: the time for a client to send every recorded request in order and read every answer, streams
  included. The in-process replay transport's time beside it.
* Offset error at 1x: a real 1x replay is as long as its recording, too long for ``make bench``; so a stream of
  events every 100 ms (30 s; 5 s with --quick) is recorded through ``nemo-mock record`` from the event source, then
  replayed by ``nemo-mock replay --speed 1``; the error of each event is its arrival after the request minus its
  recorded offset. The same code paces a 10-minute replay; only its length differs.
* Recorder memory: the proxy's RSS while events stream through it as fast as they come (no pause), sampled at a
  quarter of the session and at its end; the figure is the growth between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import sys
import tempfile
import time
import typing

from ._common import OUT_DIR, Row, Server, free_port, log, median, mock_command, percentile, status_kib

__all__ = ["run"]

SECTION = "7 recording"


def _nemo_mock(*args: str) -> list[str]:
    script = pathlib.Path(sys.executable).parent / "nemo-mock"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "nemo_contract._cli._servers", *args]


def _source(name: str) -> Server:
    """The bare event source (``bench/_event_source.py``) on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "bench._event_source", "--port", str(port)]
    return Server.start(name, command, port, ready_path="/__mock__/health")


def _proxy(name: str, upstream: str, out: pathlib.Path) -> Server:
    """``nemo-mock record`` on a free port in front of ``upstream``, writing the cassette ``out``."""
    port = free_port()
    command = _nemo_mock("record", "--upstream", upstream, "--out", str(out), "--force", "--port", str(port))
    return Server.start(name, command, port, ready_path="/__mock__/health")


@contextlib.contextmanager
def _recorded_source(label: str, out: pathlib.Path) -> typing.Iterator[Server]:
    """The event source with ``nemo-mock record`` in front of it, writing ``out``; yields the proxy."""
    with _source(f"rec-source-{label}") as source, _proxy(f"rec-proxy-{label}", source.url, out) as proxy:
        yield proxy


def _replay(name: str, cassette: pathlib.Path, speed: str) -> Server:
    """``nemo-mock replay`` of ``cassette`` at ``speed`` on a free port."""
    port = free_port()
    command = _nemo_mock("replay", str(cassette), "--speed", speed, "--port", str(port))
    # (The readiness probe's GET is a miss, answered 599, and takes nothing from the cassette.)
    return Server.start(name, command, port, ready_path="/__none__")


def _request_latency(base: str, count: int) -> list[float]:
    import httpx

    with httpx.Client(base_url=base, timeout=10) as http:
        token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "bench-rec"}).json()["data"]["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        for _ in range(20):
            http.get("/api/credits/balance/simple")
        found = []
        for _ in range(count):
            started = time.perf_counter()
            http.get("/api/credits/balance/simple").raise_for_status()
            found.append((time.perf_counter() - started) * 1000)
    return found


def _event_lateness(base: str, events: int, every: float) -> tuple[list[float], list[float]]:
    """(lateness of each event in ms, arrival of each after the request was sent, in s)."""
    import httpx

    lateness, arrivals = [], []
    with httpx.Client(timeout=60) as http:
        started = time.monotonic()
        with http.stream("POST", f"{base}/run_sse?events={events}&every={every}") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    now = time.time()
                    arrivals.append(time.monotonic() - started)
                    lateness.append((now - json.loads(line[6:])["sent"]) * 1000)
    return lateness, arrivals


#: The 10-minute session's turns after the upload: a 7-minute generation (exported by the client), an edit, an export.
_TURNS = ("turn this video into a short promo with music and transitions", "make the music louder", "export")


def _ten_minutes(path: pathlib.Path) -> None:
    """A 10-minute session from the emulator, recorded in-process on its virtual clock."""
    from mock_server._media import render_mp4
    from nemo_contract import AsyncClient
    from nemo_contract.recording import AsyncRecordingTransport, Recorder
    from nemo_contract.testing import Emulated

    config = {
        "heartbeat_interval": 1.0,
        "silent_close_rate": 0.0,
        "turn_durations": {"generation": [420, 420], "edit": [60, 60]},
        "render_duration": [55, 55],
    }

    async def session() -> None:
        with (
            tempfile.TemporaryDirectory() as folder,
            Emulated(seed=11, config=config) as emulated,
            Recorder(path, target=emulated.base_url, clock=emulated.emulator.clock.now, overwrite=True) as recorder,
        ):
            clip = pathlib.Path(folder) / "clip.mp4"
            render_mp4(clip, width=320, height=180, duration_ms=2000, color=(40, 90, 140))
            async with AsyncClient(
                base_url=emulated.base_url,
                transport=AsyncRecordingTransport(emulated.transport(), recorder=recorder),
                language="en",
                # the client waits on the emulator's virtual clock: the 10 recorded minutes take seconds
                clock=emulated.emulator.clock.now,
                sleep=emulated.emulator.clock.advance,
                download_dir=folder,
            ) as client:
                await client.handle("upload", [clip])
                for text in _TURNS:
                    await client.handle(text)

    asyncio.run(session())


def _resent(exchange: typing.Any) -> tuple[str, str, list[tuple[str, str]], bytes | None]:
    """A recorded request as a client sends it again: method, URL, headers (no length or host) and body."""
    from nemo_contract.recording._replay import _body_bytes

    request = exchange.request
    headers = [(n, v) for n, v in request.headers if n.lower() not in ("content-length", "host")]
    content = _body_bytes(request.body) if request.body is not None and request.body.parts is None else None
    return request.method, request.path + (f"?{request.query}" if request.query else ""), headers, content


async def _drive(base: str, path: pathlib.Path, transport: typing.Any = None) -> int:
    """Send every recorded request in order and read every answer; returns how many."""
    import httpx

    from nemo_contract.recording import load

    cassette = load(path)
    count = 0
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=60) as http:
        for exchange in cassette.exchanges:
            method, url, headers, content = _resent(exchange)
            async with http.stream(method, url, headers=headers, content=content) as answer:
                await answer.aread()
                if answer.status_code == 599:
                    raise RuntimeError(f"the replay missed #{exchange.x}: {answer.text[:200]}")
            count += 1
    return count


def run(*, quick: bool = False) -> list[Row]:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    return [
        *_added_latency(requests=300 if quick else 2000, events=300 if quick else 3000),
        _instant_replay(),
        _paced_replay(seconds=5 if quick else 30),
        _recorder_memory(total=20_000 if quick else 200_000),
    ]


def _added_latency(*, requests: int, events: int) -> list[Row]:
    """What the proxy adds to a request and to an event, against the same straight to the server."""
    every = 0.01
    mock_port = free_port()
    with (
        Server.start(
            "rec-emulator", mock_command("--port", str(mock_port)), mock_port, ready_path="/__mock__/health"
        ) as emulator,
        _source("rec-source") as source,
    ):
        direct_requests = _request_latency(emulator.url, requests)
        direct_events, _ = _event_lateness(source.url, events, every)
        with _proxy("rec-proxy-emulator", emulator.url, OUT_DIR / "rec-emulator.jsonl") as proxy:
            proxied_requests = _request_latency(proxy.url, requests)
        with _proxy("rec-proxy-source", source.url, OUT_DIR / "rec-source.jsonl") as proxy:
            proxied_events, _ = _event_lateness(proxy.url, events, every)
    per_request = median(proxied_requests) - median(direct_requests)
    per_event = median(proxied_events) - median(direct_events)
    log(f"recording: request median {median(direct_requests):.3f} ms direct, {median(proxied_requests):.3f} ms proxied")
    direct, proxied = median(direct_events), median(proxied_events)
    log(f"recording: event lateness median {direct:.3f} ms direct, {proxied:.3f} ms proxied")
    by_request = Row(
        SECTION,
        "proxy: added latency per request (median)",
        per_request,
        "ms",
        baseline=median(direct_requests),
        baseline_name="the request straight to the emulator",
        note=f"{requests} GET /api/credits/balance/simple one at a time on a kept-alive connection, straight to "
        f"nemo-mock serve and through nemo-mock record (which writes each exchange); difference of the medians; "
        f"p99 {percentile(proxied_requests, 99):.2f} ms through the proxy, "
        f"{percentile(direct_requests, 99):.2f} ms straight.",
    )
    note = (
        f"{events} events of about 400 bytes every {every * 1000:g} ms from bench/_event_source.py, each "
        f"stamped with its send time; lateness = arrival - sent, straight and through nemo-mock record; "
        f"difference of the medians (p99 through the proxy {percentile(proxied_events, 99):.2f} ms)."
    )
    metric, baseline_name = "proxy: added latency per event (median)", "the event's lateness straight from the source"
    by_event = Row.below(SECTION, metric, per_event, "ms", 1, baseline=direct, baseline_name=baseline_name, note=note)
    return [by_request, by_event]


def _instant_replay() -> Row:
    """A 10-minute session recorded in-process, replayed at instant over HTTP and in-process."""
    from nemo_contract.recording import AsyncReplayTransport, Meta, load

    session = OUT_DIR / "rec-ten-minutes.jsonl"
    _ten_minutes(session)
    cassette = load(session)
    length = max(record.at for record in cassette.records if not isinstance(record, Meta)) / 1000
    events_in = sum(len(e.events) for e in cassette.exchanges)
    with _replay("rec-replay", session, "instant") as replay:
        started = time.perf_counter()
        count = asyncio.run(_drive(replay.url, session))
        over_http = time.perf_counter() - started
    started = time.perf_counter()
    asyncio.run(_drive("http://replayed.test", session, AsyncReplayTransport(load(session))))
    in_process = time.perf_counter() - started
    note = (
        f"{count} exchanges, {events_in} stream events, {length / 60:.1f} recorded minutes (offsets on the "
        f"emulator's virtual clock), served by nemo-mock replay --speed instant; a client sends each recorded "
        f"request in order and reads its whole answer. In-process (AsyncReplayTransport, load included): "
        f"{in_process:.3f} s."
    )
    return Row.below(SECTION, "replay: a 10-minute session at instant (HTTP)", over_http, "s", 1, note=note)


def _paced_replay(*, seconds: int) -> Row:
    """Events every 100 ms recorded through the proxy, replayed at 1x: how far each lands from its offset."""
    from nemo_contract.recording import load

    paced = OUT_DIR / "rec-paced.jsonl"
    with _recorded_source("paced", paced) as proxy:
        _event_lateness(proxy.url, seconds * 10, 0.1)
    recorded = load(paced).exchanges[-1]
    offsets = [(event.at - recorded.request.at) / 1000 for event in recorded.events]
    with _replay("rec-replay-1x", paced, "1") as replay:
        _, arrivals = _event_lateness(replay.url, 1, 0)
    errors = [abs(arrival - offset) * 1000 for arrival, offset in zip(arrivals, offsets, strict=False)]
    note = (
        f"{len(offsets)} events every 100 ms recorded through nemo-mock record ({seconds} s), replayed by "
        f"nemo-mock replay --speed 1; |arrival after the request - recorded offset|, median "
        f"{median(errors):.2f} ms. A 10-minute replay at 1x takes 10 minutes, too long for make bench; its pacing "
        f"is the same code."
    )
    return Row.below(SECTION, "replay at 1x: event offset error (p99)", percentile(errors, 99), "ms", 20, note=note)


def _recorder_memory(*, total: int) -> Row:
    """The proxy's RSS while events stream through it as fast as they come."""
    out = OUT_DIR / "rec-memory.jsonl"
    with _recorded_source("memory", out) as proxy:
        samples = _memory(proxy, total)
    quarter, end = samples[0], samples[-1]
    growth = (end - quarter) / 1024
    size = out.stat().st_size / 1024 / 1024
    note = (
        f"{total:,} events (a {size:.0f} MiB cassette) streamed through nemo-mock record as fast as the "
        f"source sends them; the proxy's RSS at a quarter of the session {quarter / 1024:.1f} MiB, at its end "
        f"{end / 1024:.1f} MiB (samples: {', '.join(f'{s / 1024:.1f}' for s in samples)} MiB)."
    )
    metric = "recorder: RSS growth from a quarter to the end of a session"
    return Row.below(SECTION, metric, growth, "MiB", 2, target="flat", note=note)


def _memory(proxy: Server, total: int) -> list[int]:
    """The proxy's RSS (KiB) at each quarter of a stream of ``total`` events read as fast as they come."""
    import httpx

    samples = []
    marks = {total * k // 4 for k in (1, 2, 3)}
    seen = 0
    with (
        httpx.Client(timeout=120) as http,
        http.stream("POST", f"{proxy.url}/run_sse?events={total}&every=0") as stream,
    ):
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen += 1
                if seen in marks:
                    samples.append(status_kib(proxy.pid)["VmRSS"])
    time.sleep(0.5)
    samples.append(status_kib(proxy.pid)["VmRSS"])
    return samples
