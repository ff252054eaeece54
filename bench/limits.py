"""6. The connection limits under load: slow-loris clients beside a large draft, maximal heads, and SIGTERM.

Each figure is taken against ``nemo-mock serve`` as installed (httptools + uvloop) on the server CPU, from one
asyncio loop in this process on the client CPU:

* ``/__mock__/health`` latency while 1,000 slow-loris sockets stay open (each sends half a request head, then
  one more header line every few seconds; a socket the server closes is opened again at once) and a 7 MB valid
  draft is sent to ``POST /api/render/proxy/lambda`` and validated. Health is asked every 10 ms on one
  keep-alive connection; the figure covers the samples from the draft's first byte to its answer.
* VmRSS of the server after 1,000 API requests whose heads are exactly the largest accepted (``HEAD_BYTES``),
  each journalled with its headers, and one byte more answered 431.
* Seconds from SIGTERM to the process's exit, with keep-alive connections, an idle socket, half a head, a
  ``/run_sse`` stream, a journal long-poll (``wait=60``) and a request held by a latency fault (an hour) open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import typing

from ._common import Row, Server, free_port, log, median, mock_command, percentile, post_json, status_kib

__all__ = ["run"]

SECTION = "6 limits"
LORIS_LINE_EVERY = 3.0
HEALTH_EVERY = 0.010
SKILL = {"X-Skill-Source": "bench", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}


@contextlib.contextmanager
def _emulator(name: str) -> typing.Iterator[tuple[Server, int, str, str]]:
    """``nemo-mock serve`` on the server CPU, with a token and a session: (server, port, token, session id)."""
    port = free_port()
    with Server.start(name, mock_command("--port", str(port)), port, ready_path="/__mock__/health") as server:
        token = str(post_json(server.url, "/api/auth/anonymous-token", None, {"X-Client-Id": name})["token"])
        auth = {"Authorization": f"Bearer {token}"}
        session = post_json(server.url, "/api/tasks/me/with-session/nemo_agent", {"task_name": "t"}, auth)
        yield server, port, token, str(session["session_id"])


def _draft_body(session_id: str, target_bytes: int) -> bytes:
    """A valid render request whose draft is about ``target_bytes`` of compact JSON (one segment per 10 ms)."""
    segment = {"id": "s000000", "n": "clip", "st": 0, "d": 10, "u": "https://cdn.example.com/clip.mp4"}
    count = target_bytes // (len(json.dumps(segment, separators=(",", ":"))) + 1)
    segments = [{**segment, "id": f"s{i:06d}", "st": i * 10} for i in range(count)]
    draft = {
        "t": [{"tt": 0, "sg": segments}],
        "d": min(count * 10, 1_800_000),
        "m": {"title": "bench", "width": 1280, "height": 720, "fps": 30},
    }
    return json.dumps({"id": "bench-draft", "sessionId": session_id, "draft": draft}, separators=(",", ":")).encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(x.split(":", 1)[1]) for x in lines[1:] if x.lower().startswith("content-length:"))
    return int(lines[0].split()[1]), await reader.readexactly(length)


class _Loris:
    """Keeps ``count`` slow-loris sockets open: half a head each, a header line now and then, reopened when cut."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.open = 0
        self.reopened = 0
        self.all_reopened = asyncio.Event()  # every socket was cut once and opened again
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        gate = asyncio.Semaphore(64)
        ready = [asyncio.Event() for _ in range(self.count)]
        self.tasks = [asyncio.create_task(self._one(gate, event)) for event in ready]
        await asyncio.gather(*(event.wait() for event in ready))

    async def _one(self, gate: asyncio.Semaphore, ready: asyncio.Event) -> None:
        first = True
        while True:
            writer = None
            try:
                async with gate:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.write(b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    await writer.drain()
                self.open += 1
                ready.set()
                if not first:
                    self.reopened += 1
                    if self.reopened >= self.count:
                        self.all_reopened.set()
                first = False
                line = 0
                while not writer.is_closing():
                    await asyncio.sleep(LORIS_LINE_EVERY)
                    line += 1
                    writer.write(f"X-Slow-{line}: {'x' * 20}\r\n".encode())
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                if writer is not None:
                    self.open -= 1
                    writer.close()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _health_samples(port: int, stop: asyncio.Event) -> list[tuple[float, float]]:
    """(sent at, latency) of a health request every HEALTH_EVERY seconds on one keep-alive connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    samples = []
    try:
        while not stop.is_set():
            started = time.perf_counter()
            writer.write(request)
            status, _ = await _read_response(reader)
            if status != 200:
                raise RuntimeError(f"health answered {status}")
            samples.append((started, time.perf_counter() - started))
            await asyncio.sleep(max(0.0, HEALTH_EVERY - (time.perf_counter() - started)))
    finally:
        writer.close()
    return samples


async def _post_draft(port: int, token: str, body: bytes) -> tuple[int, float, float]:
    """(status, first byte sent at, answer seconds) of the render start with the large draft."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /api/render/proxy/lambda HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in SKILL.items())
        + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    writer.write(head + body)
    await writer.drain()
    status, answer = await _read_response(reader)
    writer.close()
    if status != 200:
        raise RuntimeError(f"the draft was answered {status}: {answer[:200]!r}")
    return status, started, time.perf_counter() - started


async def _loris_and_draft(port: int, token: str, body: bytes, sockets: int) -> dict[str, typing.Any]:
    from mock_server._guard import HEAD_TIMEOUT

    loris = _Loris(port, sockets)
    opened = time.perf_counter()
    await loris.start()
    log(f"limits: {loris.open} slow-loris sockets open in {time.perf_counter() - opened:.1f} s")
    stop = asyncio.Event()
    health = asyncio.create_task(_health_samples(port, stop))
    await asyncio.sleep(2.0)
    _, sent_at, seconds = await _post_draft(port, token, body)
    open_then = loris.open
    # Then until every socket has been cut at the head timeout once and opened again (a reconnecting storm).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(loris.all_reopened.wait(), opened + HEAD_TIMEOUT + 10 - time.perf_counter())
    await asyncio.sleep(0.5)
    stop.set()
    samples = await health
    await loris.stop()
    return {
        "during": [latency * 1000 for at, latency in samples if sent_at <= at <= sent_at + seconds],
        "all": [latency * 1000 for _, latency in samples],
        "draft_seconds": seconds,
        "open": open_then,
        "reopened": loris.reopened,
        "loris_seconds": time.perf_counter() - opened,
    }


def _rss_after_max_heads(port: int, pid: int, token: str, requests: int) -> dict[str, typing.Any]:
    from mock_server._guard import HEAD_BYTES

    def head(size: int) -> bytes:
        bare = (
            f"GET /api/credits/balance/simple HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "X-Pad: \r\n\r\n"
        ).encode()
        return bare[:-4] + b"a" * (size - len(bare)) + b"\r\n\r\n"

    before = status_kib(pid)["VmRSS"]
    statuses: dict[int, int] = {}
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        for _ in range(requests):
            sock.sendall(head(HEAD_BYTES))
            status = int(reader.readline().split()[1])
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
            statuses[status] = statuses.get(status, 0) + 1
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head(HEAD_BYTES + 1))
        over = int(sock.recv(64).split()[1])
    time.sleep(0.5)
    after = status_kib(pid)
    return {
        "before_kib": before,
        "after_kib": after["VmRSS"],
        "peak_kib": after["VmHWM"],
        "statuses": statuses,
        "over": over,
    }


def _sigterm_seconds(runs: int) -> tuple[list[float], list[int], bool]:
    """Seconds from SIGTERM to exit over ``runs`` fresh servers, their exit codes, and whether any traceback."""
    times, codes, traceback = [], [], False
    for run in range(runs):
        with _emulator(f"emulator-sigterm-{run}") as (server, port, token, session_id):
            keep_alive = socket.create_connection(("127.0.0.1", port))
            for _ in range(3):
                keep_alive.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: x\r\n\r\n")
                keep_alive.recv(65536)
            idle = socket.create_connection(("127.0.0.1", port))  # never sends a byte
            half = socket.create_connection(("127.0.0.1", port))
            half.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: x\r\n")
            turn = json.dumps(
                {"app_name": "nemo_agent", "session_id": session_id, "new_message": {"parts": [{"text": "generate"}]}}
            ).encode()
            stream = socket.create_connection(("127.0.0.1", port))
            head = f"POST /run_sse HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            stream.sendall(
                f"{head}Content-Type: application/json\r\nContent-Length: {len(turn)}\r\n\r\n".encode() + turn
            )
            stream.recv(65536)  # the stream has started
            poll = socket.create_connection(("127.0.0.1", port))  # held until an entry for /nothing: never
            poll.sendall(b"GET /__mock__/journal?wait=60&path=/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
            rule = json.dumps({"faults": [{"path": "/api/credits/*", "latency": 3600}]}).encode()
            config = socket.create_connection(("127.0.0.1", port))
            config.sendall(
                b"PUT /__mock__/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(rule)}\r\n\r\n".encode()
                + rule
            )
            config.recv(65536)
            held = socket.create_connection(("127.0.0.1", port))  # an hour of virtual latency
            held.sendall(
                f"GET /api/credits/balance/simple HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
            )
            time.sleep(0.2)
            started = time.perf_counter()
            os.kill(server.pid, signal.SIGTERM)
            try:
                code = server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = -1
            times.append(time.perf_counter() - started)
            codes.append(code)
            for sock in (keep_alive, idle, half, stream, poll, config, held):
                sock.close()
        traceback = traceback or "Traceback" in server.log_path.read_text(errors="replace")
    return times, codes, traceback


def run(*, sockets: int = 1000, draft_mib: float = 7.0, heads: int = 1000, shutdowns: int = 5) -> list[Row]:
    from mock_server._guard import HEAD_BYTES

    with _emulator("emulator-limits") as (_, port, token, session_id):
        body = _draft_body(session_id, int(draft_mib * 1024 * 1024))
        log(f"limits: {sockets} slow-loris sockets and a {len(body) / 1024 / 1024:.1f} MiB draft")
        loris = asyncio.run(_loris_and_draft(port, token, body, sockets))
    with _emulator("emulator-heads") as (server, port, token, _):
        log(f"limits: {heads} requests with heads of {HEAD_BYTES} bytes, the largest accepted")
        heads_seen = _rss_after_max_heads(port, server.pid, token, heads)
    log(f"limits: SIGTERM to exit, {shutdowns} times")
    times, codes, traceback = _sigterm_seconds(shutdowns)

    during, whole = loris["during"], loris["all"]
    p99 = percentile(during, 99) if during else None
    rss_mib = heads_seen["after_kib"] / 1024
    ok_heads, over = heads_seen["statuses"].get(200, 0), heads_seen["over"]
    return [
        Row.below(
            SECTION,
            f"health p99 with {sockets} slow-loris sockets and a {len(body) / 1024 / 1024:.1f} MiB draft",
            p99,
            "ms",
            100,
            note=f"{len(during)} health answers while the draft was sent and checked ({loris['draft_seconds']:.2f} s, "
            f"answered 200): p50 {percentile(during, 50):.1f} ms, max {max(during):.1f} ms; {loris['open']} loris "
            f"sockets open when it was answered. Over the whole {loris['loris_seconds']:.0f} s, in which the server "
            f"cut every loris socket at the head timeout ({loris['reopened']} reopened): {len(whole)} answers, p99 "
            f"{percentile(whole, 99):.1f} ms, max {max(whole):.1f} ms",
        ),
        Row(
            SECTION,
            f"RSS after {heads} requests with heads of the largest accepted size",
            rss_mib,
            "MiB",
            target="< 100 MB",
            verdict="PASS" if rss_mib * 1024 * 1024 < 100e6 and ok_heads == heads and over == 431 else "MISS",
            note=f"{ok_heads} of {heads} answered 200 (statuses {heads_seen['statuses']}); one byte more: "
            f"{heads_seen['over']}; RSS {heads_seen['before_kib'] / 1024:.0f} MiB before, peak "
            f"{heads_seen['peak_kib'] / 1024:.0f} MiB",
        ),
        Row(
            SECTION,
            "SIGTERM to exit, with connections, a stream, a long-poll and a held request open",
            max(times),
            "s",
            target="< 1 s, exit 0, no traceback",
            verdict="PASS" if max(times) < 1 and set(codes) == {0} and not traceback else "MISS",
            note=f"slowest of {shutdowns}; median {median(times):.2f} s; exit codes {sorted(set(codes))}; "
            f"traceback in the log: {'yes' if traceback else 'no'}",
        ),
    ]
