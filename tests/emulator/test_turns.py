"""One turn's life: what a client leaving does (knob on_disconnect), what a turn costs however its stream ends,
and a session free for its next turn the moment its stream has ended."""

from __future__ import annotations

import signal
import threading
import time

import anyio
import httpx
import pytest

from mock_server import Emulator
from nemo_contract.protocol import PATHS
from nemo_contract.protocol.control import StreamEnd
from nemo_contract.protocol.specs import load_spec
from nemo_contract.testing import Served

from ..helpers import SKILL_HEADERS, new_session, new_token, start_mock, stop_process
from ..streams import GENERATE, leave_after_first_event, turn_body

pytestmark = pytest.mark.anyio

CREDITS = "/api/credits/balance/simple"


async def _balance(client: httpx.AsyncClient, token: str) -> dict[str, int]:
    answer = await client.get(CREDITS, headers={"Authorization": f"Bearer {token}"})
    data: dict[str, int] = answer.json()["data"]
    return data


async def _draft(client: httpx.AsyncClient, token: str, sid: str) -> dict[str, object]:
    answer = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers={"Authorization": f"Bearer {token}"})
    draft: dict[str, object] = answer.json()["data"]["state"]["draft"]
    return draft


async def test_by_default_a_turn_runs_to_its_end_after_its_client_leaves(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    """The official skill's recovery for a dropped stream (wait, read the state, report the change) works: the
    change lands after the client has gone, and the turn is charged."""
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    await leave_after_first_event(client, emulator, token, sid)
    assert await _draft(client, token, sid) == {}  # still generating
    with emulator.clock.autojumping(), anyio.fail_after(5):
        while emulator.store.sessions[sid].busy:  # noqa: ASYNC110 - the turn runs on, unheard; nothing to await
            await anyio.sleep(0.001)
    assert await _draft(client, token, sid) != {}
    assert await _balance(client, token) == {"available": 90, "frozen": 0, "total": 90}


async def test_with_on_disconnect_cancel_a_turn_stops_and_is_refunded(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.configure(on_disconnect="cancel")
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    await leave_after_first_event(client, emulator, token, sid)
    emulator.advance(1000)
    assert await _draft(client, token, sid) == {}
    assert await _balance(client, token) == {"available": 100, "frozen": 0, "total": 100}
    assert not emulator.store.sessions[sid].busy


async def test_a_turn_that_changed_the_state_is_charged_however_its_stream_ends(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    """No free credits by disconnecting: a client that hangs up right after the last tool result (the draft is
    there) pays, in either on_disconnect mode."""
    emulator.configure(on_disconnect="cancel")
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("POST", "/run_sse", json=turn_body(sid, GENERATE), headers=headers) as response:
        chunks = response.aiter_raw()
        while True:  # the clock moves one deadline at a time, so the closing text is not due yet when we leave
            emulator.clock.advance_to_next()
            await anext(chunks)
            if emulator.store.sessions[sid].state["draft"].get("m", {}).get("title"):
                break  # the last tool's result is out: the timeline is complete, only the closing text is left
    (entry,) = await emulator.wait_for(5.0, path="/run_sse", where=lambda e: e.end is not None)
    assert entry.end is StreamEnd.CLIENT_GONE
    assert await _draft(client, token, sid) != {}
    assert await _balance(client, token) == {"available": 90, "frozen": 0, "total": 90}


def test_the_api_spec_states_the_rule_for_a_disconnect() -> None:
    """What the two tests above show is written where an integrator reads about turns: /run_sse's description."""
    text = " ".join(load_spec()["paths"][PATHS.run_sse]["post"]["description"].split())
    assert "A client that disconnects" in text
    assert "does not get its credits back once the turn has changed the state" in text
    assert "Only a turn that is stopped before it changed anything is refunded" in text


@pytest.mark.parametrize("rule", [{"cut_after": 2}, {"error_after": 2}, {}])
def test_a_session_is_free_the_moment_its_stream_has_ended(rule: dict[str, int]) -> None:
    """After a cut stream, a mid-stream error or a normal end, a turn sent at once over a real connection is
    accepted: never a spurious 409 "a turn is already running" for a client that waited for the end."""
    with Served(seed=3, clock="auto") as served:
        http = httpx.Client(base_url=served.url, headers=SKILL_HEADERS, timeout=30)
        token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c"}).json()["data"]["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        sid = http.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}).json()["data"]["session_id"]
        statuses = []
        for _ in range(30):
            served.emulator.configure(faults=[{"path": "/run_sse", "times": 1, **rule}] if rule else [])
            with http.stream("POST", "/run_sse", json=turn_body(sid, "hello")) as response:
                response.read()
            statuses.append(response.status_code)
        http.close()
    assert statuses == [200] * 30


def test_sigterm_ends_long_polls_and_fault_latencies_at_once() -> None:
    """Journal long-polls and a request held by a latency fault are answered (200 and their real answer) as soon
    as the server is told to stop; it exits 0 within a second and logs no traceback."""
    process, url = start_mock("--time-scale", "1")
    answers: list[int] = []

    def ask(path: str) -> None:
        answers.append(httpx.get(url + path, timeout=30).status_code)

    try:
        httpx.put(url + "/__mock__/config", json={"faults": [{"path": "/api/credits/*", "latency": 3600}]})
        waiting = [
            threading.Thread(target=ask, args=("/__mock__/journal?wait=60&path=/nothing",)),
            threading.Thread(target=ask, args=("/__mock__/journal?wait=60&path=/nothing",)),
            threading.Thread(target=ask, args=("/api/credits/balance/simple",)),
        ]
        for thread in waiting:
            thread.start()
        held = httpx.get(url + "/__mock__/journal?path=/api/credits/*&wait=10", timeout=15).json()["data"]
        assert held["entries"], "the held request never arrived"
        time.sleep(0.3)  # the long-polls are not journalled: give them the time the held request took
        started = time.monotonic()
    finally:
        code, err = stop_process(process, signal.SIGTERM)
    stopped = time.monotonic() - started
    for thread in waiting:
        thread.join(timeout=10)
    assert code == 0 and "Traceback" not in err, err
    assert sorted(answers) == [200, 200, 401]  # the long-polls' entries, the held request's own answer (no token)
    assert stopped < 10  # a guard only; the second is measured in the bench
