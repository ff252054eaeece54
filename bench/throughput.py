"""1. Throughput and latency of ``GET /api/credits/balance/simple`` under 64 connections (wrk).

Three servers on the server CPU, one at a time under load from wrk on the client CPU: the emulator
(``nemo-mock serve``), the bare Starlette baseline (``bench/baseline_app.py``, same bytes, same uvicorn
settings) and Prism mocking ``specs/nemovideo.openapi.yaml`` at log level warn. Each gets a warm-up, then
``rounds`` measured runs interleaved with the others, in reverse order every other round; the ratios are
medians of per-round ratios.

Both the emulator and the bare app run on each of uvicorn's two stacks, named on their command lines:
httptools on uvloop (what the project installs, and what the targets judge) and, for comparison, h11 on asyncio
(uvicorn alone). Each run also reads the server's CPU time per request from /proc, a figure less moved by other
load than req/s.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import statistics
import subprocess
import sys
import typing
import urllib.request

from ._common import (
    BENCH_DIR,
    ROOT,
    Row,
    Server,
    client_cpu,
    cpu_seconds,
    free_port,
    log,
    mock_command,
    taskset_prefix,
)
from ._tools import ensure_prism, ensure_wrk

__all__ = ["round_order", "run"]

T = typing.TypeVar("T")

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
    cpu_us: float  # the server's CPU time per request


def _token(base: str) -> str:
    request = urllib.request.Request(
        base + "/api/auth/anonymous-token", method="POST", headers={"X-Client-Id": "bench-throughput"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        token: str = json.load(response)["data"]["token"]
        return token


def _wrk(wrk: str, url: str, token: str, seconds: int, pid: int) -> WrkResult:
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
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    cpu = cpu_seconds(pid) - cpu_before
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        requests=data["requests"],
        cpu_us=cpu / max(data["requests"], 1) * 1e6,
    )


def round_order(servers: list[T], round_no: int) -> list[T]:
    """The order of one round: as given in odd rounds, reversed in even ones. On this machine the server
    measured second of a pair ran about 9 % faster than an identical first one, so a fixed order biases ratios."""
    return servers if round_no % 2 else servers[::-1]


def _median_run(runs: list[WrkResult]) -> WrkResult:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def _paired(ours: list[WrkResult], baseline: list[WrkResult]) -> float:
    """The median over rounds of ours / baseline, each pair measured one right after the other (in both
    orders, over the rounds)."""
    return statistics.median(a.rps / b.rps for a, b in zip(ours, baseline, strict=True))


def _prism_startup_warnings(server: Server) -> str:
    """What Prism said at log level warn before any request: its objections to the spec (one line)."""
    lines = [line.strip() for line in server.log_path.read_text(errors="replace").splitlines()]
    found = [line for line in lines if "warn" in line.lower() or "error" in line.lower()]
    return "; ".join(found)[:400]


#: uvicorn's two stacks: (name in the table, the flags both servers get, the packages it needs). The first is
#: what the project installs and the one the targets judge; the second is uvicorn alone, for comparison.
STACKS = (
    ("httptools + uvloop, as installed", ("--http", "httptools", "--loop", "uvloop"), ("httptools", "uvloop")),
    ("h11 + asyncio, uvicorn alone", ("--http", "h11", "--loop", "asyncio"), ()),
)
JUDGED = STACKS[0][0]


def _stack_rows(section: str, stack: str, results: dict[str, list[WrkResult]], how: str) -> list[Row]:
    def verdict(ok: bool) -> typing.Literal["PASS", "MISS", "INFO"]:
        if stack != JUDGED:
            return "INFO"  # shown beside the target, but the target is for the stack as installed
        return "PASS" if ok else "MISS"

    ours, bare = _median_run(results["emulator"]), _median_run(results["starlette"])
    vs_bare = _paired(results["emulator"], results["starlette"])
    rows = [
        Row(
            section,
            f"[{stack}] throughput vs bare Starlette",
            ours.rps,
            "req/s",
            bare.rps,
            "bare Starlette, same stack",
            ">= 0.8x",
            verdict(vs_bare >= 0.8),
            f"{how}; server CPU per request (median run): ours {ours.cpu_us:.0f} us, bare {bare.cpu_us:.0f} us; "
            f"p50 ours {ours.p50_ms:.1f} ms, bare {bare.p50_ms:.1f} ms; errors: ours {ours.errors}, bare {bare.errors}",
            paired_ratio=vs_bare,
        ),
        Row(section, f"[{stack}] p99 latency vs bare", ours.p99_ms, "ms", bare.p99_ms, "bare Starlette"),
    ]
    if "prism" in results:
        prism = _median_run(results["prism"])
        vs_prism = _paired(results["emulator"], results["prism"])
        rows += [
            Row(
                section,
                f"[{stack}] throughput vs Prism",
                ours.rps,
                "req/s",
                prism.rps,
                "Prism",
                ">= 4x",
                verdict(vs_prism >= 4),
                f"{how}; p50 ours {ours.p50_ms:.1f} ms, Prism {prism.p50_ms:.1f} ms",
                paired_ratio=vs_prism,
            ),
            Row(section, f"[{stack}] p99 latency vs Prism", ours.p99_ms, "ms", prism.p99_ms, "Prism"),
        ]
    return rows


def run(*, rounds: int = 6, seconds: int = 5, warmup: int = 2) -> list[Row]:
    section = "1 credits"
    wrk, why = ensure_wrk()
    if wrk is None:
        return [Row(section, "throughput", None, "req/s", verdict="SKIP", note=why)]
    prism_cmd, prism_why = ensure_prism()
    stacks, missing = [], []
    for name, flags, needs in STACKS:
        if all(importlib.util.find_spec(package) for package in needs):
            stacks.append((name, flags))
        else:
            missing.append((name, needs))

    servers: dict[str, Server] = {}
    prism_note = ""
    results: dict[str, list[WrkResult]] = {}
    try:
        log("throughput: starting the emulator and the bare Starlette app on each stack, and Prism, on the server CPU")
        for stack, flags in stacks:
            port = free_port()
            servers[f"emulator|{stack}"] = Server.start(
                f"emulator, {stack}", mock_command("--port", str(port), *flags), port, ready_path=PATH
            )
            port = free_port()
            servers[f"starlette|{stack}"] = Server.start(
                f"starlette, {stack}",
                [sys.executable, "-m", "bench.baseline_app", "--port", str(port), *flags],
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
                    ready_headers={"Authorization": "Bearer bench"},
                )
                prism_note = _prism_startup_warnings(servers["prism"])
            except RuntimeError as exc:
                prism_why = f"Prism did not start: {str(exc)[-300:]}"
        # Each emulator has its own accounts: a valid token for each (the others ignore it).
        tokens = {
            name: _token(server.url) if name.startswith("emulator") else "bench" for name, server in servers.items()
        }
        results = {name: [] for name in servers}
        for name, server in servers.items():
            log(f"throughput: warm-up {name} ({warmup} s)")
            _wrk(wrk, server.url, tokens[name], warmup, server.pid)
        for round_no in range(1, rounds + 1):
            for name, server in round_order(list(servers.items()), round_no):
                result = _wrk(wrk, server.url, tokens[name], seconds, server.pid)
                results[name].append(result)
                log(
                    f"throughput: round {round_no}/{rounds} {name}: {result.rps:,.0f} req/s, "
                    f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
                    f"server CPU {result.cpu_us:.0f} us/request, errors {result.errors}"
                )
    finally:
        for server in servers.values():
            server.stop()

    how = f"{CONNECTIONS} connections, medians of {rounds} rounds x {seconds} s; ratio = median of per-round ratios"
    rows: list[Row] = []
    for stack, _ in stacks:
        of_stack = {name.partition("|")[0]: runs for name, runs in results.items() if name.endswith(f"|{stack}")}
        if "prism" in results:
            of_stack["prism"] = results["prism"]
        rows += _stack_rows(section, stack, of_stack, how)
    if "prism" in results:
        prism = _median_run(results["prism"])
        rows.append(
            Row(
                section,
                "Prism itself",
                prism.rps,
                "req/s",
                note=f"Prism CPU {prism.cpu_us:.0f} us/request (node's main thread; it has more); errors "
                f"{prism.errors}; "
                + (f"Prism at start-up: {prism_note}" if prism_note else "Prism printed no warning at start-up"),
                verdict="INFO",
            )
        )
    else:
        rows.append(Row(section, "throughput vs Prism", None, "req/s", target=">= 4x", verdict="SKIP", note=prism_why))
    rows += [
        Row(section, f"[{name}] rows", None, "", verdict="SKIP", note=f"needs {' and '.join(needs)}, not installed")
        for name, needs in missing
    ]
    return rows
