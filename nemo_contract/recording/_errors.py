"""What goes wrong with a recording, each error a subclass of the builtin it means."""

from __future__ import annotations

__all__ = ["CassetteError", "CassetteMiss", "CassetteVersionError", "CassetteWarning", "RedactionError"]


class CassetteError(ValueError):
    """A file that is not a cassette, or a cassette with a broken line (the message names the file and line)."""


class CassetteVersionError(CassetteError):
    """A cassette of a newer format version than this code reads."""


class CassetteWarning(UserWarning):
    """Something a cassette lost but that did not stop it loading (a torn last line)."""


class RedactionError(RuntimeError):
    """A secret was still in the file after redaction; the recording was removed."""


class CassetteMiss(AssertionError):
    """A request the cassette has no answer for: ``diff`` names the nearest recorded request and what differed."""

    def __init__(self, message: str, *, diff: list[str] | None = None) -> None:
        super().__init__(message)
        self.diff = list(diff or [])
