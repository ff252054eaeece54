"""The recorded OpenAPI documents: valid, in step with ``nemo_contract.protocol``, and usable by Schemathesis.

The emulator validates request bodies with the schemas of ``specs/nemovideo.openapi.yaml``, so the body tests
below pin the acceptance rules it will apply; test_spec_streams.py proves that a contract run really checks the
events of a ``/run_sse`` stream, not only its status and media type.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mock_server._config import Config
from nemo_contract import protocol
from nemo_contract.protocol.specs import operations

SPECS = Path(__file__).parents[2] / "specs"
MAIN = SPECS / "nemovideo.openapi.yaml"
ADMIN = SPECS / "mock-admin.openapi.yaml"
BASE_URI = "urn:nemo-contract:spec"

Json = typing.Any
Document = dict[str, Json]


def _load(path: Path) -> Document:
    with path.open(encoding="utf-8") as stream:
        loaded = yaml.safe_load(stream)
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def main() -> Document:
    return _load(MAIN)


@pytest.fixture(scope="module")
def admin() -> Document:
    return _load(ADMIN)


def _pointer(*parts: str | int) -> str:
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _deref(doc: Document, node: Json) -> Json:
    """Follow local ``$ref`` chains (components only) until a node without one."""
    while isinstance(node, dict) and "$ref" in node:
        target: Json = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _validator(doc: Document, pointer: str) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``pointer``, with the document's ``$ref``s resolvable, as the emulator does."""
    registry: Registry[Json] = Registry().with_resource(
        BASE_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return jsonschema.Draft202012Validator(
        {"$ref": BASE_URI + pointer},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def _body_validator(doc: Document, method: str, path: str) -> jsonschema.Draft202012Validator:
    pointer = _pointer("paths", path, method, "requestBody", "content", "application/json", "schema")
    return _validator(doc, pointer)


def _codes_of(doc: Document, schema: Json) -> set[int]:
    """Every ``code`` an envelope schema allows, through ``$ref`` and ``allOf``; the innermost constraint wins."""
    schema = _deref(doc, schema)
    found: set[int] = set()
    for part in schema.get("allOf", []):
        found = _codes_of(doc, part) or found
    code = _deref(doc, schema.get("properties", {}).get("code", {}))
    if "const" in code:
        return {code["const"]}
    if "enum" in code:
        return set(code["enum"])
    return found


# ---------------------------------------------------------------------------------------------- the documents


@pytest.mark.parametrize("path", [MAIN, ADMIN], ids=["main", "admin"])
def test_document_is_valid_openapi_3_1(path: Path) -> None:
    doc = _load(path)
    assert doc["openapi"] == "3.1.0"
    validate_openapi(doc)


@pytest.mark.parametrize("path", [MAIN, ADMIN], ids=["main", "admin"])
def test_operation_ids_are_unique(path: Path) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(_load(path))]
    assert len(ids) == len(set(ids))


def test_every_protocol_endpoint_is_an_operation(main: Document) -> None:
    documented = {
        (method.upper(), path) for method, path, operation in operations(main) if "cdn" not in operation["tags"]
    }
    assert documented == set(protocol.ENDPOINTS)


def test_error_codes_match_protocol(main: Document, admin: Document) -> None:
    error_codes = main["components"]["schemas"]["ErrorCode"]["enum"]
    assert len(error_codes) == len(set(error_codes))
    assert {0, *error_codes} == {int(code) for code in protocol.HTTP_STATUS}
    assert main["info"]["x-error-codes"] == {
        str(int(code)): {"http_status": status, "message": protocol.MESSAGES[code]}
        for code, status in protocol.HTTP_STATUS.items()
    }
    assert admin["components"]["schemas"]["FaultRule"]["properties"]["code"]["enum"] == error_codes


def test_error_responses_carry_the_status_of_their_code(main: Document) -> None:
    checked = 0
    for method, path, operation in operations(main):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = _deref(main, response).get("content", {})
            if "application/json" not in content:
                continue
            codes = _codes_of(main, content["application/json"]["schema"])
            assert codes, (method, path, status)
            for code in codes:
                assert protocol.HTTP_STATUS[protocol.Code(code)] == int(status), (method, path, status, code)
            checked += 1
    assert checked > 30


def test_rate_limited_answers_carry_retry_after(main: Document) -> None:
    for method, path, operation in operations(main):
        responses = operation["responses"]
        if "cdn" in operation["tags"]:
            assert "429" not in responses
            continue
        assert "429" in responses, (method, path)
        header = _deref(main, _deref(main, responses["429"])["headers"]["Retry-After"])
        assert header["required"] is True
        assert header["example"] == protocol.DEFAULT_RETRY_AFTER


def test_authentication(main: Document) -> None:
    assert main["security"] == [{"bearerAuth": []}]
    scheme = main["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    open_operations = {
        operation["operationId"] for _, _, operation in operations(main) if operation.get("security") == []
    }
    assert open_operations == {"anonymousToken", "getGeneratedMedia", "getRenderFile", "getUploadedFile"}
    for method, path, operation in operations(main):
        if operation["operationId"] not in open_operations:
            assert "security" not in operation
            assert "401" in operation["responses"], (method, path)


def test_attribution_headers_are_required_only_on_render_start(main: Document) -> None:
    names = {header.value for header in protocol.ATTRIBUTION_HEADERS}
    for method, path, operation in operations(main):
        headers = {
            parameter["name"]: parameter.get("required", False)
            for parameter in (_deref(main, p) for p in operation.get("parameters", []))
            if parameter["in"] == "header"
        }
        if "cdn" in operation["tags"]:
            assert not names & headers.keys()
        elif (method.upper(), path) == ("POST", protocol.PATHS.render_start):
            assert {name: headers[name] for name in names} == dict.fromkeys(names, True)
            assert "402" in operation["responses"]
        else:
            assert {name: headers[name] for name in names} == dict.fromkeys(names, False), (method, path)
    token = main["paths"][protocol.PATHS.anonymous_token]["post"]
    client_id = next(p for p in (_deref(main, p) for p in token["parameters"]) if p["name"] == "X-Client-Id")
    assert client_id["required"] is True
    assert client_id["schema"] == {"type": "string", "minLength": 1, "maxLength": 64}


def test_upload_rules_match_protocol(main: Document) -> None:
    upload = main["paths"][protocol.PATHS.upload]["post"]
    assert upload["x-accepted-extensions"] == {ext: kind.value for ext, kind in protocol.ACCEPTED_EXTENSIONS.items()}
    assert upload["x-max-upload-bytes"] == protocol.MAX_UPLOAD_BYTES
    assert {"413", "415"} <= upload["responses"].keys()


def test_enumerations_match_protocol(main: Document, admin: Document) -> None:
    schemas = main["components"]["schemas"]
    assert schemas["RenderStatus"]["enum"] == [status.value for status in protocol.RenderStatus]
    assert schemas["Track"]["properties"]["tt"]["enum"] == [int(kind) for kind in protocol.TrackType]
    assert schemas["FileInfo"]["properties"]["file_type"]["enum"] == [kind.value for kind in protocol.FileType]
    assert schemas["RunSseRequest"]["properties"]["app_name"]["enum"] == [protocol.APP_NAME]
    assert schemas["AdkEvent"]["properties"]["author"]["const"] == protocol.APP_NAME
    knobs: dict[str, type[enum.Enum]] = {
        "status_mode": protocol.StatusMode,
        "event_format": protocol.EventFormat,
        "heartbeat": protocol.HeartbeatMode,
        "render_shape": protocol.RenderShape,
    }
    config = admin["components"]["schemas"]["Config"]["properties"]
    patch = admin["components"]["schemas"]["ConfigPatch"]["properties"]
    for knob, values in knobs.items():
        expected = [value.value for value in values]
        assert config[knob]["enum"] == expected
        assert patch[knob]["enum"] == expected
        assert config[knob]["default"] == expected[0]
    assert config["retry_after"]["default"] == protocol.DEFAULT_RETRY_AFTER
    assert config["token_lifetime"]["default"] == protocol.TOKEN_LIFETIME
    assert config["token_limit_window"]["default"] == protocol.TOKEN_LIFETIME
    assert patch.keys() == config.keys()


def test_config_defaults_are_the_emulators(admin: Document) -> None:
    shown = Config().to_dict()
    assert _validator(admin, "#/components/schemas/Config").is_valid(shown)
    assert {
        knob: schema["default"] for knob, schema in admin["components"]["schemas"]["Config"]["properties"].items()
    } == shown


# ---------------------------------------------------------------------------------------------- examples


def _examples(doc: Document) -> Iterator[tuple[str, str, Json]]:
    """(schema pointer, example name, value) of every media-type example, requests and responses alike."""
    for method, path, operation in operations(doc):
        places: list[tuple[tuple[str | int, ...], Json]] = []
        if "requestBody" in operation:
            places.append((("paths", path, method, "requestBody"), operation["requestBody"]))
        for status, response in operation["responses"].items():
            places.append((("paths", path, method, "responses", status), response))
        for base, holder in places:
            if "$ref" in holder:
                base = tuple(holder["$ref"].removeprefix("#/").split("/"))
                holder = _deref(doc, holder)
            for media_type, media in holder.get("content", {}).items():
                for name, example in media.get("examples", {}).items():
                    yield _pointer(*base, "content", media_type, "schema"), f"{method} {path} {name}", example["value"]


@pytest.mark.parametrize("path", [MAIN, ADMIN], ids=["main", "admin"])
def test_examples_match_their_schemas(path: Path) -> None:
    doc = _load(path)
    count = 0
    for pointer, name, value in _examples(doc):
        errors = [error.message for error in _validator(doc, pointer).iter_errors(value)]
        assert not errors, (name, errors)
        count += 1
    assert count >= 7


def test_sample_render_answers_match_both_shapes(main: Document) -> None:
    validator = _validator(main, "#/components/schemas/RenderResponse")
    url = "http://127.0.0.1:8000/render-result/render_1.mp4"
    valid = [
        {"code": 0, "id": "render_1", "status": "pending", "progress": 0},
        {
            "code": 0,
            "id": "render_1",
            "status": "completed",
            "progress": 100,
            "output": {"url": url, "duration": 10.0, "size": 1},
        },
        {"code": 0, "id": "render_1", "status": "failed", "progress": 0, "error": "invalid draft"},
        {"success": True, "data": {"id": "render_1", "status": "processing", "progress": 50, "createdAt": 1}},
        {
            "success": True,
            "data": {
                "id": "render_1",
                "status": "completed",
                "progress": 100,
                "createdAt": 1,
                "completedAt": 2,
                "outputUrl": url,
            },
        },
    ]
    invalid = [
        {"code": 0, "id": "render_1", "status": "completed", "progress": 100},
        {"code": 0, "id": "render_1", "status": "failed", "progress": 0},
        {"code": 0, "id": "render_1", "status": "done", "progress": 100},
        {"code": 0, "id": "render_1", "status": "processing", "progress": 101},
        {"success": True, "data": {"id": "render_1", "status": "completed", "progress": 100, "createdAt": 1}},
        {"success": False, "data": {"id": "render_1", "status": "pending", "progress": 0, "createdAt": 1}},
    ]
    assert [validator.is_valid(answer) for answer in valid] == [True] * len(valid)
    assert [validator.is_valid(answer) for answer in invalid] == [False] * len(invalid)


# ---------------------------------------------------------------------------------------------- request bodies


SEGMENT = {"id": "s1", "n": "city timelapse", "st": 0, "d": 10000, "u": "http://127.0.0.1:8000/cdn/uploads/f/a.mp4"}
META = {"title": "Urban Dreams", "width": 1920, "height": 1080, "fps": 30}


@pytest.mark.parametrize(
    ("path", "body", "valid"),
    [
        (protocol.PATHS.create_session, {"task_name": "project"}, True),
        (protocol.PATHS.create_session, {"task_name": "project", "language": "zh-CN", "extra": 1}, True),
        (protocol.PATHS.create_session, {}, False),
        (protocol.PATHS.create_session, {"task_name": ""}, False),
        (protocol.PATHS.create_session, {"task_name": "x" * 257}, False),
        (protocol.PATHS.create_session, {"task_name": "project", "language": "x" * 36}, False),
        (protocol.PATHS.create_session, [], False),
        (
            protocol.PATHS.run_sse,
            {"app_name": "nemo_agent", "session_id": "1", "new_message": {"parts": [{"text": "hi"}]}},
            True,
        ),
        (
            protocol.PATHS.run_sse,
            {
                "app_name": "nemo_agent",
                "user_id": "me",
                "session_id": "1",
                "new_message": {"role": "user", "parts": [{"text": "hi"}]},
                "streaming": False,
            },
            True,
        ),
        (
            protocol.PATHS.run_sse,
            {"app_name": "other", "session_id": "1", "new_message": {"parts": [{"text": "hi"}]}},
            False,
        ),
        (protocol.PATHS.run_sse, {"app_name": "nemo_agent", "new_message": {"parts": [{"text": "hi"}]}}, False),
        (protocol.PATHS.run_sse, {"app_name": "nemo_agent", "session_id": "1", "new_message": {"parts": []}}, False),
        (protocol.PATHS.run_sse, {"app_name": "nemo_agent", "session_id": "1", "new_message": {"parts": [{}]}}, False),
        (
            protocol.PATHS.run_sse,
            {"appName": "nemo_agent", "sessionId": "1", "newMessage": {"parts": [{"text": "hi"}]}},
            False,
        ),
        (protocol.PATHS.upload, {"urls": ["https://example.com/a.mp4"], "source_type": "url"}, True),
        (protocol.PATHS.upload, {"urls": [], "source_type": "url"}, False),
        (protocol.PATHS.upload, {"urls": ["https://example.com/a.mp4"], "source_type": "file"}, False),
        (protocol.PATHS.upload, {"urls": ["not a url"], "source_type": "url"}, False),
        (protocol.PATHS.render_start, {"id": "render_1", "sessionId": "1", "draft": {}}, True),
        (protocol.PATHS.render_start, {"id": "render_1", "sessionId": "1", "draft": {"t": []}}, True),
        (
            protocol.PATHS.render_start,
            {"id": "render_1", "sessionId": "1", "draft": {"t": [{"tt": 0, "sg": []}]}},
            True,
        ),
        (
            protocol.PATHS.render_start,
            {
                "id": "render_1",
                "sessionId": "1",
                "draft": {"t": [{"tt": 0, "sg": [SEGMENT]}], "d": 10000, "m": META},
                "output": {"format": "mp4", "quality": "high", "codec": "h264"},
            },
            True,
        ),
        (
            protocol.PATHS.render_start,
            {"id": "render_1", "sessionId": "1", "draft": {"t": [{"tt": 0, "sg": [SEGMENT]}]}},
            False,
        ),
        (
            protocol.PATHS.render_start,
            {"id": "render_1", "sessionId": "1", "draft": {"t": [{"tt": 2, "sg": []}]}},
            False,
        ),
        (protocol.PATHS.render_start, {"id": "", "sessionId": "1", "draft": {}}, False),
        (protocol.PATHS.render_start, {"id": "r" * 129, "sessionId": "1", "draft": {}}, False),
        (protocol.PATHS.render_start, {"id": "render_1", "draft": {}}, False),
        (
            protocol.PATHS.render_start,
            {"id": "render_1", "sessionId": "1", "draft": {}, "output": {"format": "mov"}},
            False,
        ),
    ],
)
def test_request_body_rules(main: Document, path: str, body: Json, valid: bool) -> None:
    assert _body_validator(main, "post", path).is_valid(body) is valid


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({}, True),
        ({"status_mode": "always200", "render_shape": "wrapped", "heartbeat": "json"}, True),
        ({"turn_durations": {"edit": [0, 0]}, "credit_costs": {"generation": 50}}, True),
        ({"rate_limit": {"requests": 5, "window": 60}, "token_limit_per_ip": None}, True),
        ({"faults": [{"path": "/api/render/*", "code": 429, "times": 2}, {"path": "/run_sse", "cut_after": 2}]}, True),
        ({"colour": "blue"}, False),
        ({"status_mode": "sometimes"}, False),
        ({"heartbeat_interval": 0}, False),
        ({"silent_close_rate": 1.5}, False),
        ({"turn_durations": {"text": [5]}}, False),
        ({"rate_limit": {"requests": 0, "window": 60}}, False),
        ({"faults": [{"path": "/run_sse"}]}, False),
        ({"faults": [{"code": 418}]}, False),
        ({"faults": [{"code": 429, "times": 0}]}, False),
    ],
)
def test_config_patch_rules(admin: Document, body: Json, valid: bool) -> None:
    assert _body_validator(admin, "put", "/__mock__/config").is_valid(body) is valid
