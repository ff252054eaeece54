"""nemo-contract: a reference client of the NemoVideo agent API, and the tools to hold integrations to it.

``Client`` / ``AsyncClient`` drive the API the way its two skill documents require; ``StreamingASGITransport``
runs an ASGI app (the emulator) in-process with streaming bodies; the protocol's codes and knobs come from one
place (``Code``, ``SkillSource``, ...).
"""

from __future__ import annotations

from ._client import AsyncClient, Client
from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequest,
    Conflict,
    ExportBlocked,
    ExportError,
    FileTooLarge,
    LocalFileError,
    NemoError,
    NetworkError,
    NotFound,
    NothingToExport,
    OutOfCredits,
    RateLimited,
    RenderFailed,
    RenderTimeout,
    ServiceError,
    SessionNotFound,
    TurnError,
    TurnFailed,
    TurnTimeout,
    UnexpectedResponse,
    UnsupportedFileType,
    UploadRejected,
)
from ._identity import SkillIdentity
from ._models import Credentials, Credits, ExportResult, Message, MessageKind, Snapshot, UploadedFile
from ._protocol import (
    ACCEPTED_FORMATS_TEXT,
    DEFAULT_BASE_URL,
    Code,
    EventFormat,
    HeartbeatMode,
    RenderShape,
    RenderStatus,
    SkillSource,
    StatusMode,
    format_timeline,
)
from ._routing import Intent, classify
from ._transport import StreamingASGITransport

__version__ = "0.1.0"

# Sorted case-insensitively, as httpx does (tests/test_exported_members.py checks it), not isort-style.
__all__ = [  # noqa: RUF022
    "ACCEPTED_FORMATS_TEXT",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "classify",
    "Client",
    "Code",
    "Conflict",
    "Credentials",
    "Credits",
    "DEFAULT_BASE_URL",
    "EventFormat",
    "ExportBlocked",
    "ExportError",
    "ExportResult",
    "FileTooLarge",
    "format_timeline",
    "HeartbeatMode",
    "Intent",
    "LocalFileError",
    "Message",
    "MessageKind",
    "NemoError",
    "NetworkError",
    "NotFound",
    "NothingToExport",
    "OutOfCredits",
    "RateLimited",
    "RenderFailed",
    "RenderShape",
    "RenderStatus",
    "RenderTimeout",
    "ServiceError",
    "SessionNotFound",
    "SkillIdentity",
    "SkillSource",
    "Snapshot",
    "StatusMode",
    "StreamingASGITransport",
    "TurnError",
    "TurnFailed",
    "TurnTimeout",
    "UnexpectedResponse",
    "UnsupportedFileType",
    "UploadedFile",
    "UploadRejected",
]
