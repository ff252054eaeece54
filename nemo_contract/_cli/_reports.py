"""The report files the toolkit commands (``verify``, ``audit``) write with ``--json FILE`` and ``--junit FILE``.

A report path is checked before the run, so that a typo costs one line and exit 2 rather than minutes of work
thrown away at the end; the report is written after it. Both say the option and the path as it was given.
"""

from __future__ import annotations

import pathlib

from ._commands import CommandError

__all__ = ["report_path", "write_report"]


def report_path(option: str, given: pathlib.Path | None) -> pathlib.Path | None:
    """The file ``option`` names (``~`` expanded; None when the option is not given), if a report can go there:
    its folder exists and it is not a folder itself."""
    if given is None:
        return None
    path = given.expanduser()
    if not path.parent.is_dir():
        raise CommandError(f"{option} {given}: the folder {path.parent} does not exist", status=2)
    if path.is_dir():
        raise CommandError(f"{option} {given}: that is a folder, not a file", status=2)
    return path


def write_report(option: str, path: pathlib.Path | None, text: str) -> None:
    """Write the report ``option`` asked for (nothing when it was not given)."""
    if path is None:
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{option} {path}: cannot write it ({exc.strerror or exc})", status=2) from None
