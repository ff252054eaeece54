"""2. Two thousand concurrent ``/run_sse`` turns, each with a heartbeat every real second.

The emulator runs as ``nemo-mock serve`` (time scale 1: virtual seconds are real seconds) on the server CPU
with ``heartbeat_interval: 1`` and a generation turn long enough to stay open through the window. The client
here holds every stream on one raw asyncio socket (HTTP/1.1, chunked decoding by hand, nothing buffered
beyond one event) on the client CPU.

Heartbeat lateness needs each heartbeat's schedule. The ``comment`` heartbeat (``: ping - <time>``) carries
the virtual time it was due at, which at time scale 1 is wall-clock time on this machine, so lateness is
``arrival - due`` for every heartbeat. (It is the same code path as the default empty ``data:`` heartbeat;
only the formatting differs.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import time

from ._common import (
    OUT_DIR,
    Row,
    Server,
    cpu_seconds,
    free_port,
    log,
    mock_command,
    percentile,
    post_json,
    raise_nofile,
    status_kib,
)

__all__ = ["run"]

PING = b": ping - "
CONNECT_AT_ONCE = 64


@dataclasses.dataclass(slots=True)
class StreamResult:
    status: int = 0
    complete: bool = False
    error: str = ""
    heartbeats: int = 0
    lateness: list[float] = dataclasses.field(default_factory=list)
    arrivals: list[float] = dataclasses.field(default_factory=list)
    opened_at: float = 0.0


def _due(event: bytes) -> float:
    text = event[len(PING) :].decode("ascii").strip()
    return datetime.datetime.fromisoformat(text).timestamp()


class _Opened:
    """Counts streams whose response has started; ``all`` is set once every stream has (or has failed)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.all = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.count >= self.total:
            self.all.set()


async def _one(
    host: str, port: int, token: str, session_id: str, gate: asyncio.Semaphore, opened: _Opened
) -> StreamResult:
    """One turn on its own connection: read the stream to its end, timing every heartbeat's arrival."""
    result = StreamResult()
    body = json.dumps(
        {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": session_id,
            "new_message": {"parts": [{"text": "generate a promo video with music"}]},
        }
    ).encode()
    head = (
        f"POST /run_sse HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    writer: asyncio.StreamWriter | None = None
    try:
        async with gate:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
        result.status = int(status_line.split()[1])
        chunked = False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        result.opened_at = time.time()
        opened.add()
        if result.status != 200 or not chunked:
            result.error = f"status {result.status}, chunked {chunked}"
            return result
        pending = b""
        while True:
            size_line = await reader.readline()
            if not size_line:
                result.error = "connection closed before the end of the stream"
                return result
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                result.complete = True
                return result
            data = await reader.readexactly(size + 2)
            arrived = time.time()
            pending += data[:-2]
            *events, pending = pending.split(b"\n\n")
            for event in events:
                if event.startswith(PING):
                    result.heartbeats += 1
                    result.lateness.append(arrived - _due(event))
                    result.arrivals.append(arrived)
                elif event.startswith(b'data: {"error"'):
                    result.error = "error event: " + event.decode(errors="replace")[:120]
    except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        if not result.opened_at:  # failed before its response started: it no longer holds up the ramp
            result.opened_at = time.time()
            opened.add()
        return result
    finally:
        if writer is not None:
            writer.close()


async def _hold(
    server: Server, port: int, token: str, sessions: list[str], rate: float
) -> tuple[list[StreamResult], dict[str, float]]:
    """Open one stream per session, ``rate`` a second, hold them all, and gather every result."""
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    opened = _Opened(len(sessions))
    started = time.monotonic()
    tasks = []
    for index, sid in enumerate(sessions):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one("127.0.0.1", port, token, sid, gate, opened)))
    facts: dict[str, float] = {}
    await opened.all.wait()
    facts["ramp_s"] = time.monotonic() - started
    facts["all_open_at"] = time.time()
    log(f"streams: {opened.count} streams open after {facts['ramp_s']:.1f} s")
    await asyncio.sleep(3.0)  # let the heap settle with every stream open
    facts["rss_open_kib"] = status_kib(server.pid)["VmRSS"]
    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
    await asyncio.sleep(10.0)
    facts["server_cpu_share"] = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - t0)
    facts["held_until"] = time.time()
    log(f"streams: server RSS {facts['rss_open_kib'] / 1024:.0f} MiB, server CPU {facts['server_cpu_share']:.0%}")
    return list(await asyncio.gather(*tasks)), facts


def run(*, streams: int = 2000, rate: float = 150.0, hold_seconds: float = 18.0) -> list[Row]:
    section = "2 streams"
    # Every turn must outlast the ramp and the held window (plus its opening delay, about 5 % of it).
    turn_seconds = round(streams / rate + hold_seconds + 5)
    raise_nofile(streams * 2 + 1024)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    config = OUT_DIR / "streams-config.json"
    config.write_text(
        json.dumps(
            {
                "heartbeat_interval": 1,
                "heartbeat": "comment",
                "turn_durations": {"generation": [turn_seconds, turn_seconds]},
                "initial_credits": 10**9,
            }
        )
    )
    port = free_port()
    command = mock_command("--port", str(port), "--config", str(config))
    with Server.start("emulator-streams", command, port, ready_path="/__mock__/health") as server:
        base = server.url
        token = str(post_json(base, "/api/auth/anonymous-token", None, {"X-Client-Id": "bench-streams"})["token"])
        auth = {"Authorization": f"Bearer {token}"}
        log(f"streams: creating {streams} sessions")
        path = "/api/tasks/me/with-session/nemo_agent"
        sessions = [str(post_json(base, path, {"task_name": f"s{i}"}, auth)["session_id"]) for i in range(streams)]
        rss_idle = status_kib(server.pid)["VmRSS"]
        log(f"streams: opening {streams} /run_sse turns ({turn_seconds:g} s each, heartbeat every 1 s)")
        results, facts = asyncio.run(_hold(server, port, token, sessions, rate))

    failed = [r for r in results if r.status != 200 or not r.complete or r.error]
    lateness_ms = [x * 1000 for r in results for x in r.lateness]
    held_ms = [
        x * 1000
        for r in results
        for x, at in zip(r.lateness, r.arrivals, strict=True)
        if facts["all_open_at"] <= at <= facts["held_until"]
    ]
    reasons = sorted({r.error or f"status {r.status}" for r in failed})[:3]
    p50 = percentile(lateness_ms, 50) if lateness_ms else None
    p99 = percentile(lateness_ms, 99) if lateness_ms else None
    per_stream = (facts["rss_open_kib"] - rss_idle) / streams
    rows = [
        Row(
            section,
            f"failed streams of {streams}",
            float(len(failed)),
            "",
            target="0",
            verdict="PASS" if not failed else "MISS",
            note=f"{turn_seconds} s turns; ramp to {streams} open: {facts['ramp_s']:.1f} s"
            + (f"; {reasons}" if reasons else ""),
        ),
        Row.below(
            section,
            "heartbeat lateness p99",
            p99,
            "ms",
            100,
            note=f"{len(lateness_ms):,} heartbeats over the whole run (ramp at {rate:g}/s included); "
            f"p50 {p50 or 0:.1f} ms, max {max(lateness_ms, default=0):.0f} ms; with all {streams} open: "
            f"p99 {percentile(held_ms, 99) if held_ms else 0:.1f} ms",
        ),
        Row(
            section,
            "server RSS per open stream",
            per_stream,
            "KiB",
            target="report",
            note=f"RSS {rss_idle / 1024:.0f} MiB idle -> {facts['rss_open_kib'] / 1024:.0f} MiB with all open; "
            f"server CPU {facts['server_cpu_share']:.0%} while holding them",
        ),
    ]
    return rows
