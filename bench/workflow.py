"""3. A whole workflow in-process on a manual clock, and 10,000 resident sessions with a draft each.

The workflow is what an integration test does: token, session, upload of a small real MP4, a generation turn,
an edit turn, the state, a render start, polls until it completes, and the download of the result. The
emulator runs in this process behind ``StreamingASGITransport`` with its clock frozen (time scale 0); a
concurrent task jumps the clock from one pending deadline to the next while a turn streams, and each poll
moves it 30 s, so nothing ever waits for real time.

The resident-session count runs in a fresh interpreter (``python -m bench.workflow --resident N``) so its RSS is
the emulator's alone: N sessions, each given its draft by a real generation turn, then VmRSS after a full
collection, beside the same process before the sessions existed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import typing

from ._common import ROOT, Row, log, median, server_cpu, status_kib, taskset_prefix

__all__ = ["run"]

BASE = "http://emulator.bench"
SKILL = {"X-Skill-Source": "video-to-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}

if typing.TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from mock_server._emulator import Emulator


def _clip() -> bytes:
    sys.path.insert(0, str(ROOT))
    from tests.clips import make_mp4

    with tempfile.TemporaryDirectory() as folder:
        return make_mp4(pathlib.Path(folder) / "clip.mp4", width=64, height=48, duration=1.0).read_bytes()


def _client(app: Starlette) -> httpx.AsyncClient:
    import httpx

    from nemo_contract.testing import StreamingASGITransport

    return httpx.AsyncClient(transport=StreamingASGITransport(app), base_url=BASE, headers=SKILL, timeout=30)


async def _turn(
    client: httpx.AsyncClient, emulator: Emulator, auth: dict[str, str], session_id: str, text: str
) -> bytes:
    """Stream one turn to its end while the clock jumps from deadline to deadline (autojump)."""
    from nemo_contract.protocol.shapes import turn_request

    headers = {**auth, "Accept": "text/event-stream"}
    body = turn_request(session_id, text)
    with emulator.clock.autojumping():
        async with client.stream("POST", "/run_sse", json=body, headers=headers) as response:
            if response.status_code != 200:
                raise RuntimeError(f"/run_sse answered {response.status_code}")
            return b"".join([chunk async for chunk in response.aiter_raw()])


async def _token(client: httpx.AsyncClient, client_id: str) -> dict[str, str]:
    response = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['data']['token']}"}


async def _session(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    response = await client.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "bench"}, headers=auth)
    response.raise_for_status()
    session_id: str = response.json()["data"]["session_id"]
    return session_id


async def workflow(client: httpx.AsyncClient, emulator: Emulator, clip: bytes, index: int) -> dict[str, float]:
    """The whole workflow once; returns the time of each step (seconds) and ``total``."""
    marks: dict[str, float] = {}
    started = last = time.perf_counter()

    def mark(step: str) -> None:
        nonlocal last
        now = time.perf_counter()
        marks[step] = now - last
        last = now

    auth = await _token(client, f"bench-workflow-{index}")
    mark("token")
    session_id = await _session(client, auth)
    mark("session")
    upload = await client.post(
        f"/api/upload-video/nemo_agent/me/{session_id}",
        files=[("files", ("clip.mp4", clip, "video/mp4"))],
        headers=auth,
    )
    upload.raise_for_status()
    mark("upload")
    await _turn(client, emulator, auth, session_id, "generate a 10-second promo video with music")
    mark("generation")
    await _turn(client, emulator, auth, session_id, 'add title "Hello"')
    mark("edit")
    state = await client.get(f"/api/state/nemo_agent/me/{session_id}/latest", headers=auth)
    state.raise_for_status()
    draft = state.json()["data"]["state"]["draft"]
    render_id = f"render_bench_{index}"
    body = {"id": render_id, "sessionId": session_id, "draft": draft, "output": {"format": "mp4", "quality": "high"}}
    start = await client.post("/api/render/proxy/lambda", json=body, headers=auth)
    start.raise_for_status()
    mark("export")
    polls = 0
    while True:
        polls += 1
        poll = (await client.get(f"/api/render/proxy/lambda/{render_id}", headers=auth)).json()
        if poll["status"] in ("completed", "failed"):
            break
        emulator.clock.advance(30)
    if poll["status"] != "completed":
        raise RuntimeError(f"render failed: {poll}")
    mark("polls")
    video = await client.get(poll["output"]["url"])
    video.raise_for_status()
    if video.content[4:8] != b"ftyp":
        raise RuntimeError("the download is not an MP4")
    mark("download")
    marks["total"] = time.perf_counter() - started
    marks["polls_count"] = polls
    return marks


async def _workflows(runs: int) -> tuple[list[dict[str, float]], dict[str, float]]:
    from mock_server import create_app

    clip = _clip()
    app = create_app(seed=1, time_scale=0.0)
    emulator: Emulator = app.state.emulator
    try:
        async with _client(app) as client:
            first = await workflow(client, emulator, clip, 0)  # imports PyAV, encodes the first GOP, warms caches
            results = [await workflow(client, emulator, clip, i) for i in range(1, runs + 1)]
    finally:
        emulator.close()
    return results, first


# -- resident sessions (run in a fresh interpreter) -------------------------------------------------------------


async def _resident(count: int, batch: int) -> dict[str, float]:
    from mock_server import create_app
    from nemo_contract.protocol.shapes import turn_request

    app = create_app(seed=2, time_scale=0.0, config={"initial_credits": 10**9})
    emulator: Emulator = app.state.emulator
    pid = os.getpid()
    try:
        async with _client(app) as client:
            auth = await _token(client, "bench-resident")
            warm = await _session(client, auth)
            await _turn(client, emulator, auth, warm, "generate a promo video with music")
            gc.collect()
            before = status_kib(pid)["VmRSS"]
            started = time.perf_counter()
            made = 0
            while made < count:
                size = min(batch, count - made)
                sessions = [await _session(client, auth) for _ in range(size)]
                headers = {**auth, "Accept": "text/event-stream"}
                text = "generate a promo video with music"
                streams = [
                    client.stream("POST", "/run_sse", json=turn_request(sid, text), headers=headers) for sid in sessions
                ]
                responses = [await stream.__aenter__() for stream in streams]
                # Every turn of the batch has started: one jump past their ends lets them all run to completion.
                emulator.clock.advance(1000)
                await asyncio.gather(*(r.aread() for r in responses))
                for stream in streams:
                    await stream.__aexit__(None, None, None)
                made += size
            elapsed = time.perf_counter() - started
            drafts = sum(1 for s in emulator.store.sessions.values() if s.state.get("draft"))
            gc.collect()
            after = status_kib(pid)
    finally:
        emulator.close()
    return {
        "before_kib": before,
        "after_kib": after["VmRSS"],
        "hwm_kib": after["VmHWM"],
        "sessions": len(emulator.store.sessions) - 1,
        "drafts": drafts - 1,
        "seconds": elapsed,
    }


def _fresh(*args: str) -> dict[str, typing.Any]:
    """Run ``python -m bench.workflow ARGS`` in a fresh interpreter on the server CPU; its JSON answer."""
    command = [*taskset_prefix(server_cpu()), sys.executable, "-m", "bench.workflow", *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=540, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python -m bench.workflow {' '.join(args)} failed: {done.stderr[-400:]}")
    found: dict[str, typing.Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def run(*, runs: int = 30, resident: int = 10_000) -> list[Row]:
    section = "3 workflow"
    log(f"workflow: {runs} in-process workflows on a manual clock after one warm-up (fresh interpreter)")
    timed = _fresh("--runs", str(runs))
    results, first = timed["runs"], timed["first"]
    totals = [r["total"] * 1000 for r in results]
    steps = [k for k in results[0] if k not in ("total", "polls_count")]
    per_step = ", ".join(f"{k} {median([r[k] * 1000 for r in results]):.1f}" for k in steps)
    slowest = max(results, key=lambda r: r["total"])
    slow_steps = ", ".join(f"{k} {slowest[k] * 1000:.1f}" for k in steps)
    note = (
        f"{runs} runs after one warm-up: median {median(totals):.1f} ms; median per step (ms): {per_step}; "
        f"the slowest run's steps: {slow_steps}; "
        f"GC pauses over 5 ms during the runs: {timed['gc_pauses'] or 'none'}"
    )
    rows = [
        Row.below(section, "whole workflow, slowest of runs", max(totals), "ms", 50, target="< 50 ms each", note=note)
    ]
    cold_steps = ", ".join(f"{k} {first[k] * 1000:.0f}" for k in steps)
    rows.append(
        Row(
            section,
            "first workflow in a fresh process (cold)",
            first["total"] * 1000,
            "ms",
            note=f"one-time costs, not in the row above; steps (ms): {cold_steps}",
        )
    )
    log(f"workflow: {resident:,} resident sessions with a draft each (fresh interpreter)")
    data = _fresh("--resident", str(resident))
    after_mb, before_mb = data["after_kib"] / 1024, data["before_kib"] / 1024
    per_session = (data["after_kib"] - data["before_kib"]) / max(data["sessions"], 1)
    rows.append(
        Row(
            section,
            f"RSS with {resident:,} sessions + drafts",
            after_mb,
            "MiB",
            before_mb,
            "same process, no sessions",
            "< 200 MB",
            "PASS" if after_mb * 1024 * 1024 < 200e6 else "MISS",
            f"{per_session:.1f} KiB per session; {data['drafts']:,} drafts made by real generation turns "
            f"in {data['seconds']:.0f} s; peak {data['hwm_kib'] / 1024:.0f} MiB",
        )
    )
    return rows


def _timed_runs(runs: int) -> dict[str, typing.Any]:
    pauses: list[float] = []
    started: list[float] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started and (pause := time.perf_counter() - started[0]) > 0.005:
            pauses.append(round(pause * 1000, 1))

    gc.callbacks.append(watch)
    try:
        results, first = asyncio.run(_workflows(runs))
    finally:
        gc.callbacks.remove(watch)
    return {"runs": results, "first": first, "gc_pauses": pauses}


def main(argv: typing.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workflow")
    parser.add_argument("--runs", type=int, help="time this many whole workflows")
    parser.add_argument("--resident", type=int, help="measure RSS with this many sessions and drafts")
    parser.add_argument("--batch", type=int, default=250)
    args = parser.parse_args(argv)
    if args.runs:
        print(json.dumps(_timed_runs(args.runs)))
    if args.resident:
        print(json.dumps(asyncio.run(_resident(args.resident, args.batch))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
