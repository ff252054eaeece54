"""Schemathesis against the recorded specs, in-process: every check, positive and negative, and stateful runs.

Each document gets its own emulator (the control plane's reset and config would disturb the API run). The
emulators' clocks run so fast that every turn and render has ended by the time anyone looks, which keeps what
a run sees (and so what Schemathesis generates next) independent of real timing.
"""

from __future__ import annotations

import io
import typing
import wave

import anyio
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from mock_server import create_app
from nemo_contract import verify
from nemo_contract.protocol import PATHS, Code
from nemo_contract.protocol.specs import ADMIN_SPEC, spec_path
from nemo_contract.testing import StreamingASGITransport

from ..helpers import SKILL_HEADERS as SKILL
from ..helpers import derandomized

#: Virtual seconds per real second (see the module docstring); tokens outlive the run at that pace.
TIME_SCALE = 1e6
KNOBS: dict[str, typing.Any] = {"initial_credits": 10**9, "token_lifetime": 1e12}


def _mint_token(app: typing.Any) -> str:
    async def mint() -> str:
        async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://e") as http:
            response = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "schemathesis"})
            token: str = response.json()["data"]["token"]
            return token

    return anyio.run(mint)


def _schema(app: typing.Any, token: str) -> typing.Any:
    """The API spec as ``nemo-contract verify`` runs it (its configuration, real clips in uploads), in-process."""
    schema = verify.api_schema(token=token)
    schema.app = app
    return schema


class _Fresh:
    """An ASGI app that delegates to an emulator which ``renew`` replaces with a fresh one of the same seed.

    A reset would not do for a state machine's examples: it never issues again a token issued before it, and the
    run's auth configuration carries the first token. A fresh emulator with the same seed issues that token again.
    """

    def __init__(self, **options: typing.Any) -> None:
        self._options = options
        self.app = create_app(**options)

    @property
    def state(self) -> typing.Any:
        return self.app.state

    def renew(self) -> None:
        self.app.state.emulator.close()
        self.app = create_app(**self._options)

    async def __call__(self, scope: typing.Any, receive: typing.Any, send: typing.Any) -> None:
        await self.app(scope, receive, send)


API_APP = _Fresh(seed=5, time_scale=TIME_SCALE, config=KNOBS)
API_TOKEN = _mint_token(API_APP)
api_schema = _schema(API_APP, API_TOKEN)

ADMIN_APP = create_app(seed=5, time_scale=TIME_SCALE, config={"token_lifetime": 1e12})
admin_schema = schemathesis.openapi.from_path(spec_path(ADMIN_SPEC), config=verify.schemathesis_config())
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


def test_an_upload_part_that_is_not_bytes_still_goes_out() -> None:
    """Negative data puts numbers where the file parts go; without the aliases above Schemathesis cannot send
    the request at all (SerializationNotPossible) and the run stops there."""
    upload = api_schema.find_operation_by_id("upload")
    case = upload.Case(
        body={"files": [1, 2]},
        media_type="multipart/form-data",
        path_parameters={"user": "me", "session_id": "1234567890123456789"},
        headers={**SKILL, "Authorization": f"Bearer {API_TOKEN}"},
    )
    response = case.call()
    assert response.json()["code"] == Code.SESSION_NOT_FOUND


def _quiet_wav() -> bytes:
    """A tenth of a second of silence as a real WAV: an upload must be the media its name says."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(1600))
    return buffer.getvalue()


async def _uploaded_file_path(app: typing.Any, token: str) -> str:
    async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://e", headers=SKILL) as http:
        auth = {"Authorization": f"Bearer {token}"}
        created = await http.post(PATHS.create_session.format(user="me"), json={"task_name": "range"}, headers=auth)
        upload = PATHS.upload.format(user="me", session_id=created.json()["data"]["session_id"])
        files = {"files": ("note.wav", _quiet_wav(), "audio/wav")}
        answer = await http.post(upload, files=files, headers=auth)
        url: str = answer.json()["data"]["files"][0]["cdn_url"]
        return httpx.URL(url).path


def test_a_range_past_the_end_is_expected_for_valid_data() -> None:
    """A valid Range the file is too short for gets 416: with the download operations' 416 allowance the
    positive-data check accepts it, without it the check fails."""
    app = create_app(seed=5, time_scale=TIME_SCALE, config=KNOBS)
    token = _mint_token(app)
    schema = _schema(app, token)
    file_id, filename = anyio.run(_uploaded_file_path, app, token).rsplit("/", 2)[1:]
    strategy = schema.find_operation_by_id("getUploadedFile").as_strategy(generation_mode=GenerationMode.POSITIVE)
    statuses: list[int] = []

    @settings(max_examples=1, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(case: schemathesis.Case[typing.Any]) -> None:
        case.path_parameters = {"file_id": file_id, "filename": filename}
        case.headers["Range"] = "bytes=1000000-"
        statuses.append(case.call_and_validate().status_code)

    try:
        check()
    finally:
        app.state.emulator.close()
    assert statuses == [416]


def _workflow(app: _Fresh, schema: typing.Any, token: str, reached: dict[str, bool] | None = None) -> type[typing.Any]:
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        """Every example starts from a fresh emulator, so a replayed example sees the same ids in its links.

        A fresh emulator with the same seed gives the same first token for the same client id, which is the one
        the run's auth configuration carries. ``reached`` records how deep the run got.
        """

        def setup(self) -> None:
            app.renew()
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


#: Stateful runs are derandomized, as the generation config's ``deterministic`` makes the other tests: whether
#: CI passes, and how deep a run gets, do not depend on luck (unseeded, 2 of 60 runs of 30 examples missed an
#: upload). What a run draws still depends on what ran before it in the process, so the file run in full draws
#: the same every time. Schemathesis strips Hypothesis's reproduce line from these runs; it prints each failing
#: run's steps and a curl command for the failing request instead.
STATEFUL = derandomized(max_examples=30, stateful_step_count=8, suppress_health_check=list(HealthCheck))


def _run_until_deep(
    machine: typing.Callable[[dict[str, bool]], type[typing.Any]], run: settings, needed: set[str]
) -> dict[str, bool]:
    """Run the machine derandomized; while the runs have not reached every ``needed`` state, run it again
    unseeded (four times at most). Every run's steps are checked, so a check failure in any run fails the test with
    its steps printed. Why: what a derandomized run draws also depends on the source and on what ran before it in
    the process, so one run's depth is luck (unseeded, about 1 run in 20 misses a turn or an upload)."""
    reached: dict[str, bool] = {}
    machine(reached).run(settings=run)
    for _ in range(4):
        if needed <= reached.keys():
            break
        machine(reached).run(settings=settings(run, derandomize=False))
    return reached


def test_the_api_workflow_conforms_and_reaches_deep_states() -> None:
    """Every step of the stateful run is checked against the spec; and the run is only worth something if it gets
    past 404s: real uploads, turns and renders happen. (A second, pytest-collected copy of this machine would draw
    exactly the same steps under derandomize, so there is only this one.)"""
    needed = {"upload", "turn", "render"}
    reached = _run_until_deep(lambda r: _workflow(API_APP, api_schema, API_TOKEN, r), STATEFUL, needed)
    assert reached.keys() == needed


#: The documented variants of the stream and the render shapes, each held to the spec by a stateful run.
VARIANTS: dict[str, dict[str, typing.Any]] = {
    "typed_json_wrapped": {"event_format": "typed", "heartbeat": "json", "render_shape": "wrapped"},
    "comment_heartbeats": {"heartbeat": "comment", "heartbeat_interval": 1},
}
VARIANT_APPS = {
    name: _Fresh(seed=5, time_scale=TIME_SCALE, config={**KNOBS, **knobs}) for name, knobs in VARIANTS.items()
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_knob_variant_conforms(variant: str) -> None:
    app = VARIANT_APPS[variant]
    token = _mint_token(app)
    schema = _schema(app, token)
    run = settings(STATEFUL, max_examples=20)
    reached = _run_until_deep(lambda r: _workflow(app, schema, token, r), run, {"turn", "render"})
    assert {"turn", "render"} <= reached.keys(), f"the runs reached only {sorted(reached)}"


@pytest.fixture(scope="module", autouse=True)
def _close_apps() -> typing.Iterator[None]:
    yield
    for app in (API_APP.app, ADMIN_APP, *(fresh.app for fresh in VARIANT_APPS.values())):
        app.state.emulator.close()
