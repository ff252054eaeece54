"""``nemo_contract._cli._reports``: the report files of ``verify`` and ``audit``, checked before a run, written after.

The commands' own tests cover a missing folder and a folder given as the file; these cover what only shows at the
end of a run (a write that fails) and ``~``.
"""

from __future__ import annotations

import pathlib

import pytest

from nemo_contract._cli._commands import CommandError
from nemo_contract._cli._reports import report_path, write_report


def test_a_write_that_fails_is_one_line_naming_the_option_and_exit_2() -> None:
    full = pathlib.Path("/dev/full")  # a file that takes no bytes: every write fails with ENOSPC
    if not full.exists():
        pytest.skip("no /dev/full here")
    assert report_path("--json", full) == full
    with pytest.raises(CommandError, match=r"^--json /dev/full: cannot write it \(No space left on device\)$") as e:
        write_report("--json", full, "{}")
    assert e.value.status == 2


def test_no_option_no_file_and_home_is_expanded(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert report_path("--junit", None) is None
    write_report("--junit", None, "<testsuites/>")  # nothing asked for, nothing written
    monkeypatch.setenv("HOME", str(tmp_path))
    path = report_path("--junit", pathlib.Path("~/report.xml"))
    assert path == tmp_path / "report.xml"
    write_report("--junit", path, "<testsuites/>")
    assert (tmp_path / "report.xml").read_text(encoding="utf-8") == "<testsuites/>"
