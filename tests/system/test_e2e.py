"""End to end, for both skill profiles, in-process and live (acceptance line 10): upload a clip, generate (whose
"click Export" runs the export), an edit that closes silently, export, and downloaded files that PyAV reads as
1080p H.264."""

from __future__ import annotations

import pathlib

import anyio
import pytest

from nemo_contract import Message, MessageKind, SkillSource

from ..client.harness import Harness, LiveHarness, texts
from ..helpers import probe_video as probe

pytestmark = pytest.mark.anyio

PROMPTS = {
    SkillSource.VIDEO_TO_GENERATOR: "turn this video into a new short promotional clip with music and transitions",
    SkillSource.AUTO_GENERATOR: "automatically generate a polished video with cuts, transitions, and music",
}


def _exported_files(world: Harness | LiveHarness, generated: list[Message], exported: list[Message]) -> None:
    """The generation's export and the final one are two files, both 1080p H.264."""
    paths = sorted(world.folder.glob("render_*.mp4"))
    assert len(paths) == 2
    for messages in (generated, exported):
        (text,) = texts(messages, MessageKind.EXPORT)
        path = pathlib.Path(text.removeprefix("✅ Video ready: saved to ").rsplit(" (", 1)[0])
        assert path in paths
        assert probe(path) == ("h264", 1920, 1080)


def _check_story(
    world: Harness | LiveHarness,
    source: SkillSource,
    uploaded: list[Message],
    generated: list[Message],
    edited: list[Message],
) -> None:
    assert texts(uploaded, MessageKind.UPLOAD) == ["Uploaded city_timelapse.mp4 (video, 2s, 320x180)."]
    setup = texts(uploaded, MessageKind.NOTICE)
    assert setup == (["Setting up..."] if source is SkillSource.VIDEO_TO_GENERATOR else ["Connecting...", "Ready!"])
    assert texts(generated, MessageKind.REPLY)
    assert texts(generated, MessageKind.TIMELINE)[0].startswith("Timeline (3 tracks): 1. Video: city timelapse")
    assert len(texts(generated, MessageKind.EXPORT)) == 1  # the backend said "click Export": the client did
    assert len(world.journal("POST", "/api/render/proxy/lambda")) == 2  # that export, and the one asked for
    assert texts(edited, MessageKind.REPLY) == []  # the backend said nothing...
    assert texts(edited, MessageKind.CHANGES)[0].startswith("Updated the timeline:\nChanged track: BGM")  # ...we did
    sessions = world.emulator.store.sessions
    assert len(sessions) == 1
    language = next(iter(sessions.values())).language
    assert language == ("en" if source is SkillSource.VIDEO_TO_GENERATOR else None)
    for entry in world.journal():
        if not entry.path.startswith(("/render-result/", "/cdn/")):
            assert entry.attribution["source"] == source.value


@pytest.mark.parametrize("source", list(SkillSource))
async def test_end_to_end_in_process(harness: Harness, source: SkillSource, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    async with harness.client(skill=source) as client:
        uploaded = await client.handle("upload", [harness.clip()])
        generated = await client.handle(PROMPTS[source])
        harness.configure(silent_close_rate=1.0)
        edited = await client.handle("make the music louder")
        exported = await client.handle("export")
    _check_story(harness, source, uploaded, generated, edited)
    _exported_files(harness, generated, exported)


@pytest.mark.live
@pytest.mark.parametrize("source", list(SkillSource))
async def test_end_to_end_live(live_harness: LiveHarness, source: SkillSource, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")

    def story() -> tuple[list[Message], ...]:
        with live_harness.client(skill=source) as client:
            uploaded = client.handle("upload", [live_harness.clip()])
            generated = client.handle(PROMPTS[source])
            live_harness.configure(silent_close_rate=1.0)
            edited = client.handle("make the music louder")
            exported = client.handle("send me the video")
        return uploaded, generated, edited, exported

    uploaded, generated, edited, exported = await anyio.to_thread.run_sync(story)
    _check_story(live_harness, source, uploaded, generated, edited)
    _exported_files(live_harness, generated, exported)
