"""The timeline summary, the change descriptions and the export workflow (acceptance line 7)."""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
import typing

import httpx
import pytest
import respx

from nemo_contract import (
    AsyncClient,
    Client,
    Conflict,
    LocalFileError,
    MessageKind,
    NothingToExport,
    RenderFailed,
    Snapshot,
)
from nemo_contract._driver import PartFile
from nemo_contract._summary import format_timeline, track_line
from nemo_contract._timeline import describe_changes
from nemo_contract.protocol import RenderShape
from nemo_contract.protocol.shapes import read_render

from .harness import Harness

pytestmark = pytest.mark.anyio

API = "https://api.example.test"
#: "Poll status every 30s", as the documents write it.
THIRTY_SECONDS = 30.0


def probe(path: pathlib.Path) -> tuple[str, int, int]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, stream.codec_context.width, stream.codec_context.height


def _snapshot(draft: dict[str, typing.Any]) -> Snapshot:
    return Snapshot(session_id="1", draft=draft, video_infos=[], generated_media=[])


VIDEO = {"tt": 0, "sg": [{"id": "a", "n": "city timelapse", "st": 0, "d": 10000}]}
BGM = {"tt": 1, "sg": [{"id": "b", "n": "Lo-fi", "st": 0, "d": 10000, "v": 0.35}]}
TITLE = {"tt": 7, "sg": [{"id": "c", "n": "Urban Dreams", "st": 0, "d": 3000, "x": "Urban Dreams"}]}


def test_the_documents_summary() -> None:
    draft = {"t": [VIDEO, BGM, TITLE], "d": 10000, "m": {"width": 1920, "height": 1080}}
    expected = (
        "Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) "
        '3. Title: "Urban Dreams" (0-3s)'
    )
    assert _snapshot(draft).summary == expected == format_timeline(draft)
    assert track_line(BGM) == "BGM: Lo-fi (0-10s, 35%)"


def test_changes_in_the_summarys_words() -> None:
    before = {"t": [VIDEO, TITLE], "d": 10000, "m": {"width": 1920, "height": 1080}}
    louder = {"tt": 1, "sg": [{"id": "b", "n": "Lo-fi", "st": 0, "d": 10000, "v": 0.6}]}
    assert describe_changes(_snapshot(before), _snapshot({**before, "t": [VIDEO, BGM, TITLE]})) == [
        "Added track: BGM: Lo-fi (0-10s, 35%)"
    ]
    assert describe_changes(_snapshot({**before, "t": [VIDEO, BGM, TITLE]}), _snapshot(before)) == [
        "Removed track: BGM: Lo-fi (0-10s, 35%)"
    ]
    assert describe_changes(_snapshot({**before, "t": [VIDEO, BGM]}), _snapshot({**before, "t": [VIDEO, louder]})) == [
        "Changed track: BGM: Lo-fi (0-10s, 35%) -> BGM: Lo-fi (0-10s, 60%)"
    ]
    assert describe_changes(_snapshot(before), _snapshot({**before, "d": 8000})) == ["Duration: 10s -> 8s"]
    vertical = {**before, "m": {"width": 1080, "height": 1920}}
    assert describe_changes(_snapshot(before), _snapshot(vertical)) == ["Size: 1920x1080 -> 1080x1920"]
    assert describe_changes(_snapshot(before), _snapshot(before)) == []
    assert describe_changes(_snapshot({}), _snapshot(before))[0] == "Added track: Video: city timelapse (0-10s)"


def test_both_render_shapes_are_read() -> None:
    toplevel = {"code": 0, "id": "r", "status": "completed", "progress": 100, "output": {"url": "https://x/r.mp4"}}
    wrapped = {
        "success": True,
        "data": {"id": "r", "status": "completed", "progress": 100, "outputUrl": "https://x/r.mp4"},
    }
    assert read_render(toplevel) == read_render(wrapped)._replace(shape=RenderShape.TOPLEVEL)
    assert read_render(wrapped).shape is RenderShape.WRAPPED
    assert read_render({"success": True, "data": {"id": "r", "status": "processing", "progress": 40}}).progress == 40
    assert read_render({"code": 0, "status": "failed", "error": "invalid draft"}).error == "invalid draft"


@pytest.mark.parametrize("shape", list(RenderShape))
async def test_export_polls_every_30_s_and_downloads_a_1080p_h264_file(harness: Harness, shape: RenderShape) -> None:
    harness.configure(render_shape=shape.value)
    async with harness.client(auto_export=False) as client:
        await client.say("generate a 10-second video of a city timelapse")
        harness.sleeps.clear()
        progress: list[int | None] = []
        client._on_message = lambda m: progress.append(m.progress) if m.kind is MessageKind.PROGRESS else None
        result = await client.export()
    polls = harness.journal("GET", "/api/render/proxy/lambda/*")
    assert len(polls) >= 1
    assert harness.sleeps == [THIRTY_SECONDS] * len(polls)
    assert progress[-1] == 100
    assert result.path == harness.folder / f"{result.render_id}.mp4"
    assert result.size == result.path.stat().st_size > 0
    assert probe(result.path) == ("h264", 1920, 1080)
    downloads = harness.journal("GET", "/render-result/*")
    assert len(downloads) == 1
    assert "authorization" not in downloads[0].headers_present  # the CDN link never gets the token


async def test_export_to_a_chosen_file_or_folder(harness: Harness) -> None:
    async with harness.client(auto_export=False) as client:
        await client.say("generate a 5-second vertical video of ocean waves")
        (harness.folder / "out").mkdir()
        named = await client.export(harness.folder / "out" / "waves.mp4")
        folder = harness.folder / "exports"
        folder.mkdir()
        inside = await client.export(folder)
    assert named.path == harness.folder / "out" / "waves.mp4"
    assert probe(named.path) == ("h264", 1080, 1920)
    assert inside.path.parent == folder
    assert not list(harness.folder.rglob("*.part"))


async def test_where_the_video_goes_is_checked_before_the_render(harness: Harness) -> None:
    """A missing folder (never created), a folder named with a trailing slash that is missing, something that is
    not a file, and an existing file without ``overwrite``: each refused before anything is rendered."""
    os.mkfifo(harness.folder / "pipe.mp4")
    (harness.folder / "old.mp4").write_bytes(b"keep me")
    async with harness.client(auto_export=False) as client:
        await client.say("generate a 5-second video of ocean waves")
        cases: list[tuple[str | os.PathLike[str], str]] = [
            (harness.folder / "missing" / "waves.mp4", "no such folder"),
            (f"{harness.folder / 'new'}/", "no such folder"),
            (harness.folder / "pipe.mp4", "not a regular file"),
        ]
        for dest, words in cases:
            with pytest.raises(LocalFileError, match=words):
                await client.export(dest)
        with pytest.raises(FileExistsError, match="already exists") as raised:
            await client.export(harness.folder / "old.mp4", overwrite=False)
        assert isinstance(raised.value, LocalFileError)
        assert harness.journal("POST", "/api/render/proxy/lambda") == []
        assert not (harness.folder / "missing").exists() and not (harness.folder / "new").exists()
        assert (harness.folder / "old.mp4").read_bytes() == b"keep me"
        replaced = await client.export(harness.folder / "old.mp4")  # a path given in Python: replaced, as open() does
    assert probe(replaced.path) == ("h264", 1920, 1080)


async def test_a_missing_download_folder_is_not_created(harness: Harness) -> None:
    async with harness.client(download_dir=harness.folder / "videos") as client:
        with pytest.raises(LocalFileError, match="no such folder"):  # the agent said "click Export"
            await client.say("generate a 5-second video of ocean waves")
        with pytest.raises(LocalFileError, match="no such folder"):
            await client.export()
    assert not (harness.folder / "videos").exists()
    assert harness.journal("POST", "/api/render/proxy/lambda") == []


class Stop(Exception):
    """Stands for Ctrl-C (a KeyboardInterrupt would end the test run's event loop)."""


async def test_an_export_stopped_while_waiting_leaves_its_render_pending(harness: Harness) -> None:
    def stop(seconds: float) -> None:
        raise Stop

    async with harness.client(auto_export=False) as client:
        await client.say("generate a 5-second video of ocean waves")
        assert client.pending_render is None
    async with harness.client(auto_export=False, sleep=stop, credentials=client.credentials) as waiting:
        with pytest.raises(Stop):
            await waiting.export()
        pending = waiting.pending_render
    assert len(harness.journal("POST", "/api/render/proxy/lambda")) == 1
    assert pending is not None and pending.url is None
    assert [render_id for _, render_id in harness.emulator.store.renders] == [pending.render_id]  # still running
    async with harness.client(auto_export=False, credentials=client.credentials) as again:
        await again.export()
        assert again.pending_render is None


@pytest.mark.parametrize("driver", ["sync", "async"])
async def test_a_download_stopped_midway_leaves_the_render_and_its_link(tmp_path: pathlib.Path, driver: str) -> None:
    with respx.mock(assert_all_called=True) as router:
        _backend(router, _completed("https://cdn.test/r1.mp4"))
        router.get("https://cdn.test/r1.mp4").mock(side_effect=Stop)
        if driver == "sync":
            with Client(base_url=API, sleep=lambda s: None, download_dir=tmp_path) as client:
                with pytest.raises(Stop):
                    client.export()
                pending = client.pending_render
        else:
            async with AsyncClient(base_url=API, sleep=lambda s: None, download_dir=tmp_path) as aclient:
                with pytest.raises(Stop):
                    await aclient.export()
                pending = aclient.pending_render
    assert pending is not None
    assert pending.render_id.startswith("render_") and pending.url == "https://cdn.test/r1.mp4"
    assert os.listdir(tmp_path) == []  # no part file left


def _unwritable_folder() -> pathlib.Path | None:
    """A folder nobody may add files to, even root (``/sys`` on Linux), or None."""
    folder = pathlib.Path("/sys")
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError:
        return folder if folder.is_dir() else None


async def test_an_unwritable_folder_is_refused_before_the_render(harness: Harness) -> None:
    folder = _unwritable_folder()
    if folder is None:
        pytest.skip("no folder here refuses new files")
    async with harness.client(auto_export=False) as client:
        await client.say("generate a 5-second video of ocean waves")
        with pytest.raises(LocalFileError, match=f"cannot save the video in {folder}: "):
            await client.export(folder / "video.mp4")
    assert harness.journal("POST", "/api/render/proxy/lambda") == []


def test_a_download_never_creates_its_folder(tmp_path: pathlib.Path) -> None:
    with pytest.raises(LocalFileError, match="cannot write"), PartFile(tmp_path / "gone" / "video.mp4"):
        pass
    assert os.listdir(tmp_path) == []


async def test_nothing_to_export_before_a_generation(harness: Harness) -> None:
    async with harness.client() as client:
        with pytest.raises(NothingToExport) as raised:
            await client.export()
    assert "Generate a video first" in raised.value.advice
    assert harness.journal("POST", "/api/render/proxy/lambda") == []


async def test_a_failed_render_raises(harness: Harness) -> None:
    async with harness.client(auto_export=False) as client:
        await client.say("generate a 5-second video of ocean waves")
        harness.faults({"path": "/api/render/proxy/lambda", "fail_render": "GPU node lost"})
        with pytest.raises(RenderFailed) as raised:
            await client.export()
    assert "GPU node lost" in str(raised.value)
    assert not list(harness.folder.glob("*.mp4"))


async def test_a_used_render_id_gets_a_new_one(harness: Harness) -> None:
    # a stuck clock: the same render_<ms>
    async with harness.client(clock=lambda: 1773360000.0, auto_export=False) as client:
        await client.say("generate a 5-second video of ocean waves")
        first = await client.export()
        second = await client.export()
    assert first.render_id == "render_1773360000000"
    assert second.render_id.startswith("render_1773360000000_")
    assert [e.code for e in harness.journal("POST", "/api/render/proxy/lambda")] == [0, 409, 0]


async def test_a_failed_download_falls_back_to_the_download_endpoint(tmp_path: pathlib.Path) -> None:
    draft = {"t": [VIDEO], "d": 10000, "m": {"width": 1920, "height": 1080}}
    ok = {"code": 0, "message": "success"}
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{API}/api/auth/anonymous-token").respond(json={**ok, "data": {"token": "t", "user_id": "anon_1"}})
        router.post(f"{API}/api/tasks/me/with-session/nemo_agent").respond(json={**ok, "data": {"session_id": "1"}})
        router.get(f"{API}/api/state/nemo_agent/me/1/latest").respond(json={**ok, "data": {"state": {"draft": draft}}})
        router.post(f"{API}/api/render/proxy/lambda").respond(
            json={
                "code": 0,
                "id": "r1",
                "status": "completed",
                "progress": 100,
                "output": {"url": "https://cdn.test/r1.mp4"},
            }
        )
        cdn = router.get("https://cdn.test/r1.mp4").mock(return_value=httpx.Response(404))
        fallback = router.get(url__regex=rf"{API}/api/render/proxy/render_\d+/download").mock(
            return_value=httpx.Response(200, content=b"mp4 bytes")
        )
        async with AsyncClient(base_url=API, sleep=lambda s: None, download_dir=tmp_path) as client:
            result = await client.export()
        assert "Authorization" not in cdn.calls.last.request.headers
        assert "X-Skill-Source" not in cdn.calls.last.request.headers  # another host: no attribution either
        assert fallback.calls.last.request.headers["Authorization"] == "Bearer t"
    assert result.path.read_bytes() == b"mp4 bytes"


# -- redirects, and one retry at most -------------------------------------------------------------------------

DRAFT = {"t": [VIDEO], "d": 10000, "m": {"width": 1920, "height": 1080}}
OK = {"code": 0, "message": "success"}


def _backend(router: respx.MockRouter, render: dict[str, typing.Any] | list[httpx.Response]) -> respx.Route:
    """Token, session and state; the render start answers ``render`` (one body, or a list of answers)."""
    router.post(f"{API}/api/auth/anonymous-token").respond(json={**OK, "data": {"token": "t", "user_id": "anon_1"}})
    router.post(f"{API}/api/tasks/me/with-session/nemo_agent").respond(json={**OK, "data": {"session_id": "1"}})
    router.get(f"{API}/api/state/nemo_agent/me/1/latest").respond(json={**OK, "data": {"state": {"draft": DRAFT}}})
    start = router.post(f"{API}/api/render/proxy/lambda")
    if isinstance(render, list):
        return start.mock(side_effect=render)
    return start.respond(json=render)


def _completed(url: str) -> dict[str, typing.Any]:
    return {"code": 0, "id": "r1", "status": "completed", "progress": 100, "output": {"url": url}}


@pytest.mark.parametrize("driver", ["sync", "async"])
async def test_a_signed_link_that_redirects_is_followed(tmp_path: pathlib.Path, driver: str) -> None:
    with respx.mock(assert_all_called=True) as router:
        _backend(router, _completed("https://cdn.test/r1.mp4"))
        router.get("https://cdn.test/r1.mp4").respond(302, headers={"Location": "https://signed.cdn.test/r1?sig=x"})
        signed = router.get("https://signed.cdn.test/r1").respond(200, content=b"signed mp4 bytes")
        if driver == "sync":
            with Client(base_url=API, sleep=lambda s: None, download_dir=tmp_path) as client:
                result = client.export()
        else:
            async with AsyncClient(base_url=API, sleep=lambda s: None, download_dir=tmp_path) as client:
                result = await client.export()
        assert "Authorization" not in signed.calls.last.request.headers
    assert result.path.read_bytes() == b"signed mp4 bytes"
    assert result.size == len(b"signed mp4 bytes")


async def test_a_redirect_from_the_api_to_a_cdn_drops_the_token(tmp_path: pathlib.Path) -> None:
    with respx.mock(assert_all_called=True) as router:
        _backend(router, _completed("https://cdn.test/gone.mp4"))
        router.get("https://cdn.test/gone.mp4").respond(403)
        router.get(url__regex=rf"{API}/api/render/proxy/render_\d+/download").respond(
            307, headers={"Location": "https://cdn.test/fresh.mp4"}
        )
        fresh = router.get("https://cdn.test/fresh.mp4").respond(200, content=b"fresh")
        async with AsyncClient(base_url=API, sleep=lambda s: None, download_dir=tmp_path) as client:
            result = await client.export()
        assert "Authorization" not in fresh.calls.last.request.headers  # httpx drops it when leaving the API
    assert result.path.read_bytes() == b"fresh"


async def test_a_render_start_is_retried_once_per_code(tmp_path: pathlib.Path) -> None:
    busy = httpx.Response(429, json={"code": 429, "message": "rate limited", "data": None})
    used = httpx.Response(409, json={"code": 409, "message": "render id already used", "data": None})
    slept: list[float] = []
    with respx.mock(assert_all_called=False) as router:
        start = _backend(router, [busy, used, used, _ok_render()])
        async with AsyncClient(base_url=API, sleep=slept.append, download_dir=tmp_path) as client:
            with pytest.raises(Conflict):
                await client.export()
    assert start.call_count == 3  # the 429's retry, then the 409's: a second 409 is not retried again
    assert slept == [30.0]


async def test_a_used_render_id_alone_gets_one_more_try(tmp_path: pathlib.Path) -> None:
    used = httpx.Response(409, json={"code": 409, "message": "render id already used", "data": None})
    with respx.mock(assert_all_called=False) as router:
        start = _backend(router, [used, _ok_render()])
        router.get("https://cdn.test/r1.mp4").respond(200, content=b"x")
        # a stuck clock: the same millisecond, so only the suffix tells the ids apart
        client = AsyncClient(base_url=API, clock=lambda: 1773360000.0, sleep=lambda s: None, download_dir=tmp_path)
        async with client:
            await client.export()
    first, second = (json.loads(call.request.content)["id"] for call in start.calls)
    assert start.call_count == 2
    assert first == "render_1773360000000"
    assert second.startswith(first + "_")


def _ok_render() -> httpx.Response:
    return httpx.Response(200, json=_completed("https://cdn.test/r1.mp4"))
