"""Request bodies checked against the recorded spec, so the emulator accepts exactly what the spec says.

The schemas live only in ``specs/``; jsonschema applies them. A request that fails gets a 400 envelope naming
the first problem found. jsonschema is imported on the first validation, not with the package: it is a third
of the package's import time (bench/RESULTS.md, section 5).
"""

from __future__ import annotations

import functools
import typing

from starlette.requests import Request

from nemo_contract.protocol import Code
from nemo_contract.protocol.specs import API_SPEC, load_spec, pointer, schema_validator

from ._envelope import read_json
from ._errors import ProtocolError

if typing.TYPE_CHECKING:
    import jsonschema
    from jsonschema.protocols import Validator

__all__ = ["body_validator", "read_valid_json", "validate_body", "validate_query"]


@functools.cache
def body_validator(path: str, method: str, spec_name: str = API_SPEC, media: str = "application/json") -> Validator:
    """A compiled validator for one operation's request body (KeyError when the spec has none)."""
    load_spec(spec_name)["paths"][path][method.lower()]["requestBody"]["content"][media]["schema"]
    return schema_validator(
        pointer("paths", path, method.lower(), "requestBody", "content", media, "schema"), spec_name
    )


def _where(error: jsonschema.ValidationError) -> str:
    return "body" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def validate_body(body: typing.Any, path: str, method: str, spec_name: str = API_SPEC) -> None:
    """Raise a 400 ProtocolError naming the first way ``body`` breaks the operation's schema."""
    import jsonschema

    error = jsonschema.exceptions.best_match(body_validator(path, method, spec_name).iter_errors(body))
    if error is not None:
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        raise ProtocolError(Code.BAD_REQUEST, f"invalid request: {_where(error)}: {message}")


def _coerce(raw: str, schema: dict[str, typing.Any]) -> typing.Any:
    """A query string value as the type its schema names (left as text when it is not one)."""
    kind = schema.get("type")
    try:
        if kind == "integer" and raw.strip().lstrip("-").isdigit():
            return int(raw)
        if kind == "number":
            value = float(raw)
            return value if value == value and value not in (float("inf"), float("-inf")) else raw
    except ValueError:
        pass
    return raw


@functools.cache
def _query_schemas(path: str, method: str, spec_name: str) -> dict[str, dict[str, typing.Any]]:
    operation = load_spec(spec_name)["paths"][path][method.lower()]
    return {p["name"]: p["schema"] for p in operation.get("parameters", []) if p.get("in") == "query"}


def validate_query(
    params: typing.Mapping[str, str], path: str, method: str, spec_name: str = API_SPEC
) -> dict[str, typing.Any]:
    """The operation's declared query parameters, typed per the spec; a 400 names the first one that is wrong."""
    import jsonschema

    found: dict[str, typing.Any] = {}
    for name, schema in _query_schemas(path, method, spec_name).items():
        if name not in params:
            continue
        value = _coerce(params[name], schema)
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
        if error is not None:
            raise ProtocolError(Code.BAD_REQUEST, f"invalid query parameter {name}: {error.message}")
        found[name] = value
    return found


async def read_valid_json(request: Request, path: str, spec_name: str = API_SPEC) -> typing.Any:
    """The request's JSON body, checked against the spec's schema for ``path``; 400 names the problem."""
    return await read_json(
        request, functools.partial(validate_body, path=path, method=request.method, spec_name=spec_name)
    )
