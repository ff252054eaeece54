"""The ``cassette`` commands: look at a recorded session, and hold a server to it.

    nemo-contract cassette show FILE                  a readable timeline of the session
    nemo-contract cassette har FILE -o OUT.har        HAR 1.2, for the tools that read sessions
    nemo-contract cassette compact FILE [-o OUT]      fold runs of identical polls (in place without -o)
    nemo-contract cassette check FILE --url URL       send the requests again; report where the answers differ

``check`` exits 1 when it finds differences; a file that is not a cassette, or cannot be read or written, is one
line and exit status 5. The recording package is imported when a command runs, not for ``--help`` (which needs only
the argument types that ``nemo-mock record`` and ``replay`` use too, and those import only the standard library).
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import typing

from ..recording._cli import http_url, speed
from ._commands import CommandError, Commands, Invocation, Parser

if typing.TYPE_CHECKING:
    from ..recording import Cassette

__all__ = ["add_commands", "run"]


def add_commands(commands: Commands) -> None:
    cassette = commands.add("cassette", "look at a recorded session (a cassette), or hold a server to it", run=run)
    actions = cassette.add_subparsers(dest="cassette_command", metavar="ACTION", parser_class=Parser, required=True)
    show = actions.add_parser("show", help="print the session as a timeline", description="A readable timeline.")
    show.add_argument("file", type=pathlib.Path, metavar="FILE")
    har = actions.add_parser("har", help="write the session as HAR 1.2", description="HAR 1.2, one entry per exchange.")
    har.add_argument("file", type=pathlib.Path, metavar="FILE")
    har.add_argument("-o", "--output", type=pathlib.Path, required=True, metavar="OUT", help="the HAR file to write")
    har.add_argument("-f", "--force", action="store_true", help="replace OUT if it exists")
    compact = actions.add_parser(
        "compact", help="fold runs of identical polls", description="Fold runs of identical answers of one kind."
    )
    compact.add_argument("file", type=pathlib.Path, metavar="FILE")
    compact.add_argument("-o", "--output", type=pathlib.Path, metavar="OUT", help="write here (default: FILE itself)")
    check = actions.add_parser(
        "check",
        help="send the session's requests to a server; report where its answers differ in shape",
        description="Send the cassette's requests again, in order, ids mapped, and compare the answers' shapes: "
        "statuses, codes, field names and types, event kinds and order, the render status sequence.",
    )
    check.add_argument("file", type=pathlib.Path, metavar="FILE")
    check.add_argument("--url", type=http_url, required=True, help="the server to check (the emulator, or the service)")
    check.add_argument(
        "--files", action="append", type=pathlib.Path, default=[], metavar="PATH", help="where uploaded files are"
    )
    check.add_argument(
        "--speed", type=speed, default=1.0, metavar="1|N|instant", help="the recorded pauses between requests, /N"
    )
    check.add_argument(
        "--advance-clock",
        action="store_true",
        help="the server is a nemo-mock emulator: skip each pause by moving its clock instead of waiting",
    )
    check.add_argument("--token", help="a token for a recording whose token came from outside the session")


def _load(path: pathlib.Path, invocation: Invocation) -> Cassette:
    import warnings

    from ..recording import CassetteError, CassetteWarning, load

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CassetteWarning)
            cassette = load(path.expanduser())
    except CassetteError as exc:
        raise CommandError(str(exc), status=5) from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}", status=5) from None
    for warning in caught:
        invocation.console.warning(str(warning.message))
    return cassette


def _write(path: pathlib.Path, text: str) -> None:
    """Write a file whole or not at all (a temporary file beside it, then renamed)."""
    path = path.expanduser()
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}", status=5) from None


def _show(invocation: Invocation) -> int:
    from ..recording import timeline

    cassette = _load(invocation.args.file, invocation)
    lines = timeline(cassette)
    invocation.console.result(dict(lines=lines), "\n".join(lines))
    return 0


def _har(invocation: Invocation) -> int:
    from ..recording._har import har

    args = invocation.args
    cassette = _load(args.file, invocation)
    out: pathlib.Path = args.output.expanduser()
    if out.exists() and not (args.force and out.is_file()):
        raise CommandError(f"{out} already exists (--force replaces a file)", status=5)
    import json

    document = har(cassette)
    _write(out, json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    count = len(document["log"]["entries"])
    invocation.console.result(dict(path=str(out), entries=count), f"wrote {out} ({count} entries, HAR 1.2)")
    return 0


def _compact(invocation: Invocation) -> int:
    from ..recording import compact

    args = invocation.args
    cassette = _load(args.file, invocation)
    folded, count = compact(cassette)
    out: pathlib.Path = args.output or args.file
    text = folded.dumps()
    _write(out, text)
    before, after = len(cassette.records) + 1, len(folded.records) + 1
    said = f"folded {count} identical answers: {out} ({before} -> {after} lines)"
    invocation.console.result(dict(path=str(out), folded=count, lines=after), said)
    return 0


def _check(invocation: Invocation) -> int:
    import anyio
    import httpx

    from ..protocol.control import CONTROL
    from ..recording import check

    args = invocation.args
    cassette = _load(args.file, invocation)
    sleep: typing.Callable[[float], typing.Awaitable[None]] | None = None
    if args.advance_clock:

        async def advance(seconds: float) -> None:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(args.url + CONTROL.clock_advance, json=dict(seconds=seconds))
            if answer.status_code != 200:
                raise CommandError(f"{args.url} moved no clock ({answer.status_code}): is it a nemo-mock emulator?")

        sleep = advance

    async def checked() -> typing.Any:
        return await check(
            cassette, base_url=args.url, speed=args.speed, sleep=sleep, files=args.files, token=args.token
        )

    try:
        report = anyio.run(checked)
    except httpx.HTTPError as exc:
        raise CommandError(f"cannot reach {args.url}: {type(exc).__name__}", status=6) from None
    for note in report.notes:
        invocation.console.warning(note)
    if report.checked == 0 and report.differences:
        raise CommandError(f"{args.url} answered none of the requests ({report.differences[0].detail})", status=6)
    lines = report.lines()
    where = f"{args.file} against {args.url}"
    if not lines:
        said = f"checked {report.checked} exchanges of {where}: no differences"
    else:
        said = "\n".join([*lines, f"{len(lines)} differences in {report.checked} exchanges ({where})"])
    invocation.console.result(dict(checked=report.checked, differences=lines, notes=report.notes), said)
    return 0 if not lines else 1


_ACTIONS: dict[str, typing.Callable[[Invocation], int]] = {
    "show": _show,
    "har": _har,
    "compact": _compact,
    "check": _check,
}


def run(invocation: Invocation) -> int:
    return _ACTIONS[invocation.args.cassette_command](invocation)
