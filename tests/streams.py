"""Helpers to run a /run_sse turn against the in-process emulator on its frozen clock."""

from __future__ import annotations

import json
import typing

import anyio
import httpx
import httpx_sse

from mock_server._emulator import Emulator


class Turn(typing.NamedTuple):
    status: int
    events: list[httpx_sse.ServerSentEvent]  # as httpx-sse parsed them
    raw: bytes  # the bytes on the wire

    @property
    def json_events(self) -> list[dict[str, typing.Any]]:
        return [json.loads(e.data) for e in self.events if e.data]

    @property
    def texts(self) -> list[str]:
        found = []
        for event in self.json_events:
            if event.get("type") == "text":
                found.append(event["content"])
            for part in event.get("content", {}).get("parts", []) if isinstance(event.get("content"), dict) else []:
                if "text" in part:
                    found.append(part["text"])
        return found


def turn_body(session_id: str, text: str, **extra: typing.Any) -> dict[str, typing.Any]:
    return {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": session_id,
        "new_message": {"parts": [{"text": text}]},
        **extra,
    }


async def run_turn(
    client: httpx.AsyncClient,
    emulator: Emulator,
    token: str,
    body: dict[str, typing.Any],
    *,
    step: float | None = None,
) -> Turn:
    """POST /run_sse and read the stream to its end while a background task moves the frozen clock.

    By default the clock jumps from one pending deadline to the next, so every virtual time is exact;
    ``step`` instead advances it by that many seconds at a time.
    """
    done = anyio.Event()

    async def tick() -> None:
        while not done.is_set():
            if step is None:
                emulator.clock.advance_to_next()
            else:
                emulator.clock.advance(step)
            await anyio.sleep(0.0005)

    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    # Tick only once the turn exists, so its timeline starts at a time the test controls.
    async with (
        client.stream("POST", "/run_sse", json=body, headers=headers) as response,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(tick)
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            done.set()
    events = list(_parse(raw)) if response.status_code == 200 else []
    return Turn(response.status_code, events, raw)


def _parse(raw: bytes) -> typing.Iterator[httpx_sse.ServerSentEvent]:
    """Run the recorded bytes through httpx-sse's standards-compliant parser."""
    recorded = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=raw)
    yield from httpx_sse.EventSource(recorded).iter_sse()
