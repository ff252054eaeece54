"""ClientMachine: the reference client keeps every rule, and each rule trips on a client that breaks it.

Each broken client (``broken.py``) is driven through the machine's own rules in a fixed order, so the test shows
exactly which rule catches which mistake; the same steps with the reference client break nothing. Then the
machine searches on its own: it passes the reference client and finds a broken one, printing the steps, the
seed and the ``@reproduce_failure`` line.
"""

from __future__ import annotations

import functools
import pathlib
import typing

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from mock_server._probe import probe
from nemo_contract.testing import ClientAdapter, ClientMachine, ReferenceAdapter
from nemo_contract.testing._adapter import Wiring
from nemo_contract.testing._machine import ProtocolViolation, png_bytes

from ...helpers import derandomized
from . import broken

Step = tuple[str, dict[str, typing.Any]]
GENERATE: Step = ("generate", {"text": "generate a 10-second video of ocean waves"})
CUT_GENERATION: list[Step] = [("cut_next_stream", {"after": 2}), GENERATE]  # its stream stops after two events


def machine_of(make: typing.Callable[[Wiring], ClientAdapter]) -> type[ClientMachine]:
    class Machine(ClientMachine):
        def make_adapter(self, wiring: Wiring) -> ClientAdapter:
            return make(wiring)

    return Machine


def drive(make: typing.Callable[[Wiring], ClientAdapter], *steps: Step, before: Step | None = None) -> str:
    """Run ``steps`` in a fresh machine; the violation's text, or "" when every rule held."""
    machine = machine_of(make)()
    machine.start(seed=1)
    try:
        for name, arguments in steps:
            if name == "freeze":  # credits in use: set here, as a turn running would
                machine._account(frozen=arguments["frozen"])
                continue
            getattr(machine, name)(**arguments)
    except ProtocolViolation as violation:
        return str(violation)
    finally:
        machine.teardown()
    return ""


CASES = [
    pytest.param(broken.Resending, [("chat", {"text": "hello"})], "was accepted, and sent again", id="resends a turn"),
    pytest.param(
        broken.RetryingTwice,
        [("state", {}), ("rate_limit", {"path": "/api/state/*", "times": 2}), ("state", {})],
        "retried 2 times after code 429",
        id="retries twice",
    ),
    pytest.param(broken.ShowingTheToken, [("credits", {})], "the user was shown a token", id="shows the token"),
    pytest.param(broken.ShowingJson, [GENERATE, ("state", {})], "the user was shown raw JSON", id="shows JSON"),
    pytest.param(
        broken.DroppingAHeader, [("credits", {})], "sent without X-Skill-Platform", id="drops an attribution header"
    ),
    pytest.param(
        broken.WithoutAdvice,
        [("state", {}), ("run_out_of_credits", {}), GENERATE],
        "the user was not given a registration link with ?bind=",
        id="no advice after 2001",
    ),
    pytest.param(
        broken.WithoutAdvice,
        [("upload", {"kind": "text"})],
        "the user was not given the accepted formats (4001",
        id="no advice after 4001",
    ),
    pytest.param(
        broken.WithoutAdvice,
        [("switch_knobs", {"knobs": {"max_disk": 10}}), ("upload", {"kind": "picture"})],
        "a suggestion to compress or trim the file (4002)",
        id="no advice after 4002",
    ),
    pytest.param(
        broken.WithoutAdvice,
        [GENERATE, ("plan_allows_export", {"allowed": False}), ("export", {})],
        "that the plan blocks export, not the credits (402)",
        id="no advice after 402",
    ),
    pytest.param(
        functools.partial(broken.Minimal, renews_sessions=False),
        [("state", {}), ("idle_for_the_token_lifetime", {}), ("state", {})],
        "the client gave up on code 1002; the documents say: create a new session and retry",
        id="gives up on 1002",
    ),
    pytest.param(
        broken.Swallowing,
        [("fail_next_stream", {"after": 1}), GENERATE],
        "the turn ended with an error event, but the user was told it went fine",
        id="an error event reported as done",
    ),
    pytest.param(
        broken.Swallowing,
        CUT_GENERATION,
        "nothing changed, and the user was told it went fine",
        id="a cut stream reported as done",
    ),
    pytest.param(
        broken.Minimal,
        CUT_GENERATION,
        "the stream stopped before the turn finished and the client never read the state",
        id="no recovery of a cut stream",
    ),
    pytest.param(
        functools.partial(broken.Minimal, reads_state_after_turn=True),
        CUT_GENERATION,
        "s after the stream's last event (wait 30 s, read the state",
        id="no wait before reading the state",
    ),
    pytest.param(
        functools.partial(broken.Minimal, reads_state_after_turn=True, turns_fail=True),
        CUT_GENERATION,
        "a failure was reported after 1 read(s) of the state",
        id="a failure after one unchanged read",
    ),
    pytest.param(
        broken.Minimal,
        [GENERATE, ("silent_edits", {"rate": 1.0}), ("edit", {"text": "add background music"})],
        "the turn closed without text and the state was never read",
        id="a silent close not described",
    ),
    pytest.param(
        broken.WrongTotal,
        [("credits", {}), ("freeze", {"frozen": 5}), ("credits", {})],
        "the balance shown does not add up: available 100 + frozen 5 != 100",
        id="a total that does not add up",
    ),
]


@pytest.mark.parametrize(("client", "steps", "caught"), CASES)
def test_each_rule_catches_a_client_that_breaks_it(
    client: typing.Callable[[Wiring], ClientAdapter], steps: list[Step], caught: str
) -> None:
    violation = drive(client, *steps)
    assert caught in violation, violation
    assert "The action's requests:\n#" in violation
    assert drive(ReferenceAdapter, *steps) == ""  # the same steps: the reference client keeps the rule


def test_the_picture_it_uploads_is_a_real_picture(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "still.png"
    path.write_bytes(png_bytes(64, 36))
    info = probe(path)  # what the emulator reads of an upload
    assert (info.width, info.height) == (64, 36)


SEARCH = derandomized(
    max_examples=15, stateful_step_count=15, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)


def test_the_search_passes_the_reference_client() -> None:
    run_state_machine_as_test(ClientMachine, settings=SEARCH)


def test_the_search_finds_a_broken_client_and_says_how_to_repeat_it() -> None:
    with pytest.raises(ProtocolViolation) as raised:
        run_state_machine_as_test(machine_of(broken.ShowingTheToken), settings=SEARCH)
    notes = "\n".join(getattr(raised.value, "__notes__", []))
    assert "state.start(seed=" in notes  # the emulator's seed is the first step's argument
    assert "state.credits()" in notes
    assert "@reproduce_failure(" in notes
    assert "the user was shown a token" in str(raised.value)


def test_a_subclass_keeps_the_machines_defaults_and_takes_settings_of_its_own() -> None:
    mine = machine_of(ReferenceAdapter)
    chosen = mine.TestCase.settings
    assert (chosen.max_examples, chosen.stateful_step_count, chosen.deadline) == (25, 20, None)
    assert chosen.print_blob

    @settings(max_examples=3)
    class Smaller(ClientMachine):
        pass

    assert Smaller.TestCase.settings.max_examples == 3
