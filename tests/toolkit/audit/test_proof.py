"""The audit proves itself: correct programs pass, each rule catches the one bug planted for it, and a program
that does nothing fails.

* the reference client, driven through ``nemo-contract`` commands by a short script, and a correct bash + curl +
  jq integration pass (a few scenarios here; every default scenario under the ``slow`` marker);
* for every rule, an integration with exactly that bug is caught by that rule, and by no other rule except the
  outcome where the bug keeps the work from finishing (each such case says why in conftest.VARIANTS);
* a program that exits 0 having done nothing fails: it does not pass by exercising nothing.
"""

from __future__ import annotations

import concurrent.futures
import pathlib
import re
import typing

import pytest

from nemo_contract.audit import RULES, AuditFailed, Verdicts, audit, default_matrix

from .conftest import (
    INTEGRATION_FAST,
    REFERENCE_FAST,
    VARIANTS,
    Batch,
    Variant,
    integration,
    needs_curl_jq,
    reference,
)

#: How evidence cites what it saw: a journal entry (number, method, path, real time), an output line, or the exit.
CITATION = re.compile(r"#\d+ [A-Z]+ /\S* at \+\d+\.\d\d s|(?:stdout|stderr) line \d+|exited|stopped")


def _explain(verdicts: Verdicts) -> str:
    return (
        verdicts.report() + "\n" + "\n".join(f"{r.scenario.name} stderr: {r.stderr[-600:]}" for r in verdicts.results)
    )


def _passes_everything(verdicts: Verdicts, scenarios: typing.Collection[str]) -> None:
    assert [r.scenario.name for r in verdicts.results] == [s for s in default_matrix().names() if s in scenarios]
    assert verdicts.passed, _explain(verdicts)
    assert not verdicts.failures
    for result in verdicts.results:  # the rules each scenario exists for were exercised, and held
        for rule in result.scenario.exercises:
            assert result.verdict(rule).status == "pass", (result.scenario.name, rule)


def test_the_reference_client_passes(fast_audits: Batch) -> None:
    _passes_everything(fast_audits.result("reference"), REFERENCE_FAST)


@needs_curl_jq
def test_a_correct_curl_integration_passes(fast_audits: Batch) -> None:
    verdicts = fast_audits.result("integration")
    _passes_everything(verdicts, INTEGRATION_FAST)
    notes = verdicts.scenario("server-reset").notes
    assert any(note.startswith("reset the emulator after POST /run_sse ended (#") for note in notes), notes


def test_every_rule_has_a_bug_that_trips_it() -> None:
    assert {v.rule for v in VARIANTS} == {rule.name for rule in RULES}


@needs_curl_jq
@pytest.mark.parametrize("variant", VARIANTS, ids=[v.bug for v in VARIANTS])
def test_each_bug_is_caught_by_its_rule_and_no_unrelated_one(fast_audits: Batch, variant: Variant) -> None:
    verdicts = fast_audits.result(f"bug:{variant.bug}")
    broken = {v.rule for v in verdicts.failures}
    assert broken == {variant.rule, *variant.also}, _explain(verdicts)
    caught = [v for v in verdicts.failures if v.rule == variant.rule]
    assert all(v.status == "fail" and v.scenario in variant.scenarios for v in caught)
    for verdict in verdicts.failures:
        assert CITATION.search(verdict.first_evidence()), verdict.first_evidence()
    with pytest.raises(AuditFailed, match=re.escape(variant.rule)):
        verdicts.raise_for_failures()


def test_a_program_that_does_nothing_fails(fast_audits: Batch) -> None:
    verdicts = fast_audits.result("nothing")
    assert not verdicts.passed
    assert len(verdicts.results) == len(default_matrix().scenarios)
    baseline = verdicts.scenario("baseline")
    outcome = baseline.verdict("outcome")
    assert outcome.status == "fail"
    assert outcome.evidence == (
        "expected the work done and exit status 0; the program exited 0, but the traffic shows no upload, turn, export",
    )
    # Nothing it did exercised a rule, and that counts for nothing: each scenario's own rules are missed.
    assert {verdicts.rule_status(r.name) for r in RULES if r.name != "outcome"} == {"not_exercised"}
    assert all(v.missed for v in baseline.verdicts if v.rule != "outcome" and v.required)
    assert "! " in verdicts.report() and "FAILED" in verdicts.report()


@pytest.fixture(scope="module")
def full_matrix(clip: pathlib.Path) -> typing.Iterator[dict[str, concurrent.futures.Future[Verdicts]]]:
    """The reference client and the curl integration, each on the whole default matrix, side by side."""
    from .conftest import HAVE_CURL_JQ

    commands = {"reference": reference(clip)}
    if HAVE_CURL_JQ:
        commands["integration"] = integration(clip)
    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
        yield {name: pool.submit(audit, command) for name, command in commands.items()}


@pytest.mark.slow
def test_the_reference_client_passes_every_default_scenario(
    full_matrix: dict[str, concurrent.futures.Future[Verdicts]],
) -> None:
    _passes_everything(full_matrix["reference"].result(), default_matrix().names())


@pytest.mark.slow
@needs_curl_jq
def test_a_correct_curl_integration_passes_every_default_scenario(
    full_matrix: dict[str, concurrent.futures.Future[Verdicts]],
) -> None:
    verdicts = full_matrix["integration"].result()
    _passes_everything(verdicts, default_matrix().names())
    assert {verdicts.rule_status(rule.name) for rule in RULES} == {"pass"}  # every rule exercised somewhere
