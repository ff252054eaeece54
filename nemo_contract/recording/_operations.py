"""Which operation of the recorded spec a request is, and the parts of it that tell one such request from another.

The operation is the spec's ``operationId``, found from the method and the path by the spec's path templates (the
most literal template first, so ``/api/render/proxy/lambda/{render_id}`` wins over ``/api/render/proxy/{render_id}
/download`` for the paths both would take). Matching, the timeline and the HAR export share that one vocabulary.

A request's discriminators are the ids that matter for its answer (its session, its render) and, for a turn, the
user's words. Each id has a kind, so a replay can line a new run's ids up with the recorded ones by order of
appearance (``_match.IdMap``); words are compared as they are.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing

from ..protocol import fields as f
from ..protocol import path_pattern
from ..protocol.shapes import message_text

__all__ = ["Discriminator", "discriminators", "operation"]

JSON = typing.Any

#: Kinds of ids, for ``_match.IdMap``.
SESSION = "session"
RENDER = "render"


@functools.cache
def _templates() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    from ..protocol.specs import API_SPEC, load_spec

    found = []
    for template, operations in load_spec(API_SPEC)["paths"].items():
        literal = len(re.sub(r"\{[^}]*\}", "", template))
        pattern = path_pattern(template)
        for method, operation_ in operations.items():
            if isinstance(operation_, dict) and "operationId" in operation_:
                found.append((literal, method.upper(), operation_["operationId"], pattern))
    found.sort(key=lambda item: -item[0])
    return tuple((method, op, pattern) for _, method, op, pattern in found)


def operation(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    """The operationId of a request and its path parameters; (None, {}) for a path off the spec."""
    method = method.upper()
    for wanted, op, pattern in _templates():
        if wanted == method:
            match = pattern.fullmatch(path)
            if match is not None:
                return op, match.groupdict()
    return None, {}


@dataclasses.dataclass(frozen=True, slots=True)
class Discriminator:
    """One part of a request's key: its name, the kind of id it is (None: compared as it is), its value."""

    name: str
    kind: str | None
    value: str


def _text(body: JSON) -> str | None:
    try:
        return message_text(body)
    except (KeyError, TypeError, AttributeError):
        return None


def _field(body: JSON, name: str) -> str | None:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def discriminators(op: str | None, params: typing.Mapping[str, str], body: JSON) -> list[Discriminator]:
    """What tells this request from another of its operation (``body`` is its JSON, or None)."""
    found: list[tuple[str, str | None, str | None]] = []
    if op == "runSse":
        found += [(f.SESSION_ID, SESSION, _field(body, f.SESSION_ID)), (f.TEXT, None, _text(body))]
    elif op in ("upload", "getState"):
        found.append((f.SESSION_ID, SESSION, params.get(f.SESSION_ID)))
    elif op == "startRender":
        found += [(f.RENDER_SESSION_ID, SESSION, _field(body, f.RENDER_SESSION_ID)), (f.ID, RENDER, _field(body, f.ID))]
    elif op in ("getRender", "cancelRender", "downloadRender", "getRenderFile"):
        found.append(("render_id", RENDER, params.get("render_id")))
    elif op == "getGeneratedMedia":
        found.append((f.NAME, None, params.get(f.NAME)))
    elif op == "getUploadedFile":
        found.append(("file_id", None, params.get("file_id")))
    return [Discriminator(name, kind, value) for name, kind, value in found if value is not None]
