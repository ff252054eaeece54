"""The recordings shipped with the package (``cassettes/``): both skill documents' workflows, recorded from the
emulator (upload, a generation whose "click Export" runs the export with its polls, an edit that closes silently,
a 429 recovery, an export asked for). ``make cassettes`` makes them again, byte for byte, from the same seed."""

from __future__ import annotations

import pathlib
import typing

__all__ = ["SHIPPED", "cassette_path"]

_FOLDER = pathlib.Path(__file__).parent / "cassettes"
#: The names of the shipped recordings (each skill document's, by its X-Skill-Source value).
SHIPPED: typing.Final = ("video-to-generator", "auto-generator")


def cassette_path(name: str) -> pathlib.Path:
    """The file of a shipped recording: ``cassette_path("video-to-generator")``."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped cassette {name!r}; there are {', '.join(SHIPPED)}")
    return _FOLDER / f"{name}.jsonl"
