"""Render jobs on the virtual clock: lifecycle, both shapes, 402/409/404, cancel, download and Range."""

from __future__ import annotations

import io
import re
import typing

import av
import httpx
import pytest

from mock_server._emulator import Emulator

from ..helpers import SKILL_HEADERS, new_session, new_token

pytestmark = pytest.mark.anyio

DRAFT: dict[str, typing.Any] = {
    "t": [
        {"tt": 0, "sg": [{"id": "s1", "n": "city timelapse", "st": 0, "d": 2500, "u": "http://x/c.mp4"}]},
        {"tt": 7, "sg": [{"id": "s2", "n": "title", "st": 0, "d": 1000, "x": "Urban Dreams"}]},
    ],
    "d": 2500,
    "m": {"title": "Urban Dreams", "width": 640, "height": 360, "fps": 25},
}


async def _start(
    client: httpx.AsyncClient, render_id: str = "render_1", draft: dict[str, typing.Any] | None = None
) -> tuple[str, str, httpx.Response]:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    body = {"id": render_id, "sessionId": sid, "draft": DRAFT if draft is None else draft, "output": {"format": "mp4"}}
    response = await client.post("/api/render/proxy/lambda", json=body, headers={"Authorization": f"Bearer {token}"})
    return token, sid, response


def _probe(data: bytes) -> tuple[str, int, int, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / av.time_base
        return stream.codec_context.name, stream.codec_context.width, stream.codec_context.height, duration


async def test_a_render_goes_pending_processing_completed_and_serves_a_real_mp4(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _, started = await _start(client)
    assert started.status_code == 200
    assert started.json() == {"code": 0, "id": "render_1", "status": "pending", "progress": 0}
    headers = {"Authorization": f"Bearer {token}"}
    seen = []
    progress = []
    for _ in range(20):
        emulator.clock.advance(5)
        body = (await client.get("/api/render/proxy/lambda/render_1", headers=headers)).json()
        seen.append(body["status"])
        progress.append(body["progress"])
        if body["status"] == "completed":
            break
    assert seen[-1] == "completed"
    assert "processing" in seen
    assert progress == sorted(progress) and progress[-1] == 100
    assert 30 <= 5 * len(seen) <= 95
    output = body["output"]
    assert output["duration"] == 2.5
    assert re.fullmatch(r"http://emulator\.test/render-result/[0-9a-f]{32}/render_1\.mp4", output["url"])
    video = await client.get(output["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert len(video.content) == output["size"]
    codec, width, height, duration = _probe(video.content)
    assert (codec, width, height) == ("h264", 640, 360)
    assert abs(duration - 2.5) <= 0.1
    download = await client.get("/api/render/proxy/render_1/download", headers=headers)
    assert download.content == video.content


async def test_range_requests_on_the_output(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _, _ = await _start(client)
    emulator.clock.advance(100)
    body = (await client.get("/api/render/proxy/lambda/render_1", headers={"Authorization": f"Bearer {token}"})).json()
    url = body["output"]["url"]
    whole = (await client.get(url)).content
    part = await client.get(url, headers={"Range": "bytes=10-29"})
    assert part.status_code == 206
    assert part.content == whole[10:30]
    assert part.headers["content-range"] == f"bytes 10-29/{len(whole)}"
    beyond = await client.get(url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416


async def test_wrapped_render_shape(client: httpx.AsyncClient, emulator: Emulator) -> None:
    await client.put("/__mock__/config", json={"render_shape": "wrapped"})
    token, _, started = await _start(client)
    data = started.json()["data"]
    assert started.json()["success"] is True
    assert (data["id"], data["status"], data["progress"]) == ("render_1", "pending", 0)
    assert data["createdAt"] == 1773360000000
    emulator.clock.advance(100)
    done = (await client.get("/api/render/proxy/lambda/render_1", headers={"Authorization": f"Bearer {token}"})).json()
    assert done["data"]["status"] == "completed"
    assert re.fullmatch(r"http://emulator\.test/render-result/[0-9a-f]{32}/render_1\.mp4", done["data"]["outputUrl"])
    assert done["data"]["completedAt"] > data["createdAt"]


@pytest.mark.parametrize("drop", ["X-Skill-Source", "X-Skill-Version", "X-Skill-Platform"])
async def test_a_render_start_without_all_three_attribution_headers_is_402(
    client: httpx.AsyncClient, drop: str
) -> None:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    headers = {k: v for k, v in SKILL_HEADERS.items() if k != drop}
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url), headers=headers) as bare:
        response = await bare.post(
            "/api/render/proxy/lambda",
            json={"id": "r", "sessionId": sid, "draft": DRAFT},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (response.status_code, response.json()["code"]) == (402, 402)
    assert drop in response.json()["message"]


async def test_a_plan_that_blocks_export_is_402_and_says_it_is_not_credits(client: httpx.AsyncClient) -> None:
    token, user_id = await new_token(client)
    await client.put(f"/__mock__/accounts/{user_id}", json={"export_allowed": False})
    sid = await new_session(client, token)
    response = await client.post(
        "/api/render/proxy/lambda",
        json={"id": "r", "sessionId": sid, "draft": DRAFT},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.json()["code"]) == (402, 402)
    assert "credits" in response.json()["message"]


async def test_a_reused_render_id_is_409(client: httpx.AsyncClient) -> None:
    token, sid, _ = await _start(client)
    again = await client.post(
        "/api/render/proxy/lambda",
        json={"id": "render_1", "sessionId": sid, "draft": DRAFT},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (again.status_code, again.json()["code"]) == (409, 409)


@pytest.mark.parametrize("draft", [{}, {"t": []}, {"t": [{"tt": 0, "sg": []}], "d": 1000}])
async def test_an_empty_draft_is_accepted_then_fails_with_invalid_draft(
    client: httpx.AsyncClient, emulator: Emulator, draft: dict[str, typing.Any]
) -> None:
    token, _, started = await _start(client, draft=draft)
    assert started.json()["status"] == "pending"
    emulator.clock.advance(5)
    body = (await client.get("/api/render/proxy/lambda/render_1", headers={"Authorization": f"Bearer {token}"})).json()
    assert (body["status"], body["error"]) == ("failed", "invalid draft")
    assert "output" not in body


async def test_cancel_fails_the_render_and_a_second_cancel_is_409(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    token, _, _ = await _start(client)
    headers = {"Authorization": f"Bearer {token}"}
    emulator.clock.advance(10)
    cancelled = await client.post("/api/render/proxy/lambda/render_1/cancel", headers=headers)
    assert (cancelled.json()["status"], cancelled.json()["error"]) == ("failed", "cancelled")
    emulator.clock.advance(100)
    assert (await client.get("/api/render/proxy/lambda/render_1", headers=headers)).json()["status"] == "failed"
    again = await client.post("/api/render/proxy/lambda/render_1/cancel", headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, 409)
    download = await client.get("/api/render/proxy/render_1/download", headers=headers)
    assert (download.status_code, download.json()["code"]) == (409, 409)


async def test_an_injected_render_fault_fails_the_job(client: httpx.AsyncClient, emulator: Emulator) -> None:
    await client.put(
        "/__mock__/config", json={"faults": [{"path": "/api/render/proxy/lambda", "fail_render": "gpu node lost"}]}
    )
    token, _, started = await _start(client)
    assert started.status_code == 200
    emulator.clock.advance(10)
    body = (await client.get("/api/render/proxy/lambda/render_1", headers={"Authorization": f"Bearer {token}"})).json()
    assert (body["status"], body["error"]) == ("failed", "gpu node lost")


async def test_unknown_and_foreign_renders_are_404(client: httpx.AsyncClient) -> None:
    await _start(client)
    other, _ = await new_token(client, "other")
    for path in [
        "/api/render/proxy/lambda/render_1",
        "/api/render/proxy/lambda/nope",
        "/api/render/proxy/nope/download",
    ]:
        response = await client.get(path, headers={"Authorization": f"Bearer {other}"})
        assert (response.status_code, response.json()["code"]) == (404, 404), path
    assert (await client.get("/render-result/0123456789abcdef0123456789abcdef/nope.mp4")).status_code == 404


async def test_download_before_completion_is_409(client: httpx.AsyncClient) -> None:
    token, _, _ = await _start(client)
    response = await client.get("/api/render/proxy/render_1/download", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["code"]) == (409, 409)


async def test_an_unknown_session_in_a_render_start_is_1002(client: httpx.AsyncClient) -> None:
    token, _ = await new_token(client)
    response = await client.post(
        "/api/render/proxy/lambda",
        json={"id": "r", "sessionId": "1234567890123456789", "draft": DRAFT},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.json()["code"]) == (404, 1002)


@pytest.mark.parametrize("header", ["bytes=5-2", "items=0-10", "bytes=", "garbage"])
async def test_an_unusable_range_header_is_ignored_and_the_whole_file_sent(
    client: httpx.AsyncClient, emulator: Emulator, header: str
) -> None:
    token, _, _ = await _start(client)
    emulator.clock.advance(100)
    body = (await client.get("/api/render/proxy/lambda/render_1", headers={"Authorization": f"Bearer {token}"})).json()
    response = await client.get(body["output"]["url"], headers={"Range": header})
    assert response.status_code == 200
    assert len(response.content) == body["output"]["size"]


async def _render_as(client: httpx.AsyncClient, client_id: str, render_id: str = "render_1") -> dict[str, str]:
    token, _ = await new_token(client, client_id)
    sid = await new_session(client, token)
    headers = {"Authorization": f"Bearer {token}"}
    started = await client.post(
        "/api/render/proxy/lambda", json={"id": render_id, "sessionId": sid, "draft": DRAFT}, headers=headers
    )
    assert started.status_code == 200, started.text
    return headers


async def test_render_ids_are_scoped_per_user(client: httpx.AsyncClient, emulator: Emulator) -> None:
    alice = await _render_as(client, "alice")
    bob = await _render_as(client, "bob")  # the same id: no 409, nothing said about alice's render
    cancel = await client.post("/api/render/proxy/lambda/render_1/cancel", headers=bob)
    assert cancel.json()["status"] == "failed"
    emulator.clock.advance(100)
    mine = (await client.get("/api/render/proxy/lambda/render_1", headers=alice)).json()
    theirs = (await client.get("/api/render/proxy/lambda/render_1", headers=bob)).json()
    assert (mine["status"], theirs["status"]) == ("completed", "failed")
    again = await client.post(
        "/api/render/proxy/lambda",
        json={"id": "render_1", "sessionId": "1", "draft": DRAFT},
        headers=bob,
    )
    assert (again.status_code, again.json()["code"]) == (404, 1002)  # the session is checked, not alice's id


async def test_the_result_url_cannot_be_guessed_from_the_render_id(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    alice = await _render_as(client, "alice")
    bob = await _render_as(client, "bob", "render_2")
    emulator.clock.advance(100)
    alice_url = (await client.get("/api/render/proxy/lambda/render_1", headers=alice)).json()["output"]["url"]
    bob_url = (await client.get("/api/render/proxy/lambda/render_2", headers=bob)).json()["output"]["url"]
    assert (await client.get(alice_url)).status_code == 200
    alice_key, bob_key = httpx.URL(alice_url).path.split("/")[2], httpx.URL(bob_url).path.split("/")[2]
    for path in [
        "/render-result/render_1.mp4",  # the old, guessable form
        f"/render-result/{bob_key}/render_1.mp4",  # a key of someone else's render
        f"/render-result/{alice_key}/render_2.mp4",
        f"/render-result/{alice_key[:-1]}0/render_1.mp4",
    ]:
        response = await client.get(path)
        assert (response.status_code, response.json()["code"]) == (404, 404), path


@pytest.mark.parametrize("render_id", [".", "..", "...", "a/b", ""])
async def test_render_ids_of_dots_only_are_refused(client: httpx.AsyncClient, render_id: str) -> None:
    _, _, response = await _start(client, render_id=render_id)
    assert (response.status_code, response.json()["code"]) == (400, 400)


@pytest.mark.parametrize("render_id", [".a", "a..", "v1.2", "~-_"])
async def test_render_ids_with_dots_among_other_characters_are_fine(client: httpx.AsyncClient, render_id: str) -> None:
    _, _, response = await _start(client, render_id=render_id)
    assert response.status_code == 200, response.text


async def test_repeated_exports_of_one_draft_write_one_file(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, sid, _ = await _start(client)
    headers = {"Authorization": f"Bearer {token}"}
    for render_id in ("render_2", "render_3"):
        body = {"id": render_id, "sessionId": sid, "draft": DRAFT}
        assert (await client.post("/api/render/proxy/lambda", json=body, headers=headers)).status_code == 200
    other = {**DRAFT, "m": {**DRAFT["m"], "width": 320, "height": 180}}
    body = {"id": "render_4", "sessionId": sid, "draft": other}
    assert (await client.post("/api/render/proxy/lambda", json=body, headers=headers)).status_code == 200
    emulator.clock.advance(100)
    urls = set()
    for render_id in ("render_1", "render_2", "render_3", "render_4"):
        polled = (await client.get(f"/api/render/proxy/lambda/{render_id}", headers=headers)).json()
        urls.add(polled["output"]["url"])
        assert (await client.get(polled["output"]["url"])).status_code == 200
    assert len(urls) == 4  # every render has its own URL...
    files = sorted(p.name for p in emulator.disk.area.renders.iterdir())
    assert files == ["320x180_2500ms_25fps.mp4", "640x360_2500ms_25fps.mp4"]  # ...but one draft is one file


def _loudness(data: bytes) -> list[tuple[float, float]]:
    """(time s, RMS) of each decoded audio frame of an MP4; [] when it has no audio track."""
    import array
    import math

    found = []
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            return []
        for frame in container.decode(audio=0):
            samples = array.array("f", bytes(frame.planes[0])[: frame.samples * 4])
            found.append((float(frame.time or 0), math.sqrt(sum(v * v for v in samples) / max(1, len(samples)))))
    return found


async def test_the_bgm_of_a_draft_is_audible_in_its_render(client: httpx.AsyncClient, emulator: Emulator) -> None:
    """The draft's audio tracks are heard: a tone while the BGM plays (louder at a higher volume), silence where
    no audio segment plays; a draft without audio renders without an audio track."""
    bgm = {"tt": 1, "sg": [{"id": "b", "n": "Lo-fi", "st": 1000, "d": 1000, "v": 0.8, "u": "http://x/m.mp3"}]}
    with_bgm = {**DRAFT, "t": [*DRAFT["t"], bgm]}
    heard: dict[str, bytes] = {}
    for name, draft in (("bgm", with_bgm), ("none", DRAFT)):
        token, _, started = await _start(client, f"render_{name}", draft)
        assert started.status_code == 200
        emulator.advance(120)
        poll = await client.get(f"/api/render/proxy/lambda/render_{name}", headers={"Authorization": f"Bearer {token}"})
        heard[name] = (await client.get(poll.json()["output"]["url"])).content
    assert _loudness(heard["none"]) == []
    loudness = _loudness(heard["bgm"])
    during = [rms for at, rms in loudness if 1.1 <= at <= 1.8]
    outside = [rms for at, rms in loudness if at <= 0.8 or at >= 2.2]
    assert during and min(during) > 0.1
    assert outside and max(outside) < 0.01
    assert _probe(heard["bgm"])[:3] == ("h264", 640, 360)  # the picture is as before
