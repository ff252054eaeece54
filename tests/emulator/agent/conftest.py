"""Fixtures of the agent's tests: the recorded spec's schemas, to check what the agent writes into a session."""

from __future__ import annotations

import typing

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from nemo_contract.protocol.specs import API_SPEC, load_spec

SchemaErrors = typing.Callable[[str, typing.Any], list[str]]
_BASE = "urn:nemo-contract:agent-tests"


@pytest.fixture(scope="session")
def schema_errors() -> SchemaErrors:
    """``schema_errors("Draft", value)``: how ``value`` breaks the spec's schema of that name ([] when it fits)."""
    registry: Registry[typing.Any] = Registry().with_resource(
        _BASE, Resource.from_contents(load_spec(API_SPEC), default_specification=DRAFT202012)
    )
    validators: dict[str, jsonschema.Draft202012Validator] = {}

    def errors(name: str, value: typing.Any) -> list[str]:
        if name not in validators:
            schema = {"$ref": f"{_BASE}#/components/schemas/{name}"}
            checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
            validators[name] = jsonschema.Draft202012Validator(schema, registry=registry, format_checker=checker)
        return [f"{list(e.absolute_path)}: {e.message}" for e in validators[name].iter_errors(value)]

    return errors
