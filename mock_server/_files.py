"""Files the emulator serves in place of the real CDN (uploads, render results), with HTTP Range.

The Range header is judged here before Starlette sees it, so that what the spec says holds for any input: one
valid byte range is served (206, or 416 when it starts past the end), anything else is ignored and the whole file
sent. Numbers of any length are compared as digit strings, never converted whole (``int()`` refuses more than
4300 digits, and Starlette would answer such a header with a plain-text 400).
"""

from __future__ import annotations

import os
import re
import stat

import anyio.to_thread
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

from nemo_contract.protocol import Code

from ._errors import ProtocolError

__all__ = ["MediaFile", "usable_range"]

_RANGE = re.compile(r"bytes=\s*([0-9]*)\s*-\s*([0-9]*)\s*")
#: No file is this large: a number with more digits than this is "past any end", and is written as this many
#: nines for Starlette (whose arithmetic then clamps or refuses it as RFC 9110 says).
_DIGITS = 18


def _number(digits: str) -> str:
    """A decimal of any length without its leading zeros ("" stays "")."""
    return digits.lstrip("0") or ("0" if digits else "")


def _capped(number: str) -> str:
    """A number Starlette can convert: huge values become the largest one of ``_DIGITS`` digits."""
    return "9" * _DIGITS if len(number) > _DIGITS else number


def usable_range(value: str) -> str | None:
    """``value`` as a single byte range Starlette can serve, or None when it is to be ignored."""
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        return None
    start, end = _number(match.group(1)), _number(match.group(2))
    if not (start or end):
        return None
    if start and end and (len(start), start) > (len(end), end):  # equal lengths compare as numbers
        return None
    return f"bytes={_capped(start)}-{_capped(end)}"


class MediaFile(FileResponse):
    """A FileResponse that serves a Range header as the spec says and answers a vanished file with 404.

    Only single ranges are served as 206; a list of ranges, or anything that is not a byte range, gets the whole
    file (RFC 9110 lets a server ignore a Range it does not use). A file that is gone (deleted by a reset, say)
    is answered with the 404 envelope instead of Starlette's RuntimeError.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            found = await anyio.to_thread.run_sync(os.stat, self.path)
        except OSError:
            found = None
        if found is None or not stat.S_ISREG(found.st_mode):
            raise ProtocolError(Code.NOT_FOUND, "no such file")
        self.stat_result = found
        self.set_stat_headers(found)
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"range"]
        ranges = [v for k, v in scope.get("headers", []) if k == b"range"]
        if len(ranges) == 1:
            usable = usable_range(ranges[0].decode("latin-1"))
            if usable is not None:
                headers.append((b"range", usable.encode("latin-1")))
        scope = {**scope, "headers": headers}
        await super().__call__(scope, receive, send)
