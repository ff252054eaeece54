"""The emulator's own control surface (``specs/mock-admin.openapi.yaml``): not part of the NemoVideo API, but
what every tool that drives the emulator (the tests, the pytest plugin, ``audit``) speaks.

Paths under ``/__mock__/``, the ``X-Mock-Fault`` header, the names of the knobs and of a fault rule's fields, the
shape of a journal entry, and the ways a stream can end.
"""

from __future__ import annotations

import enum
import typing

__all__ = [
    "CONTROL",
    "CONTROL_PREFIX",
    "FAULT_FIELDS",
    "KNOBS",
    "MOCK_FAULT",
    "FaultRuleFields",
    "JournalEntry",
    "JournalEvent",
    "JournalRequest",
    "JournalResponse",
    "JournalStream",
    "KnobFields",
    "StreamEnd",
]

CONTROL_PREFIX = "/__mock__/"
#: Answer this one request as the backend would with the given code (``X-Mock-Fault: 429``).
MOCK_FAULT = "X-Mock-Fault"


class _ControlPaths(typing.NamedTuple):
    health: str
    reset: str
    clock_advance: str
    config: str
    account: str
    journal: str


CONTROL = _ControlPaths(
    health="/__mock__/health",
    reset="/__mock__/reset",
    clock_advance="/__mock__/clock/advance",
    config="/__mock__/config",
    account="/__mock__/accounts/{user_id}",
    journal="/__mock__/journal",
)


class FaultRuleFields(typing.TypedDict, total=False):
    """One fault rule: which requests it matches, and what it does to them."""

    method: str
    path: str  # a glob: "/api/render/*"
    body_contains: str
    code: int
    latency: float  # virtual seconds before the answer (each event of a stream)
    cut_after: int  # /run_sse: close after N events, no error
    error_after: int  # /run_sse: send data: {"error": ...} after N events
    fail_render: str  # render start: accept, then fail with this error
    times: int  # only the next K matches
    probability: float  # a seeded draw per match


class KnobFields(typing.TypedDict, total=False):
    """Every knob, as ``GET``/``PUT /__mock__/config`` spell them."""

    status_mode: str
    event_format: str
    heartbeat: str
    heartbeat_interval: float
    silent_close_rate: float
    on_disconnect: str
    render_shape: str
    turn_durations: dict[str, list[float]]
    render_duration: list[float]
    credit_costs: dict[str, int]
    initial_credits: int
    token_lifetime: float
    retry_after: int
    token_limit_per_ip: int | None
    token_limit_per_client: int | None
    token_limit_window: float
    rate_limit: dict[str, float] | None
    journal_size: int
    export_allowed: bool
    max_disk: int
    faults: list[FaultRuleFields]


#: The knob names, in the order the configuration lists them.
KNOBS: typing.Final = tuple(KnobFields.__annotations__)
FAULT_FIELDS: typing.Final = tuple(FaultRuleFields.__annotations__)


class StreamEnd(enum.StrEnum):
    """How a ``/run_sse`` stream ended, as the journal tells it."""

    COMPLETE = "complete"  # the turn ran to its end and said something
    SILENT_CLOSE = "silent_close"  # the turn ran to its end without a text event
    CUT = "cut"  # a fault closed it early (cut_after)
    ERROR_EVENT = "error_event"  # it ended with data: {"error": ...}
    CLIENT_GONE = "client_gone"  # the client disconnected first
    SHUTDOWN = "shutdown"  # the server was stopping


class JournalEvent(typing.TypedDict):
    """One event a stream sent."""

    n: int
    kind: str  # an events.EventKind value
    time: float  # virtual Unix time
    real_time: float  # wall-clock Unix time
    data: str  # the block as sent, without its blank line (cut to a documented length)


class JournalRequest(typing.TypedDict):
    """What a request sent: its headers (``authorization`` masked, long values cut) and its body's size and
    SHA-256 (null without a body)."""

    headers: list[list[str]]
    body_size: int
    body_sha256: str | None


class JournalResponse(typing.TypedDict):
    headers: list[list[str]]
    body_size: int


class JournalStream(typing.TypedDict):
    events: list[JournalEvent]
    end: str | None  # a StreamEnd value once the stream has ended


class JournalEntry(typing.TypedDict):
    """One request to the API, as ``GET /__mock__/journal`` shows it (see the admin spec)."""

    seq: int
    time: float
    real_time: float
    method: str
    path: str
    query: str
    status: int | None
    code: int | None
    user_id: str | None
    token_ref: str | None
    headers_present: list[str]
    attribution: dict[str, str | None]
    request: JournalRequest
    response: JournalResponse
    events: list[str] | None
    stream: JournalStream | None
    end: str | None
    complete: bool
