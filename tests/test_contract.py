"""Schemathesis against the recorded specs, in-process: every check, positive and negative, and stateful runs.

Each document gets its own emulator (the control plane's reset and config would disturb the API run). The
emulators' clocks run so fast that every turn and render has ended by the time anyone looks, which keeps what
a run sees (and so what Schemathesis generates next) independent of real timing.
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

#: Virtual seconds per real second (see the module docstring); tokens outlive the run at that pace.
TIME_SCALE = 1e6
KNOBS: dict[str, typing.Any] = {"initial_credits": 10**9, "token_lifetime": 1e12}
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
        # Read every stream to its end: a run that hung up early would race the turn it cut short, and what
        # the state shows next (so what Schemathesis generates next) would depend on timing.
        "max-stream-events": 100_000,
        # Nor may generation feed on what earlier examples saw: values from responses carry virtual timestamps,
        # which move with real time, and link calibration learns across examples; a replayed example must
        # draw the same data, or Hypothesis rightly calls the test flaky.
        "phases": {
            "fuzzing": {"extra-data-sources": {"responses": False}},
            "stateful": {"link-calibration": False},
        },
        "operations": PER_OPERATION,
    }
    if token is not None:
        data["auth"] = {"openapi": {"bearerAuth": {"bearer": token}}}
    return schemathesis.Config.from_dict(data)


API_APP = create_app(seed=5, time_scale=TIME_SCALE, config=KNOBS)
API_TOKEN = _mint_token(API_APP)
api_schema = schemathesis.openapi.from_path(spec_path(API_SPEC), config=_config(API_TOKEN))
api_schema.app = API_APP

ADMIN_APP = create_app(seed=5, time_scale=TIME_SCALE, config={"token_lifetime": 1e12})
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


def _workflow(
    app: typing.Any, schema: typing.Any, token: str, reached: dict[str, bool] | None = None
) -> type[typing.Any]:
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        """Every example starts from a fresh emulator, so a replayed example sees the same ids in its links.

        After a reset the same seed gives the same first token for the same client id, which is the one the
        run's auth configuration carries. ``reached`` records how deep the run got.
        """

        def setup(self) -> None:
            app.state.emulator.reset()
            assert _mint_token(app) == token

        def after_call(self, response: typing.Any, case: schemathesis.Case[typing.Any]) -> None:
            super().after_call(response, case)
            if reached is not None and response.status_code == 200:
                # What the run got past 404s to, judged by the answers it received.
                step = {"upload": "upload", "runSse": "turn", "startRender": "render"}.get(
                    case.operation.definition.raw.get("operationId", "")
                )
                if step is not None:
                    reached[step] = True

    return Workflow


APIWorkflow = _workflow(API_APP, api_schema, API_TOKEN)
TestApiWorkflow = APIWorkflow.TestCase
TestApiWorkflow.settings = settings(
    max_examples=30, stateful_step_count=8, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def test_the_stateful_runs_reach_deep_states() -> None:
    """The workflow is only worth something if it gets past 404s: real uploads, turns and renders happen."""
    reached: dict[str, bool] = {}
    _workflow(API_APP, api_schema, API_TOKEN, reached).run(
        settings=settings(max_examples=30, stateful_step_count=8, deadline=None, database=None)
    )
    assert reached == {"upload": True, "turn": True, "render": True}


#: The documented variants of the stream and the render shapes, each held to the spec by a stateful run.
VARIANTS: dict[str, dict[str, typing.Any]] = {
    "typed_json_wrapped": {"event_format": "typed", "heartbeat": "json", "render_shape": "wrapped"},
    "comment_heartbeats": {"heartbeat": "comment", "heartbeat_interval": 1},
}
VARIANT_APPS = {
    name: create_app(seed=5, time_scale=TIME_SCALE, config={**KNOBS, **knobs}) for name, knobs in VARIANTS.items()
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_knob_variant_conforms(variant: str) -> None:
    app = VARIANT_APPS[variant]
    token = _mint_token(app)
    schema = schemathesis.openapi.from_path(spec_path(API_SPEC), config=_config(token))
    schema.app = app
    reached: dict[str, bool] = {}
    checks = settings(max_examples=20, stateful_step_count=8, deadline=None, database=None)
    _workflow(app, schema, token, reached).run(settings=settings(checks, suppress_health_check=list(HealthCheck)))
    assert reached["turn"] and reached["render"]


@pytest.fixture(scope="module", autouse=True)
def _close_apps() -> typing.Iterator[None]:
    yield
    for app in (API_APP, ADMIN_APP, *VARIANT_APPS.values()):
        app.state.emulator.close()
