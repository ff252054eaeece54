"""Small helpers the tests share (fixtures live in the conftest files, where pytest finds them)."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import typing

import httpx
from hypothesis import settings

from nemo_contract.protocol import TrackType, shapes
from nemo_contract.testing import START

__all__ = [
    "BASE",
    "INNER_PYTEST",
    "SKILL_HEADERS",
    "START",
    "derandomized",
    "new_session",
    "new_token",
    "one_clip_draft",
    "probe_video",
    "start_mock",
    "stop_process",
]

BASE = "http://emulator.test"
SKILL_HEADERS = {"X-Skill-Source": "video-to-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}

#: Options of a pytest run inside this one (pytester, in-process): no cache, warnings as errors, and without
#: Schemathesis's plugin, whose session end in the inner run resets state this process's Schemathesis runs need
#: (after it, verify's examples phase found nothing wrong in a broken server).
INNER_PYTEST = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-W", "error")


def derandomized(**options: typing.Any) -> settings:
    """Settings of a stateful run that draws the same every time (whether it passes does not depend on luck), with
    no example database and no deadline, on the profile loaded when called (so call it at a test module's import,
    after the conftest loaded ours)."""
    return settings(deadline=None, database=None, derandomize=True, **options)


async def new_token(client: httpx.AsyncClient, client_id: str = "client-1") -> tuple[str, str]:
    """(token, user_id) for a client id."""
    response = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return data["token"], data["user_id"]


async def new_session(client: httpx.AsyncClient, token: str, language: str | None = "en") -> str:
    body: dict[str, str] = {"task_name": "project"}
    if language is not None:
        body["language"] = language
    response = await client.post(
        "/api/tasks/me/with-session/nemo_agent", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    session_id: str = response.json()["data"]["session_id"]
    return session_id


def one_clip_draft() -> dict[str, typing.Any]:
    """The smallest draft a render accepts: one video track with one second-long clip."""
    clip = shapes.segment("a", "clip", 0, 1000)
    return dict(shapes.draft([shapes.track(TrackType.VIDEO, [clip])], title="t", width=320, height=180, fps=25))


def probe_video(path: pathlib.Path) -> tuple[str, int, int]:
    """(codec, width, height) of a video file's first video stream."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, stream.codec_context.width, stream.codec_context.height


def start_mock(*args: str, quiet: bool = True) -> tuple[subprocess.Popen[str], str]:
    """``nemo-mock serve`` on a free port as a subprocess: the process and its base URL. Quiet by default: a line
    per request on a pipe nobody reads would fill it and stop the server."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "serve", "--port", "0", *(["--quiet"] if quiet else []), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("nemo-mock: serving http://127.0.0.1:"), line + (
        process.stderr.read() if process.stderr else ""
    )
    return process, line.split()[2]


def stop_process(process: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    """Send ``sig`` and wait for the process: its exit status and what it wrote on standard error."""
    process.send_signal(sig)
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, err
