"""The Schemathesis run: every Schemathesis check, through its examples, coverage, fuzzing and stateful phases
(the stateful runs follow the links of the recorded spec), against the server under test.

The run goes through Schemathesis's engine (``schemathesis.engine.from_schema(schema).execute()``), the one its
``st run`` command drives, in this process: the phases, their order and their time sharing are Schemathesis's
own, and each check's findings come back as events rather than as text to parse. The pytest-facing API
(``schema.parametrize``, ``as_state_machine``) has no coverage phase and no runner. Checked against Schemathesis
4.32.

Two things of the protocol Schemathesis cannot know are set here. The spec's responses describe
``status_mode=http``; a server in ``always200`` mode sends every error envelope with HTTP 200, so each such
answer is handed to Schemathesis with its code's own status (after it is noted for ``envelope_status``, which
judges the statuses), and the ``ignored_auth`` check, whose probes expect 401, is not run in that mode (our
``token_required`` covers the ground). And an upload's file parts carry a real MP4: the emulator (rightly)
refuses bytes that are not the media their name says, and without real uploads a stateful run cannot get deep.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing

from ..protocol import HTTP_STATUS, PATHS, Code, StatusMode
from ..protocol import fields as f
from ..protocol.specs import API_SPEC, load_spec, spec_path
from ._http import ATTRIBUTION, Masker, Recorder, envelope_code, excerpt
from ._model import SCHEMATHESIS_RUN, CheckResult, Evidence, Outcome

if typing.TYPE_CHECKING:
    import schemathesis
    from schemathesis.specs.openapi.schemas import OpenApiSchema

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "PHASES",
    "RUN",
    "RUN_DESCRIPTION",
    "api_schema",
    "clip",
    "run",
    "schemathesis_config",
]

PHASES: typing.Final = ("examples", "coverage", "fuzzing", "stateful")
DEFAULT_MAX_EXAMPLES = 25
#: Evidence kept per check: the first few distinct failures say what is wrong; the count says how often.
_KEEP = 5
#: The result that stands for the Schemathesis run itself, beside one per check it ran.
RUN = SCHEMATHESIS_RUN
RUN_DESCRIPTION = "Schemathesis ran against the recorded spec"


def _operations_taking(parameter: str) -> list[str]:
    """The ids of the operations that declare the component parameter ``parameter``."""
    ref = f"#/components/parameters/{parameter}"
    return sorted(
        operation["operationId"]
        for item in load_spec(API_SPEC)["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and any(p.get("$ref") == ref for p in operation.get("parameters", []))
    )


def _upload_part_media_types() -> list[str]:
    """The media types the spec lists for an upload's file parts (its ``encoding.files.contentType``)."""
    form = load_spec(API_SPEC)["paths"][PATHS.upload]["post"]["requestBody"]["content"]["multipart/form-data"]
    return [kind.strip() for kind in form["encoding"][f.FILES]["contentType"].split(",")]


def _per_operation() -> list[dict[str, typing.Any]]:
    """Where a documented answer depends on more than the request's shape (the account's credits and plan, a
    file name's extension, a file's length), Schemathesis is told that answer is expected for valid data too."""
    ok = ["2xx", "401", "404", "409", "429"]
    return [
        {
            "include-operation-id": "startRender",
            "checks": {
                "missing_required_header": {"expected-statuses": ["402"]},
                "negative_data_rejection": {"expected-statuses": ["400", "401", "402", "404", "409", "429"]},
                "positive_data_acceptance": {"expected-statuses": [*ok, "402"]},
            },
        },
        {
            "include-operation-id": "upload",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ok, "413", "415"]}},
        },
        {"include-operation-id": "runSse", "checks": {"positive_data_acceptance": {"expected-statuses": [*ok, "402"]}}},
        {
            # A well-formed Range past the file's end is answered 416; the file's length is not in the request.
            "include-operation-id": _operations_taking("Range"),
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ok, "416"]}},
        },
    ]


def schemathesis_config(
    *,
    token: str | None = None,
    base_url: str | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    phases: typing.Iterable[str] = PHASES,
    timeout: float | None = None,
    status_mode: StatusMode | None = None,
) -> schemathesis.Config:
    """The Schemathesis configuration verify runs with (``seed=None``: derandomized, the same data every run)."""
    import schemathesis

    chosen = set(phases)
    unknown = chosen - set(PHASES)
    if unknown:
        raise ValueError(f"unknown Schemathesis phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
    generation: dict[str, typing.Any] = {"mode": "all", "max-examples": max_examples, "database": "none"}
    if seed is None:
        generation["deterministic"] = True  # the same data every run
    data: dict[str, typing.Any] = {
        "generation": generation,
        "headers": dict(ATTRIBUTION),
        # Read every stream to its end: a run that hung up early would race the turn it cut short, and what the
        # state shows next (so what Schemathesis generates next) would depend on timing.
        "max-stream-events": 100_000,
        "phases": {
            "examples": {"enabled": "examples" in chosen},
            "coverage": {"enabled": "coverage" in chosen},
            # Generation must not feed on what earlier examples saw: answers carry timestamps, which move with
            # real time, and link calibration learns across examples; a replayed example must draw the same data.
            "fuzzing": {"enabled": "fuzzing" in chosen, "extra-data-sources": {"responses": False}},
            "stateful": {"enabled": "stateful" in chosen, "link-calibration": False},
        },
        "operations": _per_operation(),
    }
    if seed is not None:
        data["seed"] = seed
    if base_url is not None:
        data["base-url"] = base_url
    if timeout is not None:
        data["request-timeout"] = timeout
    if token is not None:
        data["auth"] = {"openapi": {"bearerAuth": {"bearer": token}}}
    if status_mode is StatusMode.ALWAYS200:
        data["checks"] = {"ignored_auth": {"enabled": False}}
    return schemathesis.Config.from_dict(data)


@functools.cache
def clip() -> bytes:
    """Half a second of a small H.264 MP4, made with PyAV: what an upload's file parts carry."""
    import io
    from fractions import Fraction

    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        for index in range(12):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for number, plane in enumerate(frame.planes):
                plane.update(bytes([(40 + 9 * index + 60 * number) % 220 + 16]) * plane.buffer_size)
            frame.pts, frame.time_base = index, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def _real_clips(context: typing.Any, body: typing.Any) -> typing.Any:
    """``map_body``: an upload's generated file parts become real clips (as many parts: a mutation stays).

    Schemathesis 4.32 hands a multipart body to the hook wrapped with the media type it chose for each part (a
    dataclass with ``body`` and ``content_types``), and other bodies as they are: both are handled.
    """
    operation = context.operation
    if operation is None or operation.definition.raw.get("operationId") != "upload":
        return body
    form: typing.Any = getattr(body, "body", body) if dataclasses.is_dataclass(body) else body
    parts = form.get(f.FILES) if isinstance(form, dict) else None
    if not isinstance(parts, list) or not parts or not all(isinstance(part, bytes | str) for part in parts):
        return body
    clips = {**form, f.FILES: [clip()] * len(parts)}
    return clips if form is body else dataclasses.replace(body, body=clips)


def api_schema(**options: typing.Any) -> OpenApiSchema:
    """The recorded API spec loaded for Schemathesis with verify's configuration (``options`` are those of
    ``schemathesis_config``), real clips in uploads, and the upload's media types serializable."""
    import schemathesis

    # Schemathesis has no serializer for video and audio types; a part's bytes are opaque to the upload, so every
    # listed type goes out the way application/octet-stream does.
    schemathesis.serializer.alias(_upload_part_media_types(), "application/octet-stream")
    schema: OpenApiSchema = schemathesis.openapi.from_path(spec_path(API_SPEC), config=schemathesis_config(**options))
    schema.hook("map_body")(_real_clips)
    return schema


def _normalise(recorder: Recorder) -> typing.Callable[..., None]:
    """``after_call``: note the answer, then give an error envelope sent with HTTP 200 its code's status."""

    def after_call(context: typing.Any, case: typing.Any, response: typing.Any) -> None:
        headers = {name: values[0] for name, values in response.headers.items() if values}
        request = f"{response.request.method} {response.request.path_url}"
        recorder.note(request, response.status_code, headers, response.content)
        if response.status_code != HTTP_STATUS[Code.SUCCESS] or "json" not in headers.get("content-type", ""):
            return
        try:
            code = envelope_code(json.loads(response.content))
        except ValueError:
            return
        if code is not None and code in HTTP_STATUS and code != Code.SUCCESS:
            response.status_code = HTTP_STATUS[Code(code)]

    return after_call


#: Schemathesis's checks in a line each, in the order the report lists them.
_DESCRIPTIONS: typing.Final = {
    "not_a_server_error": "no answer is a server error (5xx)",
    "status_code_conformance": "every status is one the spec documents for its operation",
    "content_type_conformance": "every Content-Type is one the spec documents for its answer",
    "response_headers_conformance": "the headers the spec requires are there, as their schemas say",
    "response_schema_conformance": "every body matches the spec's schema for its status",
    "positive_data_acceptance": "requests the spec allows are accepted",
    "negative_data_rejection": "requests the spec forbids are refused with a 4xx",
    "missing_required_header": "a request without a required header is refused",
    "unsupported_method": "a method the path does not have is refused with 405",
    "allow_header_conformance": "a 405 lists the path's methods in Allow",
    "ignored_auth": "an operation that needs a token refuses a request without a valid one",
    "object_level_authorization": "one identity cannot read what another created",
    "use_after_free": "what was deleted stays gone",
    "ensure_resource_availability": "what was just created can be read",
}


def _docstring(name: str) -> str:
    """The first line of a Schemathesis check's docstring (a check this module has no words for)."""
    from schemathesis.checks import CHECKS

    try:
        doc = (CHECKS.get_one(name).__doc__ or "").strip()
    except KeyError:
        doc = ""
    return doc.splitlines()[0] if doc else "a Schemathesis check"


class _Tally:
    """What the run's events say of each check: how many cases it judged, its distinct failures."""

    def __init__(self, mask: Masker) -> None:
        self.mask = mask
        self.counts: dict[str, int] = {}
        self.failures: dict[str, dict[tuple[str, str, str], Evidence]] = {}
        self.errors: list[Evidence] = []
        self.cases: set[str] = set()

    def fail(self, name: str, failure: typing.Any, status: int | None, body: bytes, curl: str) -> None:
        label = failure.operation or ""
        key = (label, failure.title, failure.message)
        note = self.mask(f"{failure.title}: {' '.join(failure.message.split())}")
        found = self.failures.setdefault(name, {})
        if key not in found:
            found[key] = Evidence(label, status, excerpt(note, 400), self.mask(excerpt(body)), self.mask(curl))

    def scenario(self, recorder: typing.Any) -> None:
        for case_id, checks in recorder.checks.items():
            self.cases.add(case_id)
            for node in checks:
                self.counts[node.name] = self.counts.get(node.name, 0) + 1
                info = node.failure_info
                if info is None:
                    continue
                interaction = recorder.interactions.get(case_id)
                response = interaction.response if interaction is not None else None
                status = response.status_code if response is not None else None
                body = response.content if response is not None else b""
                self.fail(node.name, info.failure, status, body, info.code_sample)

    def error(self, label: str, text: str) -> None:
        self.errors.append(Evidence(label, None, self.mask(excerpt(" ".join(text.split()), 400))))

    def results(self, *, phases: tuple[str, ...], status_mode: StatusMode | None) -> list[CheckResult]:
        ran = f"ran {len(self.cases)} cases in the phases {', '.join(phases)}"
        if self.errors:
            run = CheckResult(
                RUN,
                RUN_DESCRIPTION,
                Outcome.ERROR,
                "schemathesis",
                f"{len(self.errors)} error(s): {self.errors[0].note}",
                tuple(self.errors[:_KEEP]),
            )
        else:
            run = CheckResult(
                RUN,
                RUN_DESCRIPTION,
                Outcome.PASSED,
                "schemathesis",
                ran,
                count=len(self.cases),
            )
        found = [run]
        names = [name for name in _DESCRIPTIONS if name in self.counts] + sorted(set(self.counts) - set(_DESCRIPTIONS))
        if status_mode is StatusMode.ALWAYS200:
            names.append("ignored_auth")
        for name in names:
            description = _DESCRIPTIONS.get(name) or _docstring(name)
            failures = list(self.failures.get(name, {}).values())
            if name not in self.counts:
                reason = "the server sends errors with HTTP 200 (status_mode=always200); token_required covers it"
                found.append(CheckResult(name, description, Outcome.NOT_RUN, "schemathesis", reason))
            elif failures:
                reason = f"{len(failures)} distinct failure(s): {failures[0].note}"
                found.append(
                    CheckResult(
                        name,
                        description,
                        Outcome.FAILED,
                        "schemathesis",
                        excerpt(reason, 240),
                        tuple(failures[:_KEEP]),
                        self.counts[name],
                    )
                )
            else:
                found.append(CheckResult(name, description, Outcome.PASSED, "schemathesis", count=self.counts[name]))
        return found


def run(
    url: str,
    *,
    token: str,
    recorder: Recorder,
    masker: Masker,
    max_examples: int,
    seed: int,
    phases: tuple[str, ...],
    timeout: float,
    status_mode: StatusMode | None,
    progress: typing.Callable[[str], None],
) -> list[CheckResult]:
    """Run Schemathesis against ``url``; one result for the run itself, then one per check it ran."""
    from schemathesis.engine import events, from_schema

    schema = api_schema(
        token=token,
        base_url=url,
        max_examples=max_examples,
        seed=seed,
        phases=phases,
        timeout=timeout,
        status_mode=status_mode,
    )
    schema.hook("after_call")(_normalise(recorder))
    tally = _Tally(masker)
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted) and event.phase.name.value in PHASES:
            progress(f"Schemathesis: {event.phase.name.value} phase")
        elif isinstance(event, events.ScenarioFinished):
            tally.scenario(event.recorder)
        elif isinstance(event, events.NonFatalError):
            tally.error(event.label, f"{event.info.title}: {event.info.message}")
        elif isinstance(event, events.Interrupted):
            raise KeyboardInterrupt  # Schemathesis caught the Ctrl-C; a run cut short is no report
        elif isinstance(event, events.FatalError):
            tally.error("the run", f"{type(event.exception).__name__}: {event.exception}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                name = failure.checks[0] if failure.checks else RUN
                tally.counts[name] = tally.counts.get(name, 0) + 1
                tally.fail(name, failure, None, b"", "")
    return tally.results(phases=phases, status_mode=status_mode)
