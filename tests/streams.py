"""Helpers to run (or walk out of) a /run_sse turn against the in-process emulator on its frozen clock."""

from __future__ import annotations

import functools
import json
import operator
import typing

import httpx
import httpx_sse

from mock_server import Emulator, Entry
from nemo_contract.protocol import shapes
from nemo_contract.protocol.control import StreamEnd


class Turn(typing.NamedTuple):
    status: int
    events: list[httpx_sse.ServerSentEvent]  # as httpx-sse parsed them
    raw: bytes  # the bytes on the wire

    @property
    def json_events(self) -> list[dict[str, typing.Any]]:
        return [json.loads(e.data) for e in self.events if e.data]

    @property
    def texts(self) -> list[str]:
        return self._said(("text", "content"), ("text",))

    @property
    def tool_calls(self) -> list[str]:
        """The names of the tools the turn called, in order."""
        return self._said(("tool_call", "name"), ("functionCall", "name"))

    def _said(self, typed: tuple[str, str], adk: tuple[str, ...]) -> list[str]:
        """What the events of one kind say, in either event format: ``typed`` is (a typed event's type, its field
        that says it); ``adk`` the keys down to it in a part of an ADK event's content (a part without the first
        key is of another kind)."""
        kind, field = typed
        found: list[str] = []
        for event in self.json_events:
            if event.get("type") == kind:
                found.append(event[field])
            for part in event.get("content", {}).get("parts", []) if isinstance(event.get("content"), dict) else []:
                if adk[0] in part:
                    found.append(functools.reduce(operator.getitem, adk, part))
        return found


def turn_body(session_id: str, text: str) -> dict[str, typing.Any]:
    return dict(shapes.turn_request(session_id, text))


#: Words that start a generation: the longest kind of turn, with heartbeats.
GENERATE = "turn this video into a short promo with music and transitions"


async def leave_after_first_event(client: httpx.AsyncClient, emulator: Emulator, token: str, sid: str) -> Entry:
    """Start a generation, read its opening event, hang up; the journal notes the client as gone."""
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, GENERATE), headers=headers) as response:
        emulator.advance(20)
        async for _ in response.aiter_raw():
            break
    (entry,) = await emulator.wait_for(5.0, path="/run_sse", where=lambda e: e.end is not None)
    assert (entry.end, entry.complete) == (StreamEnd.CLIENT_GONE, False)
    return entry


async def run_turn(client: httpx.AsyncClient, emulator: Emulator, token: str, body: dict[str, typing.Any]) -> Turn:
    """POST /run_sse and read the stream to its end, the emulator's clock jumping from one pending deadline to
    the next while the reader waits (autojump), so every virtual time is exact and nothing waits in real time."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with emulator.clock.autojumping():
        async with client.stream("POST", "/run_sse", json=body, headers=headers) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    events = list(_parse(raw)) if response.status_code == 200 else []
    return Turn(response.status_code, events, raw)


def _parse(raw: bytes) -> typing.Iterator[httpx_sse.ServerSentEvent]:
    """Run the recorded bytes through httpx-sse's standards-compliant parser."""
    recorded = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=raw)
    yield from httpx_sse.EventSource(recorded).iter_sse()
