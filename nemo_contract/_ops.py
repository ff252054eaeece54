"""The client's logic without I/O: flows are generators that yield operations and get their results back.

Everything the client decides (which request to build, how to read an envelope, when to recover, how to read a
stream, what to tell the user) is written once, as a *flow*: a generator that yields an operation below and is
resumed with its result, or has an exception thrown into it. ``Client`` and ``AsyncClient`` are two small
drivers that carry out the operations with ``httpx.Client`` / ``httpx.AsyncClient`` and the injected sleep.

A flow ends by returning its value; ``Emit`` operations along the way are messages for the user, which the
drivers hand out as they come (nothing is buffered).
"""

from __future__ import annotations

import dataclasses
import pathlib
import typing

import httpx

from ._models import Message, MessageKind
from .protocol import TURN_TIME_LIMIT

__all__ = [
    "STREAM_TIMEOUT",
    "CloseStream",
    "Download",
    "DownloadResult",
    "Emit",
    "Flow",
    "Op",
    "OpenStream",
    "ReadChunk",
    "RequestSpec",
    "Send",
    "Sleep",
    "StreamHandle",
    "emit",
    "is_event_stream",
]

T = typing.TypeVar("T")

#: A turn may take 15 minutes, with heartbeats in between; no read of a stream waits longer (each read of a turn
#: also gets the time the turn has left, see ``ReadChunk``).
STREAM_TIMEOUT = httpx.Timeout(30.0, read=TURN_TIME_LIMIT)


@dataclasses.dataclass(frozen=True, slots=True)
class RequestSpec:
    """One HTTP request, fully built (absolute URL, every header)."""

    method: str
    url: str
    headers: dict[str, str]
    json: typing.Any = None
    #: Paths of files sent as the multipart field ``files``.
    files: tuple[pathlib.Path, ...] = ()
    timeout: httpx.Timeout | None = None

    @property
    def path(self) -> str:
        """What logs may show: the path alone, never the headers, the query or the body."""
        return httpx.URL(self.url).path


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Send a request; resume with the ``httpx.Response`` (body read), or a ``NetworkError`` thrown in."""

    request: RequestSpec


@dataclasses.dataclass(frozen=True, slots=True)
class OpenStream:
    """Send a request and keep its body open: resume with a ``StreamHandle`` when the answer is an event
    stream, else with the ``httpx.Response`` (body read), which is an error envelope."""

    request: RequestSpec


class StreamHandle:
    """An open event stream; flows only pass it back to ``ReadChunk`` / ``CloseStream``."""

    def __init__(self, response: httpx.Response, chunks: typing.Any) -> None:
        self.response = response
        self.chunks = chunks  # the driver's text iterator (sync or async)
        self.closed = False
        #: Set by a driver when a read ran out of time (the connection was cut to end it).
        self.expired = False


@dataclasses.dataclass(frozen=True, slots=True)
class ReadChunk:
    """Resume with the next piece of decoded text of the stream, or None at its end.

    ``timeout``: seconds the read may wait at most; past them the driver ends the read and throws a
    ``NetworkError`` with ``timed_out`` set into the flow.
    """

    stream: StreamHandle
    timeout: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CloseStream:
    stream: StreamHandle


@dataclasses.dataclass(frozen=True, slots=True)
class Sleep:
    """Wait, with the client's injected sleep."""

    seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class DownloadResult:
    status: int
    size: int


@dataclasses.dataclass(frozen=True, slots=True)
class Download:
    """GET ``request``, following redirects (a signed CDN link answers 302; httpx drops the token when a redirect
    leaves the origin), and stream a 200 body into ``dest`` (through a ``.part`` file, renamed at the end)."""

    request: RequestSpec
    dest: pathlib.Path


@dataclasses.dataclass(frozen=True, slots=True)
class Emit:
    """A message for the user; resumes with None."""

    message: Message


def emit(kind: MessageKind, text: str, *, progress: int | None = None) -> Emit:
    """The operation that hands one message to the user."""
    return Emit(Message(kind=kind, text=text, progress=progress))


Op = Send | OpenStream | ReadChunk | CloseStream | Sleep | Download | Emit
Flow = typing.Generator[Op, typing.Any, T]


def is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower() == "text/event-stream"
