"""``nemo-mock``: the emulator's commands (``serve``, ``sample-clip``) and the recording ones (``record``,
``replay``) under one name.

The emulator may not import the toolkit (layer rule), so the console script lives here: the emulator's
``mock_server._cli`` adds and runs its own commands, ``nemo_contract.recording._cli`` its two. ``python -m
mock_server`` still runs the emulator's commands alone. Nothing heavy is imported before a command runs.
"""

from __future__ import annotations

import argparse
import sys
import typing

from ..__version__ import __version__

__all__ = ["main"]


def main(argv: typing.Sequence[str] | None = None) -> int:
    from mock_server import _cli as emulator_cli

    from ..recording import _cli as recording_cli

    parser = argparse.ArgumentParser(
        prog="nemo-mock",
        description="Emulator of the NemoVideo agent API; records and replays sessions with it or the real service.",
    )
    parser.add_argument("--version", action="version", version=f"nemo-mock {__version__}")
    commands = emulator_cli.add_commands(parser)
    recording_cli.add_commands(commands)
    args, extra = parser.parse_known_args(argv)
    if args.command in recording_cli.COMMANDS:
        if extra:
            print(f"nemo-mock {args.command}: error: unrecognized arguments: {' '.join(extra)}", file=sys.stderr)
            return 2
        return recording_cli.run(args)
    return emulator_cli.run(parser, args, extra)


if __name__ == "__main__":
    raise SystemExit(main())
