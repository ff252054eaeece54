"""Server-Sent Events as a recorder sees them: a byte stream cut into event blocks as the bytes arrive, the
fields of one block, and the bytes of a block written back from its fields.

Written here rather than taken from httpx-sse: its decoder drops comment lines (``: ping``, one of the protocol's
heartbeat forms) and never hands back a block's own bytes, and a faithful replay needs both.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Frame", "Splitter", "frame_bytes", "parse_block"]

#: What ends a block: a blank line, in any of the three line-end spellings the SSE format allows.
_ENDS = (b"\n\n", b"\r\n\r\n", b"\r\r")


@dataclasses.dataclass(frozen=True, slots=True)
class Frame:
    """One event block's fields (None: the block has no such line) and its bytes as sent."""

    data: str | None
    event: str | None
    id: str | None
    retry: int | None
    comment: str | None
    raw: bytes

    @property
    def canonical(self) -> bool:
        """Whether writing the fields back gives exactly the bytes that were sent."""
        return frame_bytes(self.data, event=self.event, id=self.id, retry=self.retry, comment=self.comment) == self.raw


def _lines(block: bytes) -> list[str]:
    text = block.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_block(raw: bytes) -> Frame:
    """The fields of one block (its terminating blank line included or not), as an EventSource reads them."""
    data: list[str] = []
    comments: list[str] = []
    event = id_ = None
    retry = None
    for line in _lines(raw):
        if not line:
            continue
        if line.startswith(":"):
            comments.append(line[1:].removeprefix(" "))
            continue
        name, colon, value = line.partition(":")
        value = value.removeprefix(" ") if colon else ""
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            id_ = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    return Frame(
        data="\n".join(data) if data else None,
        event=event,
        id=id_,
        retry=retry,
        comment="\n".join(comments) if comments else None,
        raw=raw,
    )


def frame_bytes(
    data: str | None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """A block written the way the protocol writes one: comments, then ``event``, ``id``, ``retry``, then one
    ``data:`` line per line of data (a bare ``data:`` when it is empty), then the blank line."""
    lines: list[str] = []
    if comment is not None:
        lines += [f": {text}" if text else ":" for text in comment.split("\n")]
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    if data is not None:
        lines += [f"data: {text}" if text else "data:" for text in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


class Splitter:
    """Cuts a stream into whole blocks as its chunks arrive; only an unfinished block is held back."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """The blocks this chunk completes, each with its blank line."""
        buffer = self._pending + chunk if self._pending else chunk
        blocks: list[bytes] = []
        start = 0
        while True:
            cut = -1
            for end in _ENDS:
                found = buffer.find(end, start)
                if found != -1 and (cut == -1 or found + len(end) < cut):
                    cut = found + len(end)
            if cut == -1:
                break
            blocks.append(buffer[start:cut])
            start = cut
        self._pending = buffer[start:]
        return blocks

    @property
    def rest(self) -> bytes:
        """The bytes of a block that was never finished (what a cut stream leaves behind)."""
        return self._pending
