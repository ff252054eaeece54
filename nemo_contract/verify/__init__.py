"""``nemo-contract verify``: check any server against the recorded spec and the protocol's behaviour.

Two kinds of checks run. Schemathesis does what it does well: every one of its checks, through its examples,
coverage, fuzzing and stateful phases (the stateful runs follow the spec's links). Our own checks cover what a
schema cannot say: envelope code and HTTP status agree under the server's status mode; a 429 carries
Retry-After; a render start without the attribution headers is 402; a render's status only moves forward and
ends completed or failed; ``/run_sse`` delivers each event when it happens, in ADK JSON frames, with heartbeats
in one of the three documented forms, and ends by closing; another user's session is refused with 1002.

    report = verify("http://127.0.0.1:8000", max_examples=10)
    print(text_summary(report)); assert report.holds()

Nothing here imports the emulator (an import-linter contract says so): verify talks to a server over HTTP only,
with httpx for our checks and Schemathesis's own transport for its run. Schemathesis is imported only when a
phase of it runs (the ``verify`` extra installs it). ``schemathesis_config`` and ``api_schema`` give the
configuration verify runs Schemathesis with, for a test suite of its own.
"""

from __future__ import annotations

from ._checks import CHECKS, DEFAULT_MESSAGE
from ._http import ServerUnreachable
from ._model import CheckResult, Evidence, Outcome, Report
from ._report import junit_xml, report_json, text_summary
from ._run import DEFAULT_TIMEOUT, verify
from ._schemathesis import DEFAULT_MAX_EXAMPLES, PHASES, api_schema, schemathesis_config

__all__ = [
    "CHECKS",
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_MESSAGE",
    "DEFAULT_TIMEOUT",
    "PHASES",
    "CheckResult",
    "Evidence",
    "Outcome",
    "Report",
    "ServerUnreachable",
    "api_schema",
    "junit_xml",
    "report_json",
    "schemathesis_config",
    "text_summary",
    "verify",
]
