"""``nemo-contract audit``: judge any integration, in any language, by the traffic it sends under a matrix of scenarios.

    nemo-contract audit [--scenario NAME]... [--matrix FILE] [--timeout SECONDS] [--parallel N]
                        [--json FILE] [--junit FILE] -- CMD [ARGS...]

CMD runs once per scenario against a fresh emulator (``nemo_contract.audit`` says how); progress goes to standard
error as each scenario ends, the table to standard output. Exit status 0 only when every rule held in every
scenario; 1 when a rule broke (or a scenario's own rule was not exercised); 2 for a usage error, a bad scenario
file, or a program that could not be started, in one line. The audit takes none of the client's global options.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import typing

from ._commands import CommandError, Commands, Invocation
from ._reports import report_path, write_report

__all__ = ["DEFAULT_TIMEOUT", "add_commands", "run"]

#: ``nemo_contract.audit.DEFAULT_TIMEOUT``, spelled here because importing the audit would slow every ``--help``
#: (tests/toolkit/audit keeps the two equal).
DEFAULT_TIMEOUT = 240.0

_EPILOG = """\
exit status:
  0    every rule held in every scenario
  1    a rule was broken, or a scenario did not exercise the rule it exists for
  2    usage error, a bad scenario file, or a program that could not be started

The program runs with NEMO_API_URL set to its emulator, NEMO_TOKEN (and every other NEMO_* variable) unset, and
HOME and XDG_CONFIG_HOME in a fresh temporary folder; the scenarios run side by side.
"""


def _positive(kind: type[float] | type[int], what: str) -> typing.Callable[[str], float | int]:
    """An argparse type: a number above 0 (``what`` names it: "a timeout")."""

    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} is not a number: {text!r}") from None
        if not value > 0 or value == float("inf"):  # NaN is not > 0 either
            raise argparse.ArgumentTypeError(f"{what} must be a finite number above 0, not {text!r}")
        return value

    return parse


def add_commands(commands: Commands) -> None:
    parser = commands.add(
        "audit",
        "judge any integration, in any language, by the traffic it sends under a matrix of scenarios",
        run=run,
        global_options=False,
    )
    parser.usage = (
        "nemo-contract audit [--scenario NAME]... [--matrix FILE] [--timeout SECONDS] [--parallel N] "
        "[--json FILE] [--junit FILE] [--list] -- CMD [ARGS...]"
    )
    parser.epilog = _EPILOG
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run this scenario (repeatable; default: all of the matrix; --list names them)",
    )
    parser.add_argument("--matrix", metavar="FILE", help="a scenario file (YAML or JSON; default: the shipped matrix)")
    parser.add_argument(
        "--timeout",
        type=_positive(float, "a timeout"),
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"stop a run of the program after this long and judge what it did (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--parallel",
        type=_positive(int, "a count"),
        metavar="N",
        help="scenarios run at once (default: as many as the machine carries)",
    )
    parser.add_argument(
        "--json", dest="json_file", metavar="FILE", type=pathlib.Path, help="also write the JSON report here"
    )
    parser.add_argument(
        "--junit", dest="junit_file", metavar="FILE", type=pathlib.Path, help="also write a JUnit XML report here"
    )
    parser.add_argument("--list", action="store_true", help="list the matrix's scenarios and the rules, then exit")
    parser.add_argument("program", nargs=argparse.REMAINDER, metavar="CMD [ARGS...]", help="the program to audit")


def _listing(matrix_file: str | None) -> str:
    from ..audit import RULES, default_matrix, load_matrix

    matrix = default_matrix() if matrix_file is None else load_matrix(matrix_file, rules=[r.name for r in RULES])
    width = max(len(s.name) for s in matrix.scenarios)
    lines = [f"scenarios ({matrix.source}):"]
    lines += [f"  {s.name:<{width}}  {s.expect.outcome:<6}  {s.description}" for s in matrix.scenarios]
    width = max(len(r.name) for r in RULES)
    lines += ["", "rules:"]
    lines += [f"  {r.name:<{width}}  {r.judges}" for r in RULES]
    return "\n".join(lines)


def run(invocation: Invocation) -> int:
    from ..audit import ProgramNotStarted, ScenarioError, audit

    args, out = invocation.args, invocation.console
    program = list(args.program)
    if program[:1] == ["--"]:
        program = program[1:]
    try:
        if args.list:
            out.result(None, _listing(args.matrix))
            return 0
        if not program:
            raise CommandError("no program to audit: nemo-contract audit [options] -- CMD [ARGS...]", status=2)
        json_path = report_path("--json", args.json_file)
        junit_path = report_path("--junit", args.junit_file)
        verdicts = audit(
            program,
            scenarios=args.scenario,
            matrix=args.matrix,
            timeout=args.timeout,
            parallel=args.parallel,
            progress=out.note,
        )
    except (ScenarioError, ProgramNotStarted) as exc:
        raise CommandError(str(exc), status=2) from None
    write_report("--json", json_path, verdicts.to_json() + "\n")
    write_report("--junit", junit_path, verdicts.to_junit())
    color = out.stdout.isatty() and "NO_COLOR" not in os.environ
    out.result(None, verdicts.report(color=color))
    return 0 if verdicts.passed else 1
