"""Files the emulator serves in place of the real CDN (uploads, render results), with HTTP Range."""

from __future__ import annotations

import re

from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

__all__ = ["MediaFile"]

_RANGE = re.compile(r"bytes=\s*(\d*)\s*-\s*(\d*)\s*")


def _usable(value: str) -> bool:
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        return False
    start, end = match.group(1), match.group(2)
    return bool(start or end) and not (start and end and int(start) > int(end))


class MediaFile(FileResponse):
    """A FileResponse that ignores a Range header it cannot use (RFC 9110 says: serve the whole file).

    Starlette answers a malformed Range with a plain-text 400; a CDN sends the file. Only single ranges are
    served as 206, as the spec says; a list of ranges gets the whole file too.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope.get("headers", [])
        if any(k == b"range" and not _usable(v.decode("latin-1")) for k, v in headers):
            scope = {**scope, "headers": [(k, v) for k, v in headers if k != b"range"]}
        await super().__call__(scope, receive, send)
