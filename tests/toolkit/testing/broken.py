"""Clients that break one rule each, for ClientMachine to catch: the reference client with one thing done wrong,
and a small client written against the documents by hand (``Minimal``) that leaves out parts of the recovery."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import typing

import httpx

from nemo_contract import NemoError
from nemo_contract.protocol import PATHS, Code, Header
from nemo_contract.protocol.events import EventKind, classify
from nemo_contract.protocol.shapes import turn_request
from nemo_contract.testing import Outcome, ReferenceAdapter
from nemo_contract.testing._adapter import Wiring

__all__ = [
    "DroppingAHeader",
    "Minimal",
    "Resending",
    "RetryingTwice",
    "ShowingJson",
    "ShowingTheToken",
    "Swallowing",
    "WithoutAdvice",
    "WrongTotal",
]

SKILL = {"X-Skill-Source": "video-to-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}


class Resending(ReferenceAdapter):
    """Sends every turn twice."""

    def say(self, text: str) -> Outcome:
        super().say(text)
        return super().say(text)


class RetryingTwice(ReferenceAdapter):
    """Tries the state once more when the client has given up (after its own retry)."""

    def state(self) -> Outcome:
        outcome = super().state()
        return outcome if outcome.ok else super().state()


class ShowingTheToken(ReferenceAdapter):
    def credits(self) -> Outcome:
        outcome = super().credits()
        return dataclasses.replace(outcome, shown=f"{outcome.shown} (token {self.client.credentials.token})")


class ShowingJson(ReferenceAdapter):
    """Shows the draft as the API sent it."""

    def state(self) -> Outcome:
        return Outcome(True, json.dumps(self.client.state().draft))


class DroppingAHeader(ReferenceAdapter):
    """Its HTTP layer loses ``X-Skill-Platform``."""

    def __init__(self, wiring: Wiring) -> None:
        def drop(request: httpx.Request) -> None:
            del request.headers[Header.SKILL_PLATFORM.value]

        http = httpx.Client(transport=wiring.transport, event_hooks={"request": [drop]}, timeout=60)
        super().__init__(wiring, http_client=http)


class WithoutAdvice(ReferenceAdapter):
    """Says that something went wrong, and nothing else."""

    def _outcome(self, run: typing.Callable[[], typing.Iterable[str]]) -> Outcome:
        try:
            return Outcome(True, "\n".join(run()))
        except NemoError:
            return Outcome(False, "Something went wrong.")


class Swallowing(ReferenceAdapter):
    """Reports every turn as done."""

    def say(self, text: str) -> Outcome:
        return dataclasses.replace(super().say(text), ok=True)


class WrongTotal(ReferenceAdapter):
    """Shows the available credits as the total."""

    def credits(self) -> Outcome:
        outcome = super().credits()
        assert outcome.balance is not None
        available, frozen, _ = outcome.balance
        return dataclasses.replace(outcome, balance=(available, frozen, available))


class Minimal:
    """A client written from the documents in a hurry: a token (renewed on 1001), a session, turns whose text it
    prints. ``renews_sessions``: it starts a new session on 1002; ``reads_state_after_turn``: it reads the state
    right after a turn (at once, and once); ``turns_fail``: it then says the turn failed."""

    def __init__(
        self,
        wiring: Wiring,
        *,
        renews_sessions: bool = False,
        reads_state_after_turn: bool = False,
        turns_fail: bool = False,
    ) -> None:
        self.http = httpx.Client(base_url=wiring.base_url, transport=wiring.transport, headers=SKILL, timeout=60)
        self.renews_sessions = renews_sessions
        self.reads_state_after_turn = reads_state_after_turn
        self.turns_fail = turns_fail
        self.token: str | None = None
        self.session: str | None = None

    def _auth(self) -> dict[str, str]:
        if self.token is None:
            answer = self.http.post(PATHS.anonymous_token, headers={Header.CLIENT_ID.value: "minimal"}).json()
            self.token = answer["data"]["token"]
        return {"Authorization": f"Bearer {self.token}"}

    def _session(self) -> str:
        if self.session is None:
            path = PATHS.create_session.format(user="me")
            answer = self.http.post(path, json={"task_name": "project"}, headers=self._auth()).json()
            self.session = answer["data"]["session_id"]
        return self.session

    def _get(self, template: str, *, retried: frozenset[int] = frozenset()) -> dict[str, typing.Any]:
        answer: dict[str, typing.Any] = self.http.get(
            template.format(user="me", session_id=self._session()), headers=self._auth()
        ).json()
        code = answer.get("code")
        if code == Code.TOKEN_INVALID and code not in retried:
            self.token = None
            return self._get(template, retried=retried | {code})
        if code == Code.SESSION_NOT_FOUND and self.renews_sessions and code not in retried:
            self.session = None
            return self._get(template, retried=retried | {code})
        return answer

    def state(self) -> Outcome:
        answer = self._get(PATHS.state)
        return Outcome(answer.get("code") == 0, "Timeline read." if answer.get("code") == 0 else "Failed.")

    def credits(self) -> Outcome:
        answer = self._get(PATHS.credits)
        if answer.get("code") != 0:
            return Outcome(False, "Failed.")
        data = answer["data"]
        return Outcome(True, "Credits shown.", (data["available"], data["frozen"], data["total"]))

    def say(self, text: str) -> Outcome:
        body = turn_request(self._session(), text)
        said = []
        headers = {**self._auth(), "Accept": "text/event-stream"}
        with self.http.stream("POST", PATHS.run_sse, json=body, headers=headers) as response:
            if response.status_code != 200:
                response.read()
                return Outcome(False, "Failed.")
            for line in response.iter_lines():
                if line.startswith("data:"):
                    said += [event.text for event in classify(line[5:].strip()) if event.kind is EventKind.TEXT]
        if self.reads_state_after_turn:
            self.state()
        return Outcome(not self.turns_fail, "\n".join(said))

    def upload(self, path: pathlib.Path) -> Outcome:
        return Outcome(False, "Uploads are not supported.")

    def export(self) -> Outcome:
        return Outcome(False, "Exports are not supported.")

    def close(self) -> None:
        self.http.close()
