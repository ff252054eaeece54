"""A scripted backend (respx), for what the emulator does not say on demand."""

from __future__ import annotations

import json
import typing

import httpx
import respx

__all__ = ["API", "DRAFT", "Scripted", "adk_text", "ok"]

API = "https://api.example.test"

DRAFT: dict[str, typing.Any] = {
    "t": [
        {"tt": 0, "sg": [{"id": "a", "n": "city timelapse", "st": 0, "d": 10000}]},
        {"tt": 1, "sg": [{"id": "b", "n": "Lo-fi", "st": 0, "d": 10000, "v": 0.35}]},
        {"tt": 7, "sg": [{"id": "c", "n": "Urban Dreams", "st": 0, "d": 3000, "x": "Urban Dreams"}]},
    ],
    "d": 10000,
    "m": {"title": "Urban Dreams", "width": 1920, "height": 1080},
}


def ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "message": "success", "data": data})


def adk_text(text: str) -> bytes:
    event = {"content": {"parts": [{"text": text}], "role": "model"}, "author": "nemo_agent", "id": "x"}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


async def _chunks(parts: list[bytes]) -> typing.AsyncIterator[bytes]:
    for part in parts:
        yield part


class Scripted:
    """Token, session, a sequence of states and of turns; records each /run_sse body.

    Each state read takes the next draft of ``drafts`` (the last one repeats); each turn the next item of
    ``turns``: a list of byte chunks, or any async iterator of them.
    """

    def __init__(self, router: respx.MockRouter, drafts: list[dict[str, typing.Any]], turns: list[typing.Any]) -> None:
        self.drafts, self.turns = list(drafts), list(turns)
        self.bodies: list[dict[str, typing.Any]] = []
        router.post(f"{API}/api/auth/anonymous-token").mock(
            return_value=ok({"token": "nmv_usr_scripted", "user_id": "anon_1", "credits": 100})
        )
        router.post(f"{API}/api/tasks/me/with-session/nemo_agent").mock(
            return_value=ok({"task_id": "task_1", "session_id": "1000000000000000001", "user_id": "anon_1"})
        )
        router.get(url__regex=rf"{API}/api/state/.*").mock(side_effect=self._state)
        router.post(f"{API}/run_sse").mock(side_effect=self._turn)

    def _state(self, request: httpx.Request) -> httpx.Response:
        draft = self.drafts.pop(0) if len(self.drafts) > 1 else self.drafts[0]
        return ok({"session_id": "1000000000000000001", "state": {"draft": draft, "video_infos": []}})

    def _turn(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        content = self.turns.pop(0)
        if isinstance(content, list):
            content = _chunks(content)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)

    @property
    def said(self) -> list[str]:
        """The text of each turn sent."""
        return [body["new_message"]["parts"][0]["text"] for body in self.bodies]
