"""``nemo_contract._cli._console``: progress on standard error, a spinner and bar only on a terminal, JSON lines."""

from __future__ import annotations

import io
import json

import pytest

from nemo_contract._cli._console import Console, bar
from nemo_contract._models import Message, MessageKind

from .runner import CLI, TTY

pytestmark = pytest.mark.live


def test_no_spinner_unless_a_terminal(cli: CLI) -> None:
    assert cli("say", "generate a 5-second video of ocean waves").code == 0
    piped = cli("export")
    assert "\r" not in piped.err and "\x1b" not in piped.err
    assert "⏳ Rendering" in piped.err  # progress as plain lines on standard error

    terminal = cli("export", stderr=TTY())  # every progress message redraws the line at once: no timing
    assert terminal.code == 0
    assert "\r\x1b[2K" in terminal.err
    assert "Rendering [" in terminal.err
    assert "Rendering [████████████████████] 100%" in terminal.err
    assert "Video ready" in terminal.out
    json_run = cli("--json", "export", stderr=TTY())
    assert json_run.err == ""


def _progress(percent: int | None) -> Message:
    return Message(kind=MessageKind.PROGRESS, text=f"⏳ Rendering... {percent}%", progress=percent)


def test_the_bar_has_twenty_cells() -> None:
    assert bar(_progress(0)) == "Rendering [░░░░░░░░░░░░░░░░░░░░] 0%"
    assert bar(_progress(42)) == "Rendering [████████░░░░░░░░░░░░] 42%"
    assert bar(_progress(250)).count("█") == 20
    assert bar(Message(kind=MessageKind.PROGRESS, text="⏳ Still working...")) == "⏳ Still working..."


def test_a_terminal_gets_the_spinner_and_the_line_is_cleared_before_a_message() -> None:
    out, err = io.StringIO(), TTY()
    console = Console(as_json=False, stdout=out, stderr=err)
    with console.busy("Working..."):
        console.message(_progress(50))
        console.message(Message(kind=MessageKind.REPLY, text="Done."))
    console.close()
    assert "Working..." in err.getvalue() and "Rendering [██████████" in err.getvalue()
    assert err.getvalue().endswith("\r\x1b[2K")  # nothing left drawn
    assert out.getvalue() == "Done.\n"


def test_json_lines_and_errors() -> None:
    out, err = io.StringIO(), TTY()
    console = Console(as_json=True, stdout=out, stderr=err)
    with console.busy():
        console.message(_progress(10))
        console.aside(Message(kind=MessageKind.NOTICE, text="Setting up..."))  # not for scripts
        console.result(dict(available=3), "Credits: 3")
    console.error("it  failed\n badly", dict(type="X"))
    console.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        {"kind": "progress", "text": "⏳ Rendering... 10%", "progress": 10},
        {"available": 3},
        {"error": {"type": "X"}},
    ]
    assert err.getvalue() == "nemo-contract: error: it failed badly\n"  # one line, no spinner with --json
