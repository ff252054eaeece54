"""The two defects ClientMachine found, as a user of ``nemo-contract`` meets them (live emulator)."""

from __future__ import annotations

import pytest

from nemo_contract.protocol import TOKEN_LIFETIME

from ..harness import GENERATE
from .runner import CLI

pytestmark = pytest.mark.live


def test_say_after_a_week_away_starts_a_new_session(cli: CLI) -> None:
    assert cli("say", GENERATE).code == 0
    cli.world.emulator.clock.advance(TOKEN_LIFETIME)  # the token and the session both expire
    said = cli("say", "add background music")
    assert said.code == 0, said.err
    assert "a new one was started" in said.out


def test_say_after_a_reset_starts_afresh(cli: CLI) -> None:
    assert cli("say", GENERATE).code == 0
    cli.world.emulator.reset()
    said = cli("say", "add background music")
    assert said.code == 0, said.err


def test_say_whose_stream_is_cut_after_its_first_text_says_the_turn_did_not_finish(cli: CLI) -> None:
    cli.world.faults({"path": "/run_sse", "cut_after": 2, "times": 1})
    said = cli("say", GENERATE)
    assert said.code == 7
    assert said.out.splitlines()[1].startswith(("Sure", "On it", "Starting"))  # after "Setting up..."
    assert "checking the timeline every 30 s" in said.out
    assert said.err_lines[-1].startswith("nemo-contract: error: The turn did not finish")
