"""Walking a parsed OpenAPI document, for the tests that read the recorded specs."""

from __future__ import annotations

import typing
from collections.abc import Iterator

__all__ = ["HTTP_METHODS", "operations"]

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def operations(doc: dict[str, typing.Any]) -> Iterator[tuple[str, str, dict[str, typing.Any]]]:
    """(method, path, operation) of every operation, in document order (path-level keys such as ``parameters``
    are not operations)."""
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation
