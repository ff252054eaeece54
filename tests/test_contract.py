"""Schemathesis against the recorded specs, in-process: every check, positive and negative, and stateful runs.

Each document gets its own emulator (the control plane's reset and config would disturb the API run). The
emulator's clock runs 2,000x so that streams and renders finish within Schemathesis's read limits.
"""

from __future__ import annotations

import typing

import anyio
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from mock_server import create_app
from nemo_contract._specs import ADMIN_SPEC, API_SPEC, spec_path
from nemo_contract._transport import StreamingASGITransport

SKILL = {"X-Skill-Source": "video-to-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}
#: Where a documented answer depends on more than the request's shape (the file name's extension, the
#: account's credits), Schemathesis is told that answer is expected for well-formed data too.
PER_OPERATION: list[dict[str, typing.Any]] = [
    {
        "include-operation-id": "startRender",
        "checks": {
            "missing_required_header": {"expected-statuses": ["402"]},
            "negative_data_rejection": {"expected-statuses": ["400", "401", "402", "404", "409", "429"]},
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "402", "404", "409", "429"]},
        },
    },
    {
        "include-operation-id": "upload",
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "404", "409", "413", "415", "429"]}
        },
    },
    {
        "include-operation-id": "runSse",
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "402", "404", "409", "429"]}},
    },
]


def _mint_token(app: typing.Any) -> str:
    async def mint() -> str:
        async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://e") as http:
            response = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "schemathesis"})
            token: str = response.json()["data"]["token"]
            return token

    return anyio.run(mint)


def _config(token: str | None) -> schemathesis.Config:
    data: dict[str, typing.Any] = {
        "generation": {"mode": "all", "max-examples": 25, "deterministic": True},
        "headers": SKILL,
        "operations": PER_OPERATION,
    }
    if token is not None:
        data["auth"] = {"openapi": {"bearerAuth": {"bearer": token}}}
    return schemathesis.Config.from_dict(data)


API_APP = create_app(seed=5, time_scale=2000.0, config={"initial_credits": 10**9})
API_TOKEN = _mint_token(API_APP)
api_schema = schemathesis.openapi.from_path(spec_path(API_SPEC), config=_config(API_TOKEN))
api_schema.app = API_APP

ADMIN_APP = create_app(seed=5, time_scale=2000.0)
admin_schema = schemathesis.openapi.from_path(spec_path(ADMIN_SPEC), config=_config(None))
admin_schema.app = ADMIN_APP


@schemathesis.hook
def before_call(context: typing.Any, case: schemathesis.Case[typing.Any], kwargs: dict[str, typing.Any]) -> None:
    """Shorten journal long-polls (the only ``wait`` parameter): the emulator honours waits of up to 60 s
    (tests/test_admin.py shows it), but Schemathesis gives up on a response after 10 s."""
    if case.path != "/__mock__/journal" or not case.query or "wait" not in case.query:
        return
    try:
        long_wait = 0.1 < float(case.query["wait"]) <= 60
    except (TypeError, ValueError):
        long_wait = False
    if long_wait:
        case.query = {**case.query, "wait": 0.1}


@api_schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_api_operations_conform(case: schemathesis.Case[typing.Any]) -> None:
    case.call_and_validate()


@admin_schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_control_plane_operations_conform(case: schemathesis.Case[typing.Any]) -> None:
    case.call_and_validate()


class APIWorkflow(api_schema.as_state_machine()):  # type: ignore[misc]
    """Every example starts from a fresh emulator, so a replayed example sees the same ids in its links.

    After a reset the same seed gives the same first token for the same client id, which is the one the
    run's auth configuration carries.
    """

    def setup(self) -> None:
        API_APP.state.emulator.reset()
        assert _mint_token(API_APP) == API_TOKEN


TestApiWorkflow = APIWorkflow.TestCase
TestApiWorkflow.settings = settings(
    max_examples=30, stateful_step_count=8, deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module", autouse=True)
def _close_apps() -> typing.Iterator[None]:
    yield
    API_APP.state.emulator.close()
    ADMIN_APP.state.emulator.close()


def test_the_stateful_runs_reach_deep_states() -> None:
    """The workflow is only worth something if it gets past 404s: real uploads, turns and renders happen."""
    reached = {"upload": False, "turn": False, "render": False}

    class Watched(APIWorkflow):
        def after_call(self, response: typing.Any, case: schemathesis.Case[typing.Any]) -> None:
            super().after_call(response, case)
            store = API_APP.state.emulator.store
            reached["upload"] |= any(s.state["video_infos"] for s in store.sessions.values())
            reached["turn"] |= any(s.turns for s in store.sessions.values())
            reached["render"] |= bool(store.renders)

    Watched.run(settings=settings(max_examples=30, stateful_step_count=8, deadline=None, database=None))
    assert reached == {"upload": True, "turn": True, "render": True}
