"""``nemo_contract._cli``: the parser, the global options, the families, one-line usage errors, start-up."""

from __future__ import annotations

import io
import os
import pathlib
import subprocess
import sys
import types

import pytest

import nemo_contract._cli
from nemo_contract._cli import EXIT_CODES, main
from nemo_contract._cli._commands import CommandError, Commands, Invocation

from ..harness import LiveHarness
from .runner import CLI

pytestmark = pytest.mark.live

PACKAGE = pathlib.Path(nemo_contract._cli.__file__).parent


def test_help_documents_the_exit_codes(cli: CLI) -> None:
    run = cli("--help")
    assert run.code == 0
    for code, meaning in EXIT_CODES:
        assert f"{code:<4} {meaning}" in run.out
    for command in ("chat", "upload", "say", "state", "credits", "export"):
        assert command in run.out
    assert "--download-dir" in run.out and "NEMO_CONTRACT_DOWNLOADS" in run.out  # where an export goes
    assert "$XDG_DATA_HOME/nemo-contract/exports" in run.out


@pytest.mark.parametrize("argv", [["bogus"], ["upload"], ["export", "--nope"], ["say"], []])
def test_usage_errors_are_one_line(cli: CLI, argv: list[str]) -> None:
    run = cli(*argv)
    assert run.code == 2
    assert len(run.err_lines) == 1
    assert run.err.startswith("nemo-contract")
    assert ": error: " in run.err
    assert cli.world.journal() == []


def _family(name: str, outcome: int | Exception) -> types.SimpleNamespace:
    """A command family of one command whose run returns ``outcome`` (or raises it), and records its arguments."""
    seen: list[Invocation] = []

    def run(invocation: Invocation) -> int:
        seen.append(invocation)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def add_commands(commands: Commands) -> None:
        commands.add(name, f"the {name} command", run=run).add_argument("--level", type=int, default=1)

    return types.SimpleNamespace(add_commands=add_commands, seen=seen)


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_family_added_to_families_gets_its_commands_and_the_global_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    family = _family("probe", 0)
    monkeypatch.setattr(nemo_contract._cli, "FAMILIES", (*nemo_contract._cli.FAMILIES, family))
    code, out, _ = _main("--help")
    assert code == 0 and "the probe command" in out and "credits" in out
    assert _main("--json", "probe", "--level", "3")[0] == 0
    args = family.seen[-1].args
    assert (args.command, args.level, args.json, args.base_url) == ("probe", 3, True, None)
    assert _main("probe", "--base-url", "http://x.test")[0] == 0
    assert family.seen[-1].args.base_url == "http://x.test"  # global options after the command too


def test_a_failing_family_command_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = _family("fails", CommandError("the cassette is damaged", status=5))
    broken = _family("breaks", KeyError("bug"))
    monkeypatch.setattr(nemo_contract._cli, "FAMILIES", (*nemo_contract._cli.FAMILIES, failing, broken))
    assert _main("fails") == (5, "", "nemo-contract: error: the cassette is damaged\n")
    assert _main("breaks") == (1, "", "nemo-contract: error: internal error (KeyError); please report it\n")


def test_two_commands_of_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nemo_contract._cli, "FAMILIES", (*nemo_contract._cli.FAMILIES, _family("credits", 0)))
    with pytest.raises(ValueError, match="two commands are named 'credits'"):
        _main("credits")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["credits"], (False, True, False, None)),
        (["--json", "credits"], (True, True, False, None)),
        (["credits", "--json"], (True, True, False, None)),
        (["--no-auto-export", "credits"], (False, False, False, None)),
        (["--no-auto-export", "credits", "--auto-export"], (False, True, False, None)),
        (["-v", "credits", "--skill", "auto-generator"], (False, True, True, "auto-generator")),
        (["--skill", "auto-generator", "credits"], (False, True, False, "auto-generator")),
    ],
)
def test_global_options_before_and_after_the_command(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: tuple[object, ...]
) -> None:
    """The copy after the command overrides only when given: an option before it is not reset to its default."""
    parsed = []

    def run(invocation: Invocation) -> int:
        parsed.append(invocation.args)
        return 0

    monkeypatch.setattr("nemo_contract._cli._client_commands.run", run)
    assert _main(*argv)[0] == 0
    (args,) = parsed
    assert (args.json, args.auto_export, args.verbose, args.skill) == expected


def test_the_parser_uses_no_private_argparse_api() -> None:
    for path in PACKAGE.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "argparse._" not in source and "._actions" not in source, path.name


def test_the_console_script_reads_standard_input(live_harness: LiveHarness, tmp_path: pathlib.Path) -> None:
    env = {
        **os.environ,
        "NEMO_API_URL": live_harness.base_url,
        "NEMO_CONTRACT_STATE": str(tmp_path / "s.json"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop("NEMO_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "nemo_contract._cli", "chat"],
        input="balance\n余额\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Credits: 100 available") == 2


def test_the_command_line_loads_httpx_only_inside_main() -> None:
    """Ctrl-C during the heavy imports lands inside main's handler: the module itself imports none of them."""
    probe = "import sys, nemo_contract._cli; print(sorted({'httpx', 'anyio', 'yaml'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
