"""The timeline summary, the change descriptions and the export workflow (acceptance line 7)."""

from __future__ import annotations

import pathlib
import typing

import httpx
import pytest
import respx

from nemo_contract import (
    AsyncClient,
    MessageKind,
    NothingToExport,
    RenderFailed,
    RenderShape,
    Snapshot,
    format_timeline,
)
from nemo_contract._export import POLL_INTERVAL, read_render
from nemo_contract._timeline import describe_changes, track_summary

from .client_fixtures import Harness, harness_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio

API = "https://api.example.test"


def probe(path: pathlib.Path) -> tuple[str, int, int]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, stream.codec_context.width, stream.codec_context.height


def _snapshot(draft: dict[str, typing.Any]) -> Snapshot:
    return Snapshot("1", draft, [], [])


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
    assert track_summary(BGM) == "BGM: Lo-fi (0-10s, 35%)"


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
    assert read_render(toplevel) == read_render(wrapped)
    assert read_render({"success": True, "data": {"id": "r", "status": "processing", "progress": 40}}).progress == 40
    assert read_render({"code": 0, "status": "failed", "error": "invalid draft"}).error == "invalid draft"


@pytest.mark.parametrize("shape", list(RenderShape))
async def test_export_polls_every_30_s_and_downloads_a_1080p_h264_file(harness: Harness, shape: RenderShape) -> None:
    harness.configure(render_shape=shape.value)
    async with harness.client() as client:
        await client.say("generate a 10-second video of a city timelapse")
        harness.sleeps.clear()
        progress: list[int | None] = []
        client._on_message = lambda m: progress.append(m.progress) if m.kind is MessageKind.PROGRESS else None
        result = await client.export()
    polls = harness.journal("GET", "/api/render/proxy/lambda/*")
    assert len(polls) >= 1
    assert harness.sleeps == [POLL_INTERVAL] * len(polls)
    assert progress[-1] == 100
    assert result.path == harness.folder / f"{result.render_id}.mp4"
    assert result.size == result.path.stat().st_size > 0
    assert probe(result.path) == ("h264", 1920, 1080)
    downloads = harness.journal("GET", "/render-result/*")
    assert len(downloads) == 1
    assert "Authorization" not in downloads[0].headers_present  # the CDN link never gets the token


async def test_export_to_a_chosen_file_or_folder(harness: Harness) -> None:
    async with harness.client() as client:
        await client.say("generate a 5-second vertical video of ocean waves")
        named = await client.export(harness.folder / "out" / "waves.mp4")
        folder = harness.folder / "exports"
        folder.mkdir()
        inside = await client.export(folder)
    assert named.path == harness.folder / "out" / "waves.mp4"
    assert probe(named.path) == ("h264", 1080, 1920)
    assert inside.path.parent == folder
    assert not list(harness.folder.rglob("*.part"))


async def test_nothing_to_export_before_a_generation(harness: Harness) -> None:
    async with harness.client() as client:
        with pytest.raises(NothingToExport) as raised:
            await client.export()
    assert "Generate a video first" in raised.value.advice
    assert harness.journal("POST", "/api/render/proxy/lambda") == []


async def test_a_failed_render_raises(harness: Harness) -> None:
    async with harness.client() as client:
        await client.say("generate a 5-second video of ocean waves")
        harness.faults({"path": "/api/render/proxy/lambda", "fail_render": "GPU node lost"})
        with pytest.raises(RenderFailed) as raised:
            await client.export()
    assert "GPU node lost" in str(raised.value)
    assert not list(harness.folder.glob("*.mp4"))


async def test_a_used_render_id_gets_a_new_one(harness: Harness) -> None:
    async with harness.client(clock=lambda: 1773360000.0) as client:  # a stuck clock: the same render_<ms>
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
