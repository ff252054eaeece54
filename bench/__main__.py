"""``python -m bench``: every benchmark section in one run, one table on standard output.

    python -m bench [--only startup,throughput,streams,workflow,uploads,limits,toolkit,verify,audit,recording]
                    [--quick] [--json FILE]

Progress goes to standard error. The table (Markdown) puts each figure beside its baseline with the ratio, the
target and a verdict; notes under it say how each figure was taken. Missed targets do not fail the run (the
suite makes no timed assertions): the exit status is 1 only when a section could not run at all.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import time
import traceback
import typing

from ._common import Row, fmt, log, pin_self, raise_nofile, server_cpu

SECTIONS = (
    "startup",
    "throughput",
    "streams",
    "workflow",
    "uploads",
    "limits",
    "toolkit",
    "verify",
    "audit",
    "recording",
)
PACKAGES = ("starlette", "sse-starlette", "uvicorn", "h11", "httptools", "uvloop", "anyio", "httpx", "jsonschema", "av")


def _first_line(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def busy_share(seconds: float = 1.0) -> float:
    """How busy the machine's CPUs are (0..1) over a short window, from /proc/stat: other load skews every figure."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(x) for x in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(total1 - total0, 1)


def machine_facts() -> dict[str, typing.Any]:
    with open("/proc/cpuinfo", encoding="ascii") as cpuinfo:
        models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = models[0] if models else platform.processor()
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        ram_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    from ._tools import prism_version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": _first_line(["wrk", "--version"]),
        "node": _first_line(["node", "--version"]),
        "prism": prism_version(),
        "pinning": "load generator on CPU 0, servers on CPU 1" if server_cpu() is not None else "none (one core)",
    }


def _run_section(name: str, quick: bool) -> list[Row]:
    if name == "startup":
        from . import startup

        return startup.run(runs=3 if quick else 7)
    if name == "throughput":
        from . import throughput

        return throughput.run(rounds=2 if quick else 6, seconds=3 if quick else 5)
    if name == "streams":
        from . import streams

        return streams.run(streams=200 if quick else 2000, hold_seconds=5 if quick else 18)
    if name == "workflow":
        from . import workflow

        return workflow.run(runs=5 if quick else 30, resident=500 if quick else 10_000)
    if name == "uploads":
        from . import uploads

        return uploads.run(refusals=5 if quick else 20)
    if name == "limits":
        from . import limits

        return limits.run(sockets=200 if quick else 1000, heads=200 if quick else 1000, shutdowns=2 if quick else 5)
    if name == "toolkit":
        from . import toolkit

        return toolkit.run(tests=100 if quick else 500, workflows=6 if quick else 31, examples=5 if quick else 30)
    if name == "verify":
        from . import verify

        return verify.run(runs=1 if quick else 3)
    if name == "audit":
        from . import audit

        return audit.run(quick=quick)
    if name == "recording":
        from . import recording

        return recording.run(quick=quick)
    raise ValueError(name)


def render(rows: list[Row]) -> str:
    lines = [
        "| # | metric | ours | baseline | ratio | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    for number, row in enumerate(rows, 1):
        baseline = "—" if row.baseline is None else f"{fmt(row.baseline, row.unit)} ({row.baseline_name})"
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}x"
        lines.append(
            f"| {number} | {row.section}: {row.metric} | {fmt(row.ours, row.unit)} | {baseline} | {ratio} | "
            f"{row.target or '—'} | {row.verdict} |"
        )
        if row.note:
            notes.append(f"{number}. " + " ".join(row.note.split()))
    return "\n".join([*lines, "", "Notes:", *notes])


def main(argv: typing.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", help=f"comma-separated sections (default all: {','.join(SECTIONS)})")
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs: a smoke test, not figures")
    parser.add_argument("--json", help="also write the facts and rows to this file")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")

    started = time.monotonic()
    cpu = pin_self()
    raise_nofile(8192)
    facts = machine_facts()
    facts["busy_before"] = round(busy_share(), 3)
    if facts["busy_before"] > 0.1:
        log(f"WARNING: the CPUs are {facts['busy_before']:.0%} busy before the bench starts: other load skews it")
    log(f"machine: {facts['cpu']}, {facts['cores']} cores, {facts['ram_gib']} GiB, Python {facts['python']}")
    log(f"pinning: {facts['pinning']} (this process on CPU {cpu})")
    rows: list[Row] = []
    broken = False
    for name in chosen:
        log(f"== section {name}")
        section_started = time.monotonic()
        try:
            rows += _run_section(name, args.quick)
        except Exception as exc:  # one broken section must not hide the others' figures
            broken = True
            traceback.print_exc()
            rows.append(Row(name, "section failed", None, "", verdict="FAIL", note=f"{type(exc).__name__}: {exc}"))
        log(f"== section {name} took {time.monotonic() - section_started:.0f} s")
    table = render(rows)
    print(table)
    print(f"\nCPU busy before the run (other load): {facts['busy_before']:.0%}")
    log(f"total {time.monotonic() - started:.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"facts": facts, "rows": [dataclasses.asdict(r) for r in rows]}, out, indent=2)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
