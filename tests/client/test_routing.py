"""Routing the user's words with the documents' English and Chinese keywords (acceptance line 5)."""

from __future__ import annotations

import pytest

from nemo_contract import Intent, MessageKind, classify

from .harness import Harness

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("words", "intent"),
    [
        # the documents' table, row by row
        ("export", Intent.EXPORT),
        ("export 1080p MP4", Intent.EXPORT),
        ("导出视频", Intent.EXPORT),
        ("download it", Intent.EXPORT),
        ("please send me the video", Intent.EXPORT),
        ("Send me  the VIDEO now", Intent.EXPORT),
        ("how many credits do I have", Intent.CREDITS),
        ("我还有多少积分", Intent.CREDITS),
        ("balance?", Intent.CREDITS),
        ("查一下余额", Intent.CREDITS),
        ("status", Intent.STATE),
        ("查看状态", Intent.STATE),
        ("show tracks", Intent.STATE),
        ("upload", Intent.UPLOAD),
        ("上传素材", Intent.UPLOAD),
        # everything else goes to the agent
        ("generate my existing video clips", Intent.TURN),
        ("turn this video into a new", Intent.TURN),
        ("add BGM", Intent.TURN),
        ("帮我加一段背景音乐", Intent.TURN),
        # whole words only: these are not the keywords
        ("I exported it yesterday, now add music", Intent.TURN),
        ("the downloads folder", Intent.TURN),
        ("show the track list", Intent.TURN),
        # the table's order decides
        ("show tracks and then export", Intent.EXPORT),
        ("upload this and export", Intent.EXPORT),
        # mixed scripts
        ("请export视频", Intent.EXPORT),
        # quoted words are the user's titles, not keywords
        ('add a title "Export Ready"', Intent.TURN),
        ('change the title to "Upload Day"', Intent.TURN),
        ("call it 'Status Report'", Intent.TURN),
        ("标题改成“导出成功”", Intent.TURN),
        ('export it as "final cut"', Intent.EXPORT),
        # a keyword used as another word
        ("balance the music and voice levels", Intent.TURN),
        ("add end credits with the team's names", Intent.TURN),
        ("add a status bar at the top", Intent.TURN),
        ("what's my balance?", Intent.CREDITS),
        ("credits left?", Intent.CREDITS),
    ],
)
def test_keywords(words: str, intent: Intent) -> None:
    assert classify(words) is intent


def test_a_file_is_an_upload() -> None:
    assert classify("", ["clip.mp4"]) is Intent.UPLOAD
    assert classify("make it pretty", ["clip.mp4"]) is Intent.UPLOAD


def _endpoints(harness: Harness) -> list[str]:
    """``GET credits``, ``POST /run_sse``...: the requests after the setup."""
    setup = {"/api/auth/anonymous-token", "/api/tasks/me/with-session/nemo_agent"}
    found = []
    for entry in harness.journal():
        if entry.path not in setup:
            name = entry.path.split("/")[2] if entry.path.startswith("/api/") else entry.path
            found.append(f"{entry.method} {name}")
    return found


@pytest.mark.parametrize(
    ("words", "endpoint", "kind"),
    [
        ("积分", "GET credits", MessageKind.CREDITS),
        ("balance", "GET credits", MessageKind.CREDITS),
        ("状态", "GET state", MessageKind.TIMELINE),
        ("show tracks", "GET state", MessageKind.TIMELINE),
    ],
)
async def test_skip_sse_actions_never_open_a_stream(
    harness: Harness, words: str, endpoint: str, kind: MessageKind
) -> None:
    async with harness.client() as client:
        messages = await client.handle(words)
    assert _endpoints(harness) == [endpoint]
    assert messages[-1].kind is kind


async def test_everything_else_is_a_turn(harness: Harness) -> None:
    async with harness.client() as client:
        messages = await client.handle("what can you do?")
    assert "POST /run_sse" in _endpoints(harness)
    assert any(m.kind is MessageKind.REPLY for m in messages)


async def test_export_words_run_the_export(harness: Harness) -> None:
    async with harness.client(auto_export=False) as client:
        await client.handle("generate a 5-second video of ocean waves")
        messages = await client.handle("导出")
    assert len(harness.journal("POST", "/api/render/proxy/lambda")) == 1
    assert messages[-1].kind is MessageKind.EXPORT
    assert len(list(harness.folder.glob("render_*.mp4"))) == 1


async def test_upload_words_without_a_file_ask_for_one(harness: Harness) -> None:
    async with harness.client() as client:
        messages = await client.handle("upload")
    assert harness.journal() == []
    assert "Send the file" in messages[0].text
    assert "mp4, mov" in messages[0].text


async def test_upload_words_with_a_url_upload_it(harness: Harness) -> None:
    async with harness.client() as client:
        messages = await client.handle("upload https://example.com/media/beach_day.mov please")
    assert [m.text for m in messages if m.kind is MessageKind.UPLOAD] == [
        "Uploaded beach_day.mov (video, 10s, 1920x1080)."
    ]


async def test_files_with_other_words_upload_then_route_the_words(harness: Harness) -> None:
    async with harness.client() as client:
        messages = await client.handle("turn this into a short promo", [harness.clip()])
    kinds = [m.kind for m in messages]
    assert kinds.index(MessageKind.UPLOAD) < kinds.index(MessageKind.REPLY)
    paths = [e.path for e in harness.journal()]
    uploaded_at = next(i for i, path in enumerate(paths) if path.startswith("/api/upload-video/"))
    assert uploaded_at < paths.index("/run_sse")


async def test_nothing_said_gets_the_documents_greeting(harness: Harness) -> None:
    async with harness.client() as client:
        assert "Share your existing video clips" in (await client.handle("  "))[0].text
    async with harness.client(skill="auto-generator") as client:
        assert "Send me your raw footage" in (await client.handle(""))[0].text
    assert harness.journal() == []
