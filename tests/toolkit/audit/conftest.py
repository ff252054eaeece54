"""What the audit's tests share: the programs under audit, a clip for them, and the fast batch of audits.

The programs: ``reference.sh`` (the reference client through its commands), ``integration.sh`` (a correct bash +
curl + jq integration; ``INTEGRATION_BUG=<name>`` plants one bug), ``probe.py`` (a few named calls). Audits take
real time (an export waits a 30-second polling interval), so every fast audit the tests need is started at once,
side by side, the first time one is asked for; each test then waits for its own.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import pathlib
import shutil
import sys
import typing

import pytest

from nemo_contract.audit import Matrix, Verdicts, audit
from tests.clips import make_mp4

HERE = pathlib.Path(__file__).resolve().parent
INTEGRATION = HERE / "integration.sh"
REFERENCE = HERE / "reference.sh"
PROBE = HERE / "probe.py"
NEMO_CONTRACT = pathlib.Path(sys.executable).parent / "nemo-contract"
HAVE_CURL_JQ = all(shutil.which(tool) for tool in ("bash", "curl", "jq"))
needs_curl_jq = pytest.mark.skipif(
    not HAVE_CURL_JQ, reason="the bash + curl + jq integration needs bash, curl and jq on PATH (CI installs them)"
)


def integration(clip: pathlib.Path, bug: str | None = None) -> list[str]:
    """The command that runs the bash + curl + jq integration, with one bug planted or none."""
    return ["env", f"INTEGRATION_BUG={bug or ''}", str(INTEGRATION), str(clip)]


def reference(clip: pathlib.Path) -> list[str]:
    return ["env", f"REFERENCE_CLIENT={NEMO_CONTRACT}", str(REFERENCE), str(clip)]


def probe(*steps: str) -> list[str]:
    return [sys.executable, str(PROBE), *steps]


@dataclasses.dataclass(frozen=True)
class Variant:
    """An integration with exactly one bug: the rule that must catch it, where, and what else it breaks.

    ``also``: the rules the bug breaks as its consequence, each said why (only ``outcome``: a program whose
    recovery or stream reading is broken cannot finish its work, and the outcome rule says so).
    """

    bug: str
    rule: str
    scenarios: tuple[str, ...]
    also: tuple[str, ...] = ()


#: One bug per rule (two for after-1001), each a small change of integration.sh that a correct program lacks.
VARIANTS: typing.Final = (
    Variant("no-bearer-on-credits", "bearer-token", ("baseline",)),
    Variant("no-platform-header", "attribution-headers", ("baseline",)),
    Variant("no-client-id-first", "client-id", ("baseline",)),
    Variant("token-every-call", "token-reused", ("baseline",)),
    Variant("session-for-export", "session-reused", ("baseline",)),
    Variant("renew-twice", "after-1001", ("token-expires",)),
    # It cannot go on with a refused token: the work is not done (outcome).
    Variant("retry-old-token", "after-1001", ("token-expires",), also=("outcome",)),
    Variant("retry-old-session", "after-1002", ("session-lost",)),
    Variant("no-wait-429", "after-429", ("rate-limited-once",)),
    # Its third try gets through, so it finishes where a correct program stops (outcome).
    Variant("retry-twice", "one-retry", ("rate-limited-twice",), also=("outcome",)),
    Variant("continue-after-2001", "after-2001", ("out-of-credits",)),
    Variant("retry-402", "after-402", ("export-blocked",)),
    Variant("reupload", "after-upload-refused", ("upload-unsupported",)),
    Variant("status-decides", "envelope-decides", ("token-expires-always200",)),
    Variant("resend-after-cut", "turn-not-resent", ("stream-cut",)),
    Variant("overlap-turns", "one-turn-at-a-time", ("baseline",)),
    # The generation it left keeps running, so its next turn is refused 409 and it stops (outcome).
    Variant("heartbeat-is-end", "stream-read-to-end", ("long-generation",), also=("outcome",)),
    Variant("no-state-after-silence", "silent-close-followed", ("silent-edits",)),
    Variant("fast-polls", "poll-cadence", ("baseline",)),
    Variant("poll-after-done", "poll-to-the-end", ("baseline",)),
    Variant("toplevel-url-only", "download-output", ("render-wrapped",)),
    Variant("foreign-user-path", "own-user-paths", ("baseline",)),
    Variant("prints-token", "token-not-shown", ("baseline",)),
    Variant("prints-raw-json", "raw-json-not-shown", ("baseline",)),
    Variant("swallow-errors", "outcome", ("export-blocked",)),
)

#: The correct programs in the fast batch, on a few scenarios that between them exercise every kind of recovery.
REFERENCE_FAST = ("baseline", "token-expires")
INTEGRATION_FAST = ("baseline", "token-expires", "session-lost", "stream-cut", "render-wrapped", "server-reset")


@dataclasses.dataclass(frozen=True)
class Job:
    command: list[str]
    scenarios: tuple[str, ...] | None = None
    matrix: Matrix | None = None


class Batch:
    """Audits running side by side; ``result(key)`` waits for one."""

    def __init__(self, jobs: dict[str, Job]) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max(1, len(jobs)), thread_name_prefix="audit-test")
        self._futures = {
            key: self._pool.submit(audit, job.command, scenarios=job.scenarios, matrix=job.matrix)
            for key, job in jobs.items()
        }

    def result(self, key: str) -> Verdicts:
        return self._futures[key].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The clip the programs upload (a second of real H.264)."""
    return make_mp4(tmp_path_factory.mktemp("audit-clip") / "clip.mp4")


@pytest.fixture(scope="session")
def fast_audits(clip: pathlib.Path) -> typing.Iterator[Batch]:
    """Every fast audit of the proof, started together: the correct programs on a few scenarios, a program that
    does nothing on the whole matrix, and each bug variant where its rule is exercised."""
    jobs = {
        "reference": Job(reference(clip), REFERENCE_FAST),
        "nothing": Job(["true"]),
    }
    if HAVE_CURL_JQ:
        jobs["integration"] = Job(integration(clip), INTEGRATION_FAST)
        jobs |= {f"bug:{v.bug}": Job(integration(clip, v.bug), v.scenarios) for v in VARIANTS}
    batch = Batch(jobs)
    yield batch
    batch.close()
