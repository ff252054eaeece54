"""POST /api/upload-video/...: multipart and URL uploads through the emulator, and the files they serve."""

from __future__ import annotations

import hashlib
import pathlib
import time
import typing

import anyio
import httpx
import pytest

from mock_server._emulator import Emulator
from nemo_contract.protocol import MAX_UPLOAD_BYTES
from nemo_contract.testing import Emulated

from ..clips import make_mov, make_mp4, make_png, make_wav, png_bomb
from ..helpers import BASE, SKILL_HEADERS, START, new_session, new_token

pytestmark = pytest.mark.anyio


async def _session(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    token, _ = await new_token(client)
    return {"Authorization": f"Bearer {token}"}, await new_session(client, token)


async def test_multipart_upload_reads_metadata_from_the_container_and_appends_to_video_infos(
    client: httpx.AsyncClient, tmp_path: pathlib.Path
) -> None:
    auth, sid = await _session(client)
    mp4 = make_mp4(tmp_path / "city_timelapse.mp4", width=320, height=180, duration=2.0, fps=25)
    mov = make_mov(tmp_path / "b-roll.mov", width=180, height=320, duration=1.5, fps=30)
    png = make_png(tmp_path / "logo.png", width=32, height=24)
    wav = make_wav(tmp_path / "voice.wav", duration=1.0)
    files: list[tuple[str, tuple[str, typing.Any, str]]] = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in (mp4, mov, png, wav)
    ]
    response = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=auth)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["session_state_applied"] is True
    by_name = {f["filename"]: f for f in data["files"]}
    video = by_name["city_timelapse.mp4"]
    assert (video["file_type"], video["width"], video["height"]) == ("video", 320, 180)
    assert abs(video["duration"] - 2.0) <= 0.1 and abs(video["fps"] - 25) < 0.5
    assert video["hash"] == hashlib.sha256(mp4.read_bytes()).hexdigest()
    assert (by_name["b-roll.mov"]["width"], by_name["b-roll.mov"]["height"]) == (180, 320)
    assert by_name["logo.png"]["file_type"] == "image" and by_name["logo.png"]["duration"] is None
    assert by_name["voice.wav"]["file_type"] == "audio" and by_name["voice.wav"]["width"] is None
    served = await client.get(video["cdn_url"])
    assert served.status_code == 200 and served.content == mp4.read_bytes()
    state = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)
    assert state.json()["data"]["state"]["video_infos"] == data["files"]
    again = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files[:1], headers=auth)
    state = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)
    assert len(state.json()["data"]["state"]["video_infos"]) == 5
    assert again.json()["data"]["files"][0]["cdn_url"] != video["cdn_url"]


async def test_the_file_alias_of_the_files_field(client: httpx.AsyncClient, tmp_path: pathlib.Path) -> None:
    auth, sid = await _session(client)
    clip = make_mp4(tmp_path / "a.mp4")
    response = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", files={"file": ("a.mp4", clip.read_bytes())}, headers=auth
    )
    assert response.json()["data"]["files"][0]["filename"] == "a.mp4"


async def test_url_uploads_get_a_remote_cdn_url_and_default_metadata(client: httpx.AsyncClient) -> None:
    auth, sid = await _session(client)
    body = {"urls": ["https://example.com/media/intro.mp4", "https://example.com/song.mp3"], "source_type": "url"}
    response = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", json=body, headers=auth)
    files = response.json()["data"]["files"]
    assert [(f["filename"], f["file_type"]) for f in files] == [("intro.mp4", "video"), ("song.mp3", "audio")]
    assert files[0]["cdn_url"].startswith("https://") and files[0]["duration"] == 10.0
    assert len(files[0]["hash"]) == 64


@pytest.mark.parametrize(
    "body",
    [
        {"urls": []},
        {"urls": ["x"], "source_type": "file"},
        {"source_type": "url"},
        {"urls": "one", "source_type": "url"},
    ],
)
async def test_bad_url_upload_bodies_get_400(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    auth, sid = await _session(client)
    response = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", json=body, headers=auth)
    assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_unsupported_types_get_4001_with_the_accepted_formats(client: httpx.AsyncClient) -> None:
    auth, sid = await _session(client)
    multipart = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", files={"files": ("notes.txt", b"hello")}, headers=auth
    )
    url = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": ["https://example.com/a.exe"], "source_type": "url"},
        headers=auth,
    )
    for response in (multipart, url):
        assert (response.status_code, response.json()["code"]) == (415, 4001)
        assert "mp4" in response.json()["message"] and "webp" in response.json()["message"]


async def test_a_declared_oversize_upload_gets_4002_before_the_body_is_read(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    auth, sid = await _session(client)
    sent: list[int] = []

    async def body() -> typing.AsyncIterator[bytes]:
        sent.append(1)
        yield b"x" * 10

    response = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        content=body(),
        headers={
            **auth,
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(MAX_UPLOAD_BYTES + 2 * 1024 * 1024),
        },
    )
    assert (response.status_code, response.json()["code"]) == (413, 4002)
    assert sent == []
    assert list(emulator.disk.area.uploads.iterdir()) == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.mp4"\r\n\r\nabc',
        ),
        ("multipart/form-data", b"whatever"),
        ("text/plain", b"hello"),
        ("application/json", b"{broken"),
    ],
)
async def test_broken_uploads_get_400(client: httpx.AsyncClient, content_type: str, body: bytes) -> None:
    auth, sid = await _session(client)
    response = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", content=body, headers={**auth, "Content-Type": content_type}
    )
    assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_upload_to_an_unknown_session_is_1002_and_nothing_is_read(client: httpx.AsyncClient) -> None:
    auth, _ = await _session(client)
    response = await client.post(
        "/api/upload-video/nemo_agent/me/1234567890123456789", files={"files": ("a.mp4", b"x")}, headers=auth
    )
    assert (response.status_code, response.json()["code"]) == (404, 1002)


async def test_unknown_cdn_files_are_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/cdn/uploads/f_nothing/a.mp4")
    assert (response.status_code, response.json()["code"]) == (404, 404)


# ------------------------------------------------------------------------------------------------- hardening


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bomb.png",
            png_bomb(16000, 16000),
            "'bomb.png' is 16000x16000 pixels; the limit is 8192 pixels on each side.",
        ),
        ("fake.mp4", b"hello world\n", "'fake.mp4' is not a video file the emulator can read"),
        ("empty.mp4", b"", "'empty.mp4' is empty."),
    ],
)
async def test_a_file_that_is_not_the_media_its_name_says_is_4001_and_nothing_is_kept(
    client: httpx.AsyncClient, emulator: Emulator, tmp_path: pathlib.Path, name: str, content: bytes, message: str
) -> None:
    auth, sid = await _session(client)
    good = make_mp4(tmp_path / "good.mp4").read_bytes()
    files = [("files", ("good.mp4", good)), ("files", (name, content))]
    response = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=auth)
    assert (response.status_code, response.json()["code"]) == (415, 4001)
    assert response.json()["message"].startswith(message)
    assert list(emulator.disk.area.uploads.iterdir()) == []
    assert emulator.disk.area.used == 0
    state = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)
    assert state.json()["data"]["state"]["video_infos"] == []


@pytest.mark.parametrize(
    ("host", "stored"),
    [
        ("evil.example:666", "http://evil.example:666"),  # a valid host: the emulator answers to many names
        ("[::1]:8000", "http://[::1]:8000"),
        ("%00", "http://emulator.test"),
        ("a b", "http://emulator.test"),
        ("example.com/path", "http://emulator.test"),
        ("example.com:99999", "http://emulator.test"),
        ("[zz::1]", "http://emulator.test"),
        ("-leading.example", "http://emulator.test"),
        ("", "http://emulator.test"),
    ],
)
async def test_the_host_header_goes_into_stored_urls_only_when_valid(
    client: httpx.AsyncClient, tmp_path: pathlib.Path, host: str, stored: str
) -> None:
    auth, sid = await _session(client)
    png = make_png(tmp_path / "logo.png").read_bytes()
    response = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", files={"files": ("logo.png", png)}, headers={**auth, "Host": host}
    )
    (file,) = response.json()["data"]["files"]
    assert file["cdn_url"].startswith(f"{stored}/cdn/uploads/f_"), file["cdn_url"]
    state = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth)
    assert state.json()["data"]["state"]["video_infos"][0]["cdn_url"] == file["cdn_url"]


def _wait_for_a_file(folder: pathlib.Path) -> None:
    deadline = time.monotonic() + 10
    while not any(folder.iterdir()):
        assert time.monotonic() < deadline, "no file appeared"
        time.sleep(0.01)


async def test_a_reset_during_an_upload_refuses_it_and_leaves_nothing_behind(
    client: httpx.AsyncClient, emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    auth, sid = await _session(client)
    clip = make_mp4(tmp_path / "clip.mp4").read_bytes()
    boundary = "reset-during-upload"
    head = (
        (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="clip.mp4"\r\n\r\n').encode()
        + clip[: len(clip) // 2]
        + bytes(512 * 1024)
    )  # enough to be handed to the writer thread
    tail = clip[len(clip) // 2 :] + f"\r\n--{boundary}--\r\n".encode()
    halfway = anyio.Event()
    resume = anyio.Event()
    old_area = emulator.disk.area

    async def body() -> typing.AsyncIterator[bytes]:
        yield head
        halfway.set()
        await resume.wait()
        yield tail

    answers: list[httpx.Response] = []

    async def send() -> None:
        answers.append(
            await client.post(
                f"/api/upload-video/nemo_agent/me/{sid}",
                content=body(),
                headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
        )

    async with anyio.create_task_group() as group:
        group.start_soon(send)
        await halfway.wait()
        await anyio.to_thread.run_sync(_wait_for_a_file, old_area.uploads)  # the file is being written
        assert (await client.post("/__mock__/reset")).status_code == 200
        resume.set()
    (answer,) = answers
    assert (answer.status_code, answer.json()["code"]) == (401, 1001)
    assert "reset" in answer.json()["message"]
    assert not old_area.folder.exists()  # nothing re-created of the old files' folder is left
    assert list(emulator.disk.area.uploads.iterdir()) == []
    # And the emulator goes on: a new upload is served.
    auth, sid = await _session(client)
    again = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", files={"files": ("c.mp4", clip)}, headers=auth)
    assert again.status_code == 200
    assert (await client.get(again.json()["data"]["files"][0]["cdn_url"])).content == clip


async def test_uploads_past_the_disk_cap_are_4002_naming_the_cap(tmp_path: pathlib.Path) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", width=64, height=48, duration=1.0).read_bytes()
    with Emulated(seed=7, clock="manual", clock_start=START, config={"max_disk": len(clip) + 100}) as emulated:
        emulator = emulated.emulator
        async with emulated.async_client(base_url=BASE, headers=SKILL_HEADERS) as http:
            auth, sid = await _session(http)
            upload = f"/api/upload-video/nemo_agent/me/{sid}"
            first = await http.post(upload, files={"files": ("a.mp4", clip)}, headers=auth)
            assert first.status_code == 200
            second = await http.post(upload, files={"files": ("b.mp4", clip)}, headers=auth)
            assert (second.status_code, second.json()["code"]) == (413, 4002)
            assert "cap" in second.json()["message"] and "max_disk" in second.json()["message"]
            assert len(list(emulator.disk.area.uploads.iterdir())) == 1  # the refused one is gone
            assert emulator.disk.area.used == len(clip)
            await http.post("/__mock__/reset")
            auth, sid = await _session(http)
            third = await http.post(
                f"/api/upload-video/nemo_agent/me/{sid}", files={"files": ("c.mp4", clip)}, headers=auth
            )
            assert third.status_code == 200  # a reset frees the room
