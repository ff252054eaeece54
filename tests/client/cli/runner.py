"""Running ``nemo-contract`` in-process for the tests: its exit status and both outputs."""

from __future__ import annotations

import io
import pathlib
import typing

from nemo_contract._cli import main

from ..harness import LiveHarness

__all__ = ["CLI", "TTY", "Run"]


class Run(typing.NamedTuple):
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


class TTY(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class CLI:
    """``nemo-contract`` bound to the live emulator and a state file; the client's sleep is the harness's."""

    def __init__(self, world: LiveHarness, state: pathlib.Path, *, downloads: pathlib.Path) -> None:
        self.world, self.state = world, state
        #: The default download folder, where a video goes without -o.
        self.downloads = downloads

    def __call__(
        self, *argv: str, stdin: str | typing.TextIO = "", stderr: io.StringIO | None = None, **options: typing.Any
    ) -> Run:
        out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
        source = io.StringIO(stdin) if isinstance(stdin, str) else stdin
        settings = {"sleep": self.world.sleep, "clock": self.world.emulator.clock.now, **options}
        base = ["--base-url", self.world.base_url, "--state-file", str(self.state)]
        code = main([*base, *argv], stdin=source, stdout=out, stderr=err, client_options=settings)
        return Run(code, out.getvalue(), err.getvalue())
