"""Credits under any interleaving of turns: total = available + frozen, nothing negative, frozen = open turns.

A Hypothesis state machine opens turns (generation, edit, chat), finishes them, abandons them mid-stream, makes
them fail mid-stream, and sets balances through the control plane; after every step the balance must agree
with a model of which turns are open.
"""

from __future__ import annotations

import typing

import anyio
import anyio.from_thread
import httpx
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mock_server import create_app
from nemo_contract.testing import StreamingASGITransport

from ..helpers import SKILL_HEADERS, START

COSTS = {"generate a video": 10, "add music": 5, "hello": 0}


class CreditsMachine(RuleBasedStateMachine):
    @initialize()
    def fresh_emulator(self) -> None:
        self.portal_cm = anyio.from_thread.start_blocking_portal()
        self.portal = self.portal_cm.__enter__()
        self.app = create_app(
            seed=3, time_scale=0, clock_start=START, config={"silent_close_rate": 0.5, "on_disconnect": "cancel"}
        )
        self.emulator = self.app.state.emulator
        self.http = httpx.AsyncClient(
            transport=StreamingASGITransport(self.app), base_url="http://e", headers=SKILL_HEADERS
        )
        token = self.call("POST", "/api/auth/anonymous-token", headers={"X-Client-Id": "m"}).json()["data"]
        self.auth = {"Authorization": f"Bearer {token['token']}"}
        self.user_id = token["user_id"]
        self.sessions = [
            self.call("POST", "/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}).json()["data"][
                "session_id"
            ]
            for _ in range(3)
        ]
        self.open: dict[str, tuple[httpx.Response, int]] = {}  # session -> (stream, cost)
        self.generated: set[str] = set()

    def call(self, method: str, path: str, **kwargs: typing.Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})} if hasattr(self, "auth") else kwargs.pop("headers", {})

        async def go() -> httpx.Response:
            return await self.http.request(method, path, headers=headers, **kwargs)

        return self.portal.call(go)

    def balance(self) -> dict[str, int]:
        data: dict[str, int] = self.call("GET", "/api/credits/balance/simple").json()["data"]
        return data

    @rule(index=st.integers(0, 2), text=st.sampled_from(sorted(COSTS)))
    def start_turn(self, index: int, text: str) -> None:
        session = self.sessions[index]
        body = {"app_name": "nemo_agent", "session_id": session, "new_message": {"parts": [{"text": text}]}}
        self.portal.call(anyio.sleep, 0.005)  # let turns whose end has passed settle before deciding
        before = self.balance()
        busy = self.emulator.store.sessions[session].busy

        async def go() -> httpx.Response:
            request = self.http.build_request("POST", "/run_sse", json=body, headers=self.auth)
            return await self.http.send(request, stream=True)

        response = self.portal.call(go)
        if response.status_code != 200:
            self.portal.call(response.aread)
        # What it costs depends on the draft: an edit of an empty draft is a free chat turn.
        cost = COSTS[text] if text != "add music" or session in self.generated else 0
        if busy:
            assert response.status_code == 409
        elif cost > before["available"]:
            assert (response.status_code, response.json()["code"]) == (402, 2001)
        else:
            assert response.status_code == 200
            if session in self.open:  # its earlier turn already ran to its end unread
                self.portal.call(self.open.pop(session)[0].aclose)
            self.open[session] = (response, cost)
            if text == "generate a video":
                self.generated.add(session)
            return
        self.portal.call(response.aclose)

    @precondition(lambda self: bool(self.open))
    @rule(data=st.data())
    def finish_turn(self, data: st.DataObject) -> None:
        session = data.draw(st.sampled_from(sorted(self.open)))
        response, _ = self.open.pop(session)

        async def drain() -> None:
            with self.emulator.clock.autojumping():
                async for _ in response.aiter_raw():
                    pass
            await response.aclose()

        self.portal.call(drain)

    @precondition(lambda self: bool(self.open))
    @rule(data=st.data())
    def abandon_turn(self, data: st.DataObject) -> None:
        session = data.draw(st.sampled_from(sorted(self.open)))
        response, _ = self.open.pop(session)
        self.portal.call(response.aclose)
        self.portal.call(anyio.sleep, 0.01)  # the emulator notices the disconnect
        if session in self.generated and not self.emulator.store.sessions[session].state["draft"]:
            self.generated.discard(session)

    @rule(available=st.integers(0, 40))
    def set_available(self, available: int) -> None:
        self.call("PUT", f"/__mock__/accounts/{self.user_id}", json={"available": available})

    @invariant()
    def credits_add_up(self) -> None:
        if not hasattr(self, "portal"):
            return
        self.portal.call(anyio.sleep, 0.005)
        balance = self.balance()
        assert balance["total"] == balance["available"] + balance["frozen"]
        assert balance["available"] >= 0 and balance["frozen"] >= 0
        # A turn nobody reads still runs to its end on the server when the shared clock passes it.
        running = {s: cost for s, (_, cost) in self.open.items() if self.emulator.store.sessions[s].busy}
        assert balance["frozen"] == sum(running.values())

    def teardown(self) -> None:
        if hasattr(self, "portal"):
            for response, _ in self.open.values():
                self.portal.call(response.aclose)
            self.portal.call(self.http.aclose)
            self.emulator.close()
            self.portal_cm.__exit__(None, None, None)


TestCredits = CreditsMachine.TestCase
TestCredits.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
