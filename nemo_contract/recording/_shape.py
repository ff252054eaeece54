"""The shape of a JSON value (its field names and the types of their values, never the values) and the differences
between two shapes: what ``cassette check`` compares.

Numbers are one type (JSON has one; ``2`` and ``2.0`` are the same shape). A list's shape is the shape its items
share (fields of object items merged), so lists of different lengths compare alike.
"""

from __future__ import annotations

import typing

__all__ = ["Shape", "shape", "shape_differences"]

JSON = typing.Any


class Shape:
    """The types a place holds, and for objects their fields' shapes, for arrays their items' shape."""

    __slots__ = ("fields", "items", "types")

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.fields: dict[str, Shape] = {}
        self.items: Shape | None = None

    def add(self, value: JSON) -> Shape:
        if isinstance(value, dict):
            self.types.add("object")
            for key, item in value.items():
                self.fields.setdefault(key, Shape()).add(item)
        elif isinstance(value, list):
            self.types.add("array")
            for item in value:
                if self.items is None:
                    self.items = Shape()
                self.items.add(item)
        elif isinstance(value, bool):
            self.types.add("boolean")
        elif isinstance(value, int | float):
            self.types.add("number")
        elif isinstance(value, str):
            self.types.add("string")
        else:
            self.types.add("null")
        return self

    def describe(self) -> str:
        return "|".join(sorted(self.types)) or "nothing"


def shape(value: JSON) -> Shape:
    return Shape().add(value)


def shape_differences(recorded: Shape, live: Shape, where: str = "$") -> list[str]:
    """Each place the two shapes differ: a field missing or new, a value of another type."""
    found: list[str] = []
    if recorded.types != live.types:
        found.append(f"{where}: recorded {recorded.describe()}, got {live.describe()}")
    for name in sorted(set(recorded.fields) | set(live.fields)):
        if name not in live.fields:
            found.append(f"{where}.{name}: missing (recorded {recorded.fields[name].describe()})")
        elif name not in recorded.fields:
            found.append(f"{where}.{name}: new ({live.fields[name].describe()})")
        else:
            found += shape_differences(recorded.fields[name], live.fields[name], f"{where}.{name}")
    if recorded.items is not None and live.items is not None:
        found += shape_differences(recorded.items, live.items, f"{where}[]")
    return found
