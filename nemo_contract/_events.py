"""Reading a turn's event stream as it arrives: SSE framing in, the protocol's events out.

Framing is httpx-sse's standards-compliant decoder, fed here chunk by chunk rather than through its
``EventSource`` iterator: that iterator drops comment lines before the caller sees them, and a comment
(``: ping``) is one of the heartbeat forms the client must notice. What each event means is the protocol's
classifier (``nemo_contract.protocol.events.classify``), the one reading of both event formats.
"""

from __future__ import annotations

# The decoders behind httpx-sse's iterators (stable since 0.4; the dependency is pinned below 0.5 for them).
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from .protocol.events import TurnEvent, classify

__all__ = ["StreamReader"]


class StreamReader:
    """Decoded text in, the events it completes out, as soon as each is complete."""

    def __init__(self) -> None:
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()

    def _decode(self, lines: list[str]) -> list[TurnEvent]:
        found: list[TurnEvent] = []
        for line in lines:
            if line.startswith(":"):
                found += classify(None)  # a comment: one of the heartbeat forms
                continue
            event = self._events.decode(line)
            if event is not None:
                found += classify(event.data)
        return found

    def feed(self, text: str) -> list[TurnEvent]:
        return self._decode(self._lines.decode(text)) if text else []

    def close(self) -> list[TurnEvent]:
        """The end of the stream: a last line without its newline, and an event without its blank line."""
        return self._decode([*self._lines.flush(), ""])
