"""1. Throughput and latency of ``GET /api/credits/balance/simple`` under 64 connections (wrk).

Three servers on the server CPU, one at a time under load from wrk on the client CPU: the emulator
(``nemo-mock serve``), the bare Starlette baseline (``bench/baseline_app.py``, same bytes, same uvicorn
settings) and Prism mocking ``specs/nemovideo.openapi.yaml`` at log level warn. Each gets a warm-up, then
``ROUNDS`` measured runs interleaved with the others, and the median run counts.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import urllib.request

from ._common import BENCH_DIR, ROOT, Row, Server, client_cpu, free_port, log, mock_command, taskset_prefix
from ._tools import ensure_prism, ensure_wrk

__all__ = ["run"]

PATH = "/api/credits/balance/simple"
CONNECTIONS = 64
SPEC = ROOT / "specs" / "nemovideo.openapi.yaml"


@dataclasses.dataclass(frozen=True, slots=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def _token(base: str) -> str:
    request = urllib.request.Request(
        base + "/api/auth/anonymous-token", method="POST", headers={"X-Client-Id": "bench-throughput"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        token: str = json.load(response)["data"]["token"]
        return token


def _wrk(wrk: str, url: str, token: str, seconds: int) -> WrkResult:
    command = [
        *taskset_prefix(client_cpu()),
        wrk,
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(BENCH_DIR / "wrk_report.lua"),
        "-H",
        f"Authorization: Bearer {token}",
        url + PATH,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        requests=data["requests"],
    )


def _median_run(runs: list[WrkResult]) -> WrkResult:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def run(*, rounds: int = 3, seconds: int = 8, warmup: int = 2) -> list[Row]:
    section = "1 credits"
    wrk, why = ensure_wrk()
    if wrk is None:
        return [Row(section, "throughput", None, "req/s", verdict="SKIP", note=why)]
    prism_cmd, prism_why = ensure_prism()

    servers: dict[str, Server] = {}
    prism_note = ""
    try:
        port = free_port()
        log("throughput: starting the emulator, the bare Starlette app and Prism on the server CPU")
        servers["emulator"] = Server.start("emulator", mock_command("--port", str(port)), port, ready_path=PATH)
        port = free_port()
        servers["starlette"] = Server.start(
            "starlette",
            [sys.executable, "-m", "bench.baseline_app", "--port", str(port)],
            port,
            ready_path=PATH,
        )
        if prism_cmd is not None:
            port = free_port()
            try:
                servers["prism"] = Server.start(
                    "prism",
                    [*prism_cmd, "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn", str(SPEC)],
                    port,
                    ready_path=PATH,
                    timeout=90,
                )
            except RuntimeError as exc:
                prism_why = f"Prism did not start: {str(exc)[-300:]}"
        token = _token(servers["emulator"].url)
        results: dict[str, list[WrkResult]] = {name: [] for name in servers}
        for name, server in servers.items():
            log(f"throughput: warm-up {name} ({warmup} s)")
            _wrk(wrk, server.url, token, warmup)
        for round_no in range(1, rounds + 1):
            for name, server in servers.items():
                result = _wrk(wrk, server.url, token, seconds)
                results[name].append(result)
                log(
                    f"throughput: round {round_no}/{rounds} {name}: {result.rps:,.0f} req/s, "
                    f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}"
                )
        if "prism" in servers:
            # At log level warn Prism prints only what it objects to: that is what it rejected in the spec.
            text = servers["prism"].log_path.read_text(errors="replace").strip()
            prism_note = "Prism logged nothing at warn" if not text else "Prism warned: " + text[-300:]
    finally:
        for server in servers.values():
            server.stop()

    ours = _median_run(results["emulator"])
    bare = _median_run(results["starlette"])
    rows = [
        Row(
            section,
            "throughput vs bare Starlette",
            ours.rps,
            "req/s",
            bare.rps,
            "bare Starlette",
            ">= 0.8x",
            "PASS" if ours.rps >= 0.8 * bare.rps else "MISS",
            f"{CONNECTIONS} conns, median of {rounds} x {seconds} s; errors: ours {ours.errors}, bare {bare.errors}",
        ),
        Row(section, "p50 latency vs bare", ours.p50_ms, "ms", bare.p50_ms, "bare Starlette"),
        Row(section, "p99 latency vs bare", ours.p99_ms, "ms", bare.p99_ms, "bare Starlette"),
    ]
    if "prism" in results:
        prism = _median_run(results["prism"])
        rows += [
            Row(
                section,
                "throughput vs Prism",
                ours.rps,
                "req/s",
                prism.rps,
                "Prism",
                ">= 4x",
                "PASS" if ours.rps >= 4 * prism.rps else "MISS",
                f"Prism errors {prism.errors}; {prism_note}",
            ),
            Row(section, "p50 latency vs Prism", ours.p50_ms, "ms", prism.p50_ms, "Prism"),
            Row(section, "p99 latency vs Prism", ours.p99_ms, "ms", prism.p99_ms, "Prism"),
        ]
    else:
        rows.append(Row(section, "throughput vs Prism", ours.rps, "req/s", target=">= 4x", verdict="SKIP", note=prism_why))
    return rows
