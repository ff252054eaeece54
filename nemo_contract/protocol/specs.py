"""Where the recorded OpenAPI documents are (installed or in a source checkout), and validators for their schemas.

jsonschema and PyYAML are imported on first use: only the emulator, the toolkit and the tests need them.
"""

from __future__ import annotations

import functools
import pathlib
import typing

if typing.TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "ADMIN_SPEC",
    "API_SPEC",
    "HTTP_METHODS",
    "load_spec",
    "operations",
    "pointer",
    "schema_validator",
    "spec_path",
]

API_SPEC = "nemovideo.openapi.yaml"
ADMIN_SPEC = "mock-admin.openapi.yaml"

_PACKAGE = pathlib.Path(__file__).parent.parent  # nemo_contract/
_PACKAGED = _PACKAGE / "specs"  # the wheel carries specs/ here
_CHECKOUT = _PACKAGE.parent / "specs"  # a source checkout or an editable install


def spec_path(name: str = API_SPEC) -> pathlib.Path:
    """The path of one recorded document; FileNotFoundError names both places looked in."""
    for folder in (_PACKAGED, _CHECKOUT):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"spec {name!r} is neither in {_PACKAGED} nor in {_CHECKOUT}")


@functools.cache
def load_spec(name: str = API_SPEC) -> dict[str, typing.Any]:
    """The parsed document (cached; treat it as read-only)."""
    import yaml  # imported here: only the emulator and the tests need it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path(name).open("rb") as stream:
        document = yaml.load(stream, Loader=loader)
    if not isinstance(document, dict):
        raise ValueError(f"spec {name!r} is not a mapping")
    return document


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def operations(document: dict[str, typing.Any]) -> typing.Iterator[tuple[str, str, dict[str, typing.Any]]]:
    """(method, path, operation) of every operation of a parsed document, in document order (path-level keys such
    as ``parameters`` are not operations)."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


#: The URI the documents are registered under, so their local ``$ref``s resolve.
_BASE = "urn:nemo-spec:"


def pointer(*parts: str | int) -> str:
    """A JSON pointer into a document: ``pointer("paths", "/run_sse", "post")`` is ``#/paths/~1run_sse/post``."""
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


@functools.cache
def schema_validator(at: str, name: str = API_SPEC) -> Validator:
    """A validator (Draft 2020-12, formats checked) for the schema at JSON pointer ``at`` of a recorded document,
    its ``$ref``s resolvable: ``schema_validator("#/components/schemas/Draft")``."""
    import jsonschema
    import referencing
    import referencing.jsonschema

    resource = referencing.Resource.from_contents(
        load_spec(name), default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[typing.Any] = referencing.Registry().with_resource(_BASE + name, resource)
    validator: Validator = jsonschema.Draft202012Validator(
        {"$ref": _BASE + name + at},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    return validator
