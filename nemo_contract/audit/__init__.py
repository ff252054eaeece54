"""Judge any integration of the NemoVideo agent API, in any language, by the traffic it sends.

``audit(command)`` runs the program once per scenario of a matrix, each time against a fresh emulator on a
loopback port (``NEMO_API_URL`` points at it, ``NEMO_TOKEN`` is unset, ``HOME`` is a fresh folder), with the
scenario's knobs, faults and triggers; then it judges the emulator's journal and the program's output against
named rules, each quoting the sentence of the documents it enforces. The result, ``Verdicts``, says for every
rule and scenario ``pass``, ``fail`` (with evidence: journal entry numbers and times, or the output line) or
``not_exercised``, which is never a pass.

In a test::

    from nemo_contract.audit import audit

    def test_my_integration_follows_the_protocol():
        audit(["./my-integration.sh"], scenarios=["baseline", "token-expires"]).raise_for_failures()

``raise_for_failures()`` raises ``AuditFailed`` (an ``AssertionError``) whose message is the evidence. The
command line is ``nemo-contract audit -- CMD [ARGS...]``; the scenario file format is
``specs/audit-scenarios.schema.json``, the JSON report's ``specs/audit-report.schema.json``.
"""

from __future__ import annotations

from ._audit import DEFAULT_TIMEOUT, audit, default_parallel
from ._catalogue import RULES
from ._runner import ProgramNotStarted
from ._scenarios import Expect, Matrix, Scenario, ScenarioError, Trigger, default_matrix, load_matrix
from ._verdicts import AuditFailed, Rule, ScenarioResult, Verdict, Verdicts

__all__ = [
    "DEFAULT_TIMEOUT",
    "RULES",
    "AuditFailed",
    "Expect",
    "Matrix",
    "ProgramNotStarted",
    "Rule",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Trigger",
    "Verdict",
    "Verdicts",
    "audit",
    "default_matrix",
    "default_parallel",
    "load_matrix",
]
