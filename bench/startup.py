"""5. Start-up: ``nemo-mock serve`` from spawn to its first 200, and the import of the package.

Each run spawns a fresh server on the server CPU and polls ``GET /__mock__/health`` over a raw socket every
2 ms from the client CPU; the figure is the median from ``Popen`` to the first 200. The bare Starlette app
started the same way is the baseline. Import time is measured inside a fresh interpreter around
``import nemo_contract, mock_server`` (median of several), beside the imports the bare app needs, and
``python -X importtime -c "import mock_server"`` names the heaviest modules.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from ._common import ROOT, Row, free_port, log, median, mock_command, server_cpu, taskset_prefix

__all__ = ["run"]

_PROBE = b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _status(port: int) -> int | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(_PROBE)
            head = sock.recv(64)
    except OSError:
        return None
    try:
        return int(head.split()[1])
    except (IndexError, ValueError):
        return None


def _time_to_200(command: list[str], port: int, timeout: float = 20.0) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [*taskset_prefix(server_cpu()), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        while _status(port) != 200:
            if process.poll() is not None or time.perf_counter() - started > timeout:
                raise RuntimeError(f"{command[0]} did not answer 200 (exit {process.poll()})")
            time.sleep(0.002)
        return time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    done = subprocess.run(
        [*taskset_prefix(server_cpu()), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return float(done.stdout.strip())


def _heaviest(count: int = 5) -> tuple[float, str]:
    """(cumulative ms of mock_server, the ``count`` modules with the largest self time)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import mock_server"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    rows = []
    total = 0.0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        rows.append((int(self_us), name))
        if name == "mock_server":
            total = int(cumulative) / 1000
    rows.sort(reverse=True)
    return total, ", ".join(f"{name} {us / 1000:.0f}" for us, name in rows[:count])


def run(*, runs: int = 7) -> list[Row]:
    section = "5 start-up"
    log(f"start-up: {runs} spawns of nemo-mock serve and of the bare app, to the first 200")
    ours, bare = [], []
    for _ in range(runs):
        port = free_port()
        ours.append(_time_to_200(mock_command("--port", str(port)), port) * 1000)
        port = free_port()
        bare.append(_time_to_200([sys.executable, "-m", "bench.baseline_app", "--port", str(port)], port) * 1000)
    log("start-up: import times")
    for _ in range(2):  # fill the OS page cache and the bytecode caches before timing
        _import_seconds("import nemo_contract, mock_server")
    imports = [_import_seconds("import nemo_contract, mock_server") * 1000 for _ in range(runs)]
    bare_imports = [_import_seconds("import bench.baseline_app, uvicorn") * 1000 for _ in range(runs)]
    cumulative, heaviest = _heaviest()
    return [
        Row(
            section,
            "nemo-mock serve: spawn to first 200",
            median(ours),
            "ms",
            median(bare),
            "bare app, same way",
            "< 1 s",
            "PASS" if median(ours) < 1000 else "MISS",
            f"median of {runs}; slowest {max(ours):.0f} ms",
        ),
        Row(
            section,
            "import nemo_contract, mock_server",
            median(imports),
            "ms",
            median(bare_imports),
            "import starlette app + uvicorn",
            "< 300 ms",
            "PASS" if median(imports) < 300 else "MISS",
            f"median of {runs} fresh interpreters; -X importtime: mock_server {cumulative:.0f} ms cumulative; "
            f"largest self times (ms): {heaviest}",
        ),
    ]
