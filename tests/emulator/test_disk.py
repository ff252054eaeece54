"""mock_server._disk: the emulator's files live in a folder of its own, leftovers are swept, sessions expire."""

from __future__ import annotations

import pathlib
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from mock_server import create_app
from mock_server._disk import OWN_FOLDER, Disk, DiskFull
from mock_server._emulator import Emulator
from nemo_contract.testing import StreamingASGITransport

from ..clips import make_mp4, make_png
from ..helpers import BASE, SKILL_HEADERS, START, new_session, new_token, one_clip_draft

pytestmark = pytest.mark.anyio


def _tree(root: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _user_folders(root: pathlib.Path) -> list[pathlib.Path]:
    """Folders of the names the emulator once used directly under the data dir, holding someone's files."""
    made = []
    for name in ("uploads", "renders", "generated"):
        (root / name).mkdir(parents=True)
        (root / name / "mine.txt").write_text("not the emulator's")
        made.append(root / name / "mine.txt")
    return made


async def test_reset_and_stop_delete_only_the_emulators_own_files(tmp_path: pathlib.Path) -> None:
    theirs = _user_folders(tmp_path)
    app = create_app(seed=7, time_scale=0, clock_start=START, data_dir=tmp_path)
    emulator: Emulator = app.state.emulator
    (tmp_path / "elsewhere").mkdir()
    png = make_png(tmp_path / "elsewhere" / "logo.png").read_bytes()
    async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url=BASE, headers=SKILL_HEADERS) as http:
        token, _ = await new_token(http)
        sid = await new_session(http, token)
        auth = {"Authorization": f"Bearer {token}"}
        upload = await http.post(
            f"/api/upload-video/nemo_agent/me/{sid}", files={"files": ("l.png", png)}, headers=auth
        )
        assert upload.status_code == 200
        (stored,) = emulator.store.uploads.values()
        assert stored.path.is_relative_to(tmp_path / OWN_FOLDER)
        render = {"id": "r", "sessionId": sid, "draft": one_clip_draft()}
        assert (await http.post("/api/render/proxy/lambda", json=render, headers=auth)).status_code == 200
        emulator.clock.advance(100)
        url = (await http.get("/api/render/proxy/lambda/r", headers=auth)).json()["output"]["url"]
        assert len([p for p in emulator.disk.area.folder.rglob("*") if p.is_file()]) == 2  # the upload, the MP4
        assert (await http.post("/__mock__/reset")).status_code == 200
        assert not stored.path.exists()
        assert [p for p in emulator.disk.area.folder.rglob("*") if p.is_file()] == []
        assert (await http.get(upload.json()["data"]["files"][0]["cdn_url"])).status_code == 404
        assert (await http.get(url)).status_code == 404
    assert all(path.read_text() == "not the emulator's" for path in theirs)
    emulator.close()
    assert not (tmp_path / OWN_FOLDER).exists()
    assert _tree(tmp_path) == sorted(
        [
            "elsewhere",
            "elsewhere/logo.png",
            *[f"{n}{s}" for n in ("generated", "renders", "uploads") for s in ("", "/mine.txt")],
        ]
    )


def test_a_start_sweeps_what_a_dead_run_left_and_spares_a_live_one(tmp_path: pathlib.Path) -> None:
    dead = tmp_path / OWN_FOLDER / "run-0123456789abcdef"
    (dead / "0" / "uploads").mkdir(parents=True)
    (dead / "0" / "uploads" / "partial.mp4").write_bytes(b"x" * 1000)
    (dead / "0" / "renders").mkdir()
    (dead / "0" / "renders" / ".640x360_2500ms_25fps.mp4.1f2e.part").write_bytes(b"x" * 10)
    live = Disk(tmp_path, max_bytes=10**6)
    assert live.swept == [dead] and not dead.exists()
    (live.area.uploads / "arriving.mp4").write_bytes(b"y")
    second = Disk(tmp_path, max_bytes=10**6)  # another emulator on the same data dir, at the same time
    assert second.swept == []
    assert (live.area.uploads / "arriving.mp4").exists()
    live.close()
    assert not live.run.exists() and second.run.exists()
    second.close()
    assert not (tmp_path / OWN_FOLDER).exists()


def test_the_cap_counts_what_is_written_and_freed(tmp_path: pathlib.Path) -> None:
    disk = Disk(tmp_path, max_bytes=100)
    try:
        area = disk.area
        area.charge(60)
        with pytest.raises(DiskFull, match="cap of 100 bytes"):
            area.charge(41)
        assert area.used == 60
        area.release(60)
        area.charge(100)
        path = area.generated / "out.bin"

        def make(target: pathlib.Path) -> None:
            target.write_bytes(b"z")

        with pytest.raises(DiskFull):
            area.ensure_file(path, make)
        assert not path.exists()
        disk.renew()
        assert disk.area.used == 0 and not area.folder.exists()
        assert disk.area.ensure_file(path.parent.parent.parent / "1" / "generated" / "out.bin", make) == 1
    finally:
        disk.close()


async def test_an_idle_session_expires_with_its_files(
    client: httpx.AsyncClient, emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    await client.put("/__mock__/config", json={"token_lifetime": 3600})
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    auth = {"Authorization": f"Bearer {token}"}
    draft = one_clip_draft()
    png = make_png(tmp_path / "logo.png").read_bytes()
    upload = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", files={"files": ("l.png", png)}, headers=auth)
    await client.post("/api/render/proxy/lambda", json={"id": "r", "sessionId": sid, "draft": draft}, headers=auth)
    emulator.clock.advance(100)
    url = (await client.get("/api/render/proxy/lambda/r", headers=auth)).json()["output"]["url"]
    files = sorted(p.name for p in emulator.disk.area.folder.rglob("*") if p.is_file())
    assert len(files) == 2
    emulator.clock.advance(3400)  # used again within the lifetime: alive, and its idle time starts afresh
    assert (await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)).status_code == 200
    emulator.clock.advance(3600)
    token, _ = await new_token(client)  # the same client: a new token for the same user
    auth = {"Authorization": f"Bearer {token}"}
    gone = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)
    assert (gone.status_code, gone.json()["code"], gone.json()["message"]) == (404, 1002, "session expired")
    assert [p for p in emulator.disk.area.folder.rglob("*") if p.is_file()] == []
    assert emulator.disk.area.used == 0
    assert (await client.get(upload.json()["data"]["files"][0]["cdn_url"])).status_code == 404
    assert (await client.get(url)).status_code == 404
    assert (await client.get("/api/render/proxy/lambda/r", headers=auth)).status_code == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(data_dir: pathlib.Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("nemo-mock: serving"), process.stderr.read() if process.stderr else ""
    return process


@pytest.mark.live
def test_a_restart_after_kill_9_mid_upload_sweeps_the_partial_file_and_serves_nothing_old(
    tmp_path: pathlib.Path,
) -> None:
    port = _free_port()
    first = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            old = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same"}).json()["data"]
            auth = {"Authorization": f"Bearer {old['token']}"}
            sid = http.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth)
            session_id = sid.json()["data"]["session_id"]
            clip = make_mp4(tmp_path / "clip.mp4").read_bytes()
            done = http.post(
                f"/api/upload-video/nemo_agent/me/{session_id}", files={"files": ("c.mp4", clip)}, headers=auth
            )
            old_url = done.json()["data"]["files"][0]["cdn_url"]
        # Half an upload, then the server is killed: its file stays half-written.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.mp4"\r\n\r\n' + bytes(6 << 20)
            sock.sendall(
                f"POST /api/upload-video/nemo_agent/me/{session_id} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {old['token']}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {10 << 20}\r\n\r\n".encode()
                + part
            )
            deadline = time.monotonic() + 10
            while sum(p.stat().st_size for p in (tmp_path / OWN_FOLDER).rglob("*.mp4")) < len(clip) + (2 << 20):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)
    left = [p for p in (tmp_path / OWN_FOLDER).rglob("*") if p.is_file() and p.name != ".lock"]
    assert len(left) == 2  # the finished upload and the partial one
    second = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            new = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same"}).json()["data"]
            assert new["token"] != old["token"] and new["user_id"] != old["user_id"]
            assert http.get(httpx.URL(old_url).path).status_code == 404
        assert [p for p in (tmp_path / OWN_FOLDER).rglob("*") if p.is_file() and p.name != ".lock"] == []
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=15)
    assert second.returncode == 0
    assert not (tmp_path / OWN_FOLDER).exists()
