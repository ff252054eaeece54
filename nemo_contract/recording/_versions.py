"""Older cassettes, read through a chain of converters, and every line checked against the format's schema.

A converter takes one line of version ``v`` and gives the lines of version ``v + 1`` it becomes (usually one). It
is pure: the same line always gives the same lines, so a chain can be tested link by link. A line of version
``v`` reaches the current version through ``v -> v+1 -> ... -> VERSION``; a cassette newer than ``VERSION`` is
refused before any converter runs (``_cassette.loads``).

Version 0 is the layout the format's first draft used: headers as an object, the query as an object, bodies
unwrapped (the JSON value itself, or ``{"sha256", "size", "content_type"}`` for a binary one), and no
``outcome`` on a stream's end.
"""

from __future__ import annotations

import functools
import json
import typing
import urllib.parse

from ._errors import CassetteError

if typing.TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = ["CONVERTERS", "SCHEMA", "TAG", "VERSION", "Converter", "upgrade", "validate"]

#: The version this code writes; older ones are read through the converters here.
VERSION = 1
#: The key of each line's record type.
TAG = "t"

JSON = typing.Any
Line = dict[str, JSON]
Converter = typing.Callable[[Line], list[Line]]

#: The format's schema, beside the API specs (``specs/`` in a checkout, ``nemo_contract/specs`` in the wheel).
SCHEMA = "cassette.schema.json"
_SIZE = "size"


def _v0_body(body: JSON) -> Line | None:
    if body is None:
        return None
    if isinstance(body, dict) and set(body) <= {"sha256", "size", "content_type"} and "sha256" in body:
        digest, size, kind = (body.get(key) for key in ("sha256", _SIZE, "content_type"))
        found: Line = dict(sha256=digest, size=size or 0)
        if kind:
            found.update(type=kind)
        return found
    size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return dict(json=body, size=size)


def v0_to_v1(line: Line) -> list[Line]:
    """Headers and query from objects to the v1 spellings, bodies wrapped; the meta line says version 1."""
    found = dict(line)
    if found.get(TAG) == "meta":
        found.update(v=1)
        return [found]
    headers = found.get("headers")
    if isinstance(headers, dict):
        found.update(headers=[[str(name), str(value)] for name, value in headers.items()])
    query = found.get("query")
    if isinstance(query, dict):
        found.update(query=urllib.parse.urlencode(query, doseq=True))
    if "body" in found:
        body = _v0_body(found.pop("body"))
        if body is not None:
            found.update(body=body)
    return [found]


#: From each version to the next.
CONVERTERS: typing.Final[dict[int, Converter]] = {0: v0_to_v1}


def upgrade(
    line: Line, version: int, *, converters: typing.Mapping[int, Converter] = CONVERTERS, current: int = VERSION
) -> list[Line]:
    """The lines of version ``current`` that one line of ``version`` becomes."""
    lines = [line]
    for step in range(version, current):
        convert = converters.get(step)
        if convert is None:
            raise CassetteError(f"no converter from cassette version {step} to {step + 1}")
        lines = [converted for each in lines for converted in convert(each)]
    return lines


@functools.cache
def _schema() -> dict[str, typing.Any]:
    from ..protocol.specs import spec_path

    with spec_path(SCHEMA).open(encoding="utf-8") as stream:
        schema: dict[str, typing.Any] = json.load(stream)
    return schema


@functools.cache
def _validator(tag: str) -> Validator:
    """The validator of one record type (its own definition, so an error names the field at fault)."""
    import jsonschema

    schema = _schema()
    validator: Validator = jsonschema.Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{tag}"}
    )
    return validator


def validate(line: Line) -> str | None:
    """None for a valid line, else what is wrong with it, in a sentence."""
    tag = line.get(TAG)
    if tag not in _schema()["$defs"] or tag not in ("meta", "req", "res", "ev", "end"):
        return f"{TAG}: {tag!r} is not a record type (meta, req, res, ev, end)"
    validator = _validator(tag)
    if validator.is_valid(line):
        return None
    import jsonschema.exceptions

    error = jsonschema.exceptions.best_match(validator.iter_errors(line))
    if error is None:  # pragma: no cover - is_valid said there was one
        return "does not match the cassette schema"
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where + ': ' if where else ''}{error.message}"
