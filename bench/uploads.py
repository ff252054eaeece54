"""4. A 500 MiB upload to a live emulator, the refusal of a 501 MiB one from its Content-Length alone, and three
PNG "bombs" uploaded at once.

The body is generated while it is sent, never held: a small real MP4 (so the emulator's probe reads real
metadata) followed by a ``free`` box of zeros that brings the file to exactly 500 MiB, the limit, inside one
multipart part. The server's peak RSS is reset (``/proc/<pid>/clear_refs``) after a small warm-up upload, and
VmHWM after the upload, minus VmRSS before it, is the peak growth the upload caused.

The refusal sends only the request head, declaring the Content-Length of a 501 MiB file in the same multipart
framing, and times from the head's last byte to the 413 response's last byte. No body byte is ever sent, so a
server that waited for the body would never answer.

The bombs: three valid 16000x16000 RGBA PNGs of under 1 MB each (``tests/clips.png_bomb``: black pixels that
inflate to 1 GB), sent at the same moment on three connections after a warm-up upload of a small PNG and a reset
of the peak RSS; VmHWM after all three answers, minus VmRSS before, is the peak growth they caused. A probe that
decoded them (FFmpeg's stream-info pass does) would grow by about 1 GB for each one it held at once.
"""

from __future__ import annotations

import json
import pathlib
import socket
import sys
import tempfile
import threading
import time

from ._common import ROOT, Row, Server, free_port, log, median, mock_command, post_json, reset_peak, status_kib

__all__ = ["run"]

MIB = 1024 * 1024
BOUNDARY = "nemo-bench-7f3a9c"
CHUNK = MIB


def _clip() -> bytes:
    sys.path.insert(0, str(ROOT))
    from tests.clips import make_mp4

    with tempfile.TemporaryDirectory() as folder:
        return make_mp4(pathlib.Path(folder) / "clip.mp4", width=64, height=48, duration=1.0).read_bytes()


def _png_bomb(width: int, height: int) -> bytes:
    sys.path.insert(0, str(ROOT))
    from tests.clips import png_bomb

    return png_bomb(width, height)


def _send_file(port: int, token: str, session_id: str, filename: str, data: bytes) -> tuple[int, bytes]:
    """One multipart upload of ``data`` named ``filename``; (status, body)."""
    preamble, epilogue = _framing(filename)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_head(port, token, session_id, len(preamble) + len(data) + len(epilogue)) + preamble)
        sock.sendall(data + epilogue)
        return _read_response(sock)


class _Peak:
    """A server's peak RSS growth from a point on: VmHWM is reset to VmRSS there when the kernel allows it (else the
    growth is against the earlier peak, and ``caveat`` says so)."""

    def __init__(self, pid: int, warm_up: tuple[int, bytes], what: str) -> None:
        """Start after a warm-up upload (``warm_up``: its status and body), which must have been accepted."""
        status, body = warm_up
        if status != 200:
            raise RuntimeError(f"{what} answered {status}: {body[:200]!r}")
        time.sleep(0.5)
        self.pid = pid
        self.was_reset = reset_peak(pid)
        self.before = status_kib(pid)
        self.caveat = "" if self.was_reset else "; VmHWM could not be reset: growth is against the earlier peak"

    def growth(self) -> tuple[dict[str, int], float]:
        """(the server's Vm* figures now, the peak growth in MiB)."""
        after = status_kib(self.pid)
        since = self.before["VmRSS"] if self.was_reset else self.before["VmHWM"]
        return after, (after["VmHWM"] - since) / 1024


def _bombs(server: Server, port: int, token: str, session_id: str, count: int = 3) -> Row:
    """``count`` 16000x16000 PNG bombs uploaded at the same moment; the server's peak RSS growth."""
    bomb, small = _png_bomb(16000, 16000), _png_bomb(64, 48)
    # the warm-up runs the probe's code paths
    peak = _Peak(server.pid, _send_file(port, token, session_id, "small.png", small), "warm-up PNG upload")
    before = peak.before
    log(f"uploads: {count} PNG bombs of {len(bomb) / 1024:.0f} KiB at once (RSS {before['VmRSS'] / 1024:.0f} MiB)")
    answers: list[tuple[int, bytes]] = []
    start = threading.Barrier(count)

    def send(index: int) -> None:
        start.wait()
        answers.append(_send_file(port, token, session_id, f"bomb{index}.png", bomb))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    after, growth = peak.growth()
    statuses = sorted(status for status, _ in answers)
    codes = sorted({json.loads(body).get("code") for _, body in answers})
    log(f"uploads: bombs answered {statuses} in {seconds:.2f} s; peak growth {growth:.1f} MiB")
    return Row(
        "4 uploads",
        f"{count} PNG bombs (16000x16000) at once: peak RSS growth",
        growth,
        "MiB",
        target="< 64 MB",
        verdict="PASS" if growth * MIB < 64e6 else "MISS",
        note=f"{len(bomb)} bytes each; statuses {statuses}, codes {codes}, all answered in {seconds:.2f} s; "
        f"RSS {before['VmRSS'] / 1024:.0f} -> peak {after['VmHWM'] / 1024:.0f} MiB{peak.caveat}",
    )


def _framing(filename: str) -> tuple[bytes, bytes]:
    preamble = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    return preamble, f"\r\n--{BOUNDARY}--\r\n".encode()


def _head(port: int, token: str, session_id: str, length: int) -> bytes:
    return (
        f"POST /api/upload-video/nemo_agent/me/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response with a Content-Length; (status, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(x.split(":", 1)[1]) for x in lines[1:] if x.lower().startswith("content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the end of the response body")
        body += chunk
    return status, body[:length]


def _upload(port: int, token: str, session_id: str, clip: bytes, file_size: int) -> tuple[int, bytes, float]:
    """Stream one multipart upload of ``file_size`` file bytes; (status, body, seconds)."""
    preamble, epilogue = _framing("big.mp4" if file_size > len(clip) else "clip.mp4")
    padding = file_size - len(clip)
    first = clip if padding <= 0 else clip + padding.to_bytes(4, "big") + b"free"
    zeros = bytes(CHUNK)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_head(port, token, session_id, len(preamble) + file_size + len(epilogue)) + preamble + first)
        left = file_size - len(first)
        while left > 0:
            piece = zeros if left >= CHUNK else zeros[:left]
            sock.sendall(piece)
            left -= len(piece)
        sock.sendall(epilogue)
        status, body = _read_response(sock)
    return status, body, time.perf_counter() - started


def _refuse(port: int, token: str, session_id: str, declared_file: int) -> tuple[int, float, bytes]:
    """Send only the head of a ``declared_file``-byte upload; (status, seconds to the whole answer, body)."""
    preamble, epilogue = _framing("too-big.mp4")
    head = _head(port, token, session_id, len(preamble) + declared_file + len(epilogue))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        sock.sendall(head)
        status, body = _read_response(sock)
        elapsed = time.perf_counter() - started
    return status, elapsed, body


class _Sampler(threading.Thread):
    """Samples a process's VmRSS every few milliseconds (a cross-check of VmHWM)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, status_kib(self.pid)["VmRSS"])
            self.stopped.wait(0.005)


def run(*, refusals: int = 20) -> list[Row]:
    section = "4 uploads"
    from nemo_contract.protocol import MAX_UPLOAD_BYTES

    clip = _clip()
    port = free_port()
    with Server.start(
        "emulator-uploads", mock_command("--port", str(port)), port, ready_path="/__mock__/health"
    ) as server:
        token = str(post_json(server.url, "/api/auth/anonymous-token", None, {"X-Client-Id": "bench-uploads"})["token"])
        auth = {"Authorization": f"Bearer {token}"}
        path = "/api/tasks/me/with-session/nemo_agent"
        session_id = str(post_json(server.url, path, {"task_name": "uploads"}, auth)["session_id"])

        status, body, _ = _upload(port, token, session_id, clip, len(clip))  # warm-up: loads PyAV, the parser
        peak = _Peak(server.pid, (status, body), "warm-up upload")
        before = peak.before
        log(f"uploads: streaming a {MAX_UPLOAD_BYTES // MIB} MiB upload (server RSS {before['VmRSS'] / 1024:.0f} MiB)")
        sampler = _Sampler(server.pid)
        sampler.start()
        status, body, seconds = _upload(port, token, session_id, clip, MAX_UPLOAD_BYTES)
        sampler.stopped.set()
        sampler.join()
        after, growth = peak.growth()
        info = json.loads(body)["data"]["files"][0] if status == 200 else {}
        log(f"uploads: {status} in {seconds:.1f} s; peak growth {growth:.1f} MiB")

        over = MAX_UPLOAD_BYTES + MIB  # a 501 MiB file: its multipart body is over 501 MiB
        times, statuses = [], set()
        _refuse(port, token, session_id, over)  # warm-up
        for _ in range(refusals):
            code, elapsed, answer = _refuse(port, token, session_id, over)
            statuses.add(code)
            times.append(elapsed * 1000)
        refusal_code = json.loads(answer).get("code")
        bombs = _bombs(server, port, token, session_id)

    rows = [
        Row(
            section,
            "500 MiB upload: peak RSS growth",
            growth,
            "MiB",
            target="< 32 MB",
            verdict="PASS" if status == 200 and growth * MIB < 32e6 else "MISS",
            note=f"status {status}, {MAX_UPLOAD_BYTES / MIB / seconds:.0f} MiB/s, probe saw "
            f"{info.get('width')}x{info.get('height')} {info.get('duration')} s; RSS {before['VmRSS'] / 1024:.0f} -> "
            f"peak {after['VmHWM'] / 1024:.0f} MiB (sampled peak {sampler.peak / 1024:.0f} MiB){peak.caveat}",
        ),
        Row(
            section,
            "501 MiB declared: time to 413",
            max(times),
            "ms",
            target="< 10 ms",
            verdict="PASS" if statuses == {413} and max(times) < 10 else "MISS",
            note=f"slowest of {refusals}; median {median(times):.2f} ms; statuses {sorted(statuses)}, "
            f"code {refusal_code}; no body byte sent",
        ),
        bombs,
    ]
    return rows
