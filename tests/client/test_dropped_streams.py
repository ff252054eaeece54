"""A stream that stops before its turn ended gets the documents' recovery (found by ClientMachine).

"Wait 30 s, query the state; state changed: report it; after 5 unchanged queries: report a failure". A turn ends
with its final text, or (a silent close) says nothing at all; a stream that closes with a tool call still open,
or after text without the final text, or whose connection drops, stopped early. The turn itself goes on on the
service (knob ``on_disconnect=continue``, the default), so its change may show up in a later read.
"""

from __future__ import annotations

import typing

import httpx
import pytest
import respx

from nemo_contract import AsyncClient, MessageKind, TurnFailed
from nemo_contract.protocol import DROPPED_STREAM_POLLS, DROPPED_STREAM_WAIT, EventFormat, HeartbeatMode
from nemo_contract.protocol.control import StreamEnd
from nemo_contract.protocol.events import EventWriter
from nemo_contract.testing import StreamingASGITransport

from .harness import GENERATE, Harness, texts
from .scripted import API, DRAFT, Scripted, ok

pytestmark = pytest.mark.anyio

EVENTS = EventWriter(EventFormat.ADK, HeartbeatMode.EMPTY, invocation_id="e-1", new_id=lambda: "abcd1234")
OPENING = EVENTS.text("Sure! Generating a 10-second clip, this takes a few minutes.", 1.0)
CALL = EVENTS.tool_call("adk-1", "generate_video_with_seedance", {}, 1.0)
RESULT = EVENTS.tool_result("adk-1", "generate_video_with_seedance", {"status": "success"}, {}, 2.0)
CLOSING = EVENTS.text("Your video is ready!", 3.0)
RECOVERY = "The stream ended before the turn finished; checking the timeline every 30 s..."


def _state_reads(router: respx.MockRouter) -> int:
    return sum("/api/state/" in str(call.request.url) for call in router.calls)


async def test_a_generation_cut_after_its_opening_fails_after_five_unchanged_reads(harness: Harness) -> None:
    seen, failure = await harness.failed_turn({"path": "/run_sse", "cut_after": 2, "times": 1})
    assert texts(seen, MessageKind.REPLY)[0].startswith(("Sure", "On it", "Starting"))  # shown as it came
    assert texts(seen, MessageKind.NOTICE) == [RECOVERY]
    assert "did not finish" in str(failure)
    assert harness.sleeps == [DROPPED_STREAM_WAIT] * DROPPED_STREAM_POLLS
    (turn,) = harness.journal("POST", "/run_sse")  # never sent again
    assert turn.end is StreamEnd.CUT
    assert len(harness.journal("GET", "/api/state/*")) == 2 + DROPPED_STREAM_POLLS  # setup, before, the five


class _DropAfterFirstEvent(httpx.AsyncByteStream):
    """The connection of a turn breaks after its first event arrived."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self.inner = inner

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk
            break
        await self.inner.aclose()  # the emulator hears that its client went away
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async def aclose(self) -> None:
        await self.inner.aclose()


class _DroppingTransport(StreamingASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.url.path != "/run_sse" or response.status_code != 200:
            return response
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=_DropAfterFirstEvent(response.stream)
        )


async def test_a_dropped_connection_reports_the_change_the_turn_made_after_it(harness: Harness) -> None:
    harness.configure(turn_durations={"generation": [100, 100]})  # on_disconnect=continue, the default
    async with harness.client(transport=_DroppingTransport(harness.app)) as client:
        await client.state()
        messages = await client.say(GENERATE)
    assert texts(messages, MessageKind.NOTICE)[-1] == RECOVERY
    changes = texts(messages, MessageKind.CHANGES)
    assert changes and changes[0].startswith("Updated the timeline:\nAdded track: Video")
    assert harness.sleeps and set(harness.sleeps) == {DROPPED_STREAM_WAIT}
    (turn,) = harness.journal("POST", "/run_sse")
    assert turn.end is StreamEnd.CLIENT_GONE


@pytest.mark.parametrize(
    ("events", "reads"),
    [
        pytest.param([OPENING, CALL, RESULT], 3, id="text, then tools, then no final text"),
        pytest.param([CALL], 3, id="a tool call without its result"),
    ],
)
async def test_the_first_change_is_reported(events: list[bytes], reads: int) -> None:
    slept: list[float] = []
    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [{}, {}, {}, DRAFT], [events])  # before, then unchanged twice, then the change
        async with AsyncClient(base_url=API, sleep=slept.append) as client:
            messages = await client.say(GENERATE)
        assert _state_reads(router) == 1 + reads
    assert slept == [DROPPED_STREAM_WAIT] * reads
    assert texts(messages, MessageKind.CHANGES)[0].startswith("Updated the timeline:\nAdded track: Video")


async def test_reads_that_cannot_reach_the_service_count_as_unchanged() -> None:
    slept: list[float] = []
    reads: list[httpx.Response | Exception] = [ok({"session_id": "1000000000000000001", "state": {"draft": {}}})]
    reads += [httpx.ConnectError("refused")] * DROPPED_STREAM_POLLS
    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [{}], [[OPENING, CALL]])
        router.get(url__regex=rf"{API}/api/state/.*").mock(side_effect=reads)
        async with AsyncClient(base_url=API, sleep=slept.append) as client:
            with pytest.raises(TurnFailed):
                await client.say(GENERATE)
    assert slept == [DROPPED_STREAM_WAIT] * DROPPED_STREAM_POLLS


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([CLOSING], id="a chat reply: text alone"),
        pytest.param([OPENING, CALL, RESULT, CLOSING], id="a whole turn"),
    ],
)
async def test_a_finished_turn_gets_no_recovery(events: list[bytes]) -> None:
    slept: list[float] = []
    with respx.mock(assert_all_called=False) as router:
        Scripted(router, [DRAFT], [events])
        async with AsyncClient(base_url=API, sleep=slept.append, auto_export=False) as client:
            messages = await client.say("hello")
        assert _state_reads(router) <= 2  # before, and the timeline for the GUI words of a whole turn
    assert RECOVERY not in texts(messages)
    assert slept == []
