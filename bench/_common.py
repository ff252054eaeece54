"""What every benchmark section shares: result rows, CPU pinning, child servers, memory readings."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import typing
import urllib.error
import urllib.request

__all__ = [
    "BENCH_DIR",
    "OUT_DIR",
    "ROOT",
    "Row",
    "Server",
    "client_cpu",
    "cpu_seconds",
    "fmt",
    "free_port",
    "log",
    "median",
    "mock_command",
    "percentile",
    "pin_self",
    "post_json",
    "raise_nofile",
    "server_cpu",
    "status_kib",
    "taskset_prefix",
    "tree_command",
]

BENCH_DIR = pathlib.Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
#: Everything a run writes or installs (ignored by git): tools, generated files, logs.
OUT_DIR = BENCH_DIR / "out"

Verdict = typing.Literal["PASS", "MISS", "INFO", "SKIP", "FAIL"]


@dataclasses.dataclass(slots=True)
class Row:
    """One line of the table: our figure beside its baseline, and how it compares with the target."""

    section: str
    metric: str
    ours: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    verdict: Verdict = "INFO"
    note: str = ""
    #: When set, the ratio shown (the median of per-round ratios, which pairs runs taken side by side).
    paired_ratio: float | None = None

    @classmethod
    def below(
        cls,
        section: str,
        metric: str,
        ours: float | None,
        unit: str,
        limit: float,
        *,
        target: str = "",
        baseline: float | None = None,
        baseline_name: str = "",
        note: str = "",
    ) -> Row:
        """A row whose figure passes when it is under ``limit`` (in ``unit``; no figure is a miss); the target
        reads ``< limit unit`` unless ``target`` says it otherwise."""
        return cls(
            section,
            metric,
            ours,
            unit,
            baseline=baseline,
            baseline_name=baseline_name,
            target=target or f"< {limit:g} {unit}",
            verdict="PASS" if ours is not None and ours < limit else "MISS",
            note=note,
        )

    @property
    def ratio(self) -> float | None:
        if self.paired_ratio is not None:
            return self.paired_ratio
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline


def log(message: str) -> None:
    """Progress goes to standard error; the table alone goes to standard output."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if value == 0:
        text = "0"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def median(values: typing.Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: typing.Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank: the value below which q % of the samples fall."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


# -- CPUs ------------------------------------------------------------------------------------------------------


#: The CPUs this process may use when the bench starts, before it pins itself to the client CPU.
_CPUS = sorted(os.sched_getaffinity(0))


def _cpus() -> list[int]:
    return _CPUS


def server_cpu() -> int | None:
    """The CPU the servers get (the second one), or None on a one-core machine (no pinning then)."""
    cpus = _cpus()
    return cpus[1] if len(cpus) >= 2 else None


def client_cpu() -> int | None:
    cpus = _cpus()
    return cpus[0] if len(cpus) >= 2 else None


def taskset_prefix(cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


def pin_self() -> int | None:
    """Pin this process (the load generators and in-process runs) to the client CPU."""
    cpu = client_cpu()
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    return cpu


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit (children inherit it); returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            if os.geteuid() == 0:  # root may raise the hard limit too
                with contextlib.suppress(ValueError, OSError):
                    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- memory ----------------------------------------------------------------------------------------------------


def status_kib(pid: int) -> dict[str, int]:
    """The Vm* lines of /proc/<pid>/status, in KiB (VmRSS: resident now; VmHWM: the peak so far)."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Vm"):
                name, _, value = line.partition(":")
                found[name] = int(value.split()[0])
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (writing 5 to clear_refs); False when the kernel does not allow it."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


# -- servers ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mock_command(*args: str) -> list[str]:
    """``nemo-mock serve ...`` as installed beside this interpreter (the module form if the script is missing).

    With ``NEMO_BENCH_TREE=/some/checkout`` set, the emulator is that tree's ``mock_server`` instead: how a
    change is measured before and after (the same bench, the old code).
    """
    tree = os.environ.get("NEMO_BENCH_TREE")
    if tree:
        return tree_command(tree, "serve", *args)
    args = ("--quiet", *args)  # no line per request: the bench measures serving, not a terminal
    script = pathlib.Path(sys.executable).parent / "nemo-mock"
    if script.exists():
        return [str(script), "serve", *args]
    return [sys.executable, "-m", "mock_server", "serve", *args]


def tree_command(tree: str, *args: str) -> list[str]:
    """``nemo-mock ARGS`` run from the ``mock_server`` package in folder ``tree`` (first on sys.path, ahead of
    the working directory and the installed project)."""
    code = f"import sys; sys.path.insert(0, {tree!r}); from mock_server._cli import main; sys.exit(main())"
    return [sys.executable, "-c", code, *args]


def post_json(base: str, path: str, body: dict[str, object] | None, headers: dict[str, str]) -> dict[str, object]:
    """POST a JSON body (or none) and return the envelope's ``data``."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST", headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        found: dict[str, object] = json.load(response)["data"]
        return found


def get_status(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> int | None:
    """The HTTP status of a GET, or None when nothing answered."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


@dataclasses.dataclass
class Server:
    """A server in a child process, pinned to the server CPU, stopped with SIGTERM (then SIGKILL)."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: pathlib.Path

    @classmethod
    def start(
        cls,
        name: str,
        command: list[str],
        port: int,
        *,
        ready_path: str,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
        cpu: int | None = None,
        ready_headers: dict[str, str] | None = None,
    ) -> Server:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        log_path = OUT_DIR / f"{name}.log"
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(
                [*taskset_prefix(server_cpu() if cpu is None else cpu), *command],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        server = cls(name, process, f"http://127.0.0.1:{port}", log_path)
        deadline = time.monotonic() + timeout
        while get_status(server.url + ready_path, timeout=1.0, headers=ready_headers) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} did not start: {tail}")
            time.sleep(0.05)
        return server

    @property
    def pid(self) -> int:
        """The server's own pid (taskset execs the command, so the child's pid is the server's)."""
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
