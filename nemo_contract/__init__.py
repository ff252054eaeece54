"""nemo-contract: a reference client of the NemoVideo agent API, and the tools to hold integrations to it.

``Client`` / ``AsyncClient`` drive the API the way its two skill documents require; ``StreamingASGITransport``
runs an ASGI app (the emulator) in-process with streaming bodies; the protocol's codes and knobs come from one
place (``Code``, ``SkillSource``, ...).
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:  # the names, for type checkers and editors; at run time they load on first use
    from ._client import AsyncClient, Client
    from ._exceptions import (
        APIError,
        AuthenticationError,
        BadRequest,
        Conflict,
        ExportBlocked,
        ExportError,
        FileTooLarge,
        InvalidBaseURL,
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

#: Where each public name lives. Importing ``nemo_contract`` (which the emulator does, for the protocol module)
#: does not load the client and httpx until one of these is used.
_LOCATIONS: dict[str, str] = {
    "ACCEPTED_FORMATS_TEXT": "._protocol",
    "APIError": "._exceptions",
    "AsyncClient": "._client",
    "AuthenticationError": "._exceptions",
    "BadRequest": "._exceptions",
    "classify": "._routing",
    "Client": "._client",
    "Code": "._protocol",
    "Conflict": "._exceptions",
    "Credentials": "._models",
    "Credits": "._models",
    "DEFAULT_BASE_URL": "._protocol",
    "EventFormat": "._protocol",
    "ExportBlocked": "._exceptions",
    "ExportError": "._exceptions",
    "ExportResult": "._models",
    "FileTooLarge": "._exceptions",
    "format_timeline": "._protocol",
    "HeartbeatMode": "._protocol",
    "Intent": "._routing",
    "InvalidBaseURL": "._exceptions",
    "LocalFileError": "._exceptions",
    "Message": "._models",
    "MessageKind": "._models",
    "NemoError": "._exceptions",
    "NetworkError": "._exceptions",
    "NotFound": "._exceptions",
    "NothingToExport": "._exceptions",
    "OutOfCredits": "._exceptions",
    "RateLimited": "._exceptions",
    "RenderFailed": "._exceptions",
    "RenderShape": "._protocol",
    "RenderStatus": "._protocol",
    "RenderTimeout": "._exceptions",
    "ServiceError": "._exceptions",
    "SessionNotFound": "._exceptions",
    "SkillIdentity": "._identity",
    "SkillSource": "._protocol",
    "Snapshot": "._models",
    "StatusMode": "._protocol",
    "StreamingASGITransport": "._transport",
    "TurnError": "._exceptions",
    "TurnFailed": "._exceptions",
    "TurnTimeout": "._exceptions",
    "UnexpectedResponse": "._exceptions",
    "UnsupportedFileType": "._exceptions",
    "UploadedFile": "._models",
    "UploadRejected": "._exceptions",
}

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
    "InvalidBaseURL",
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


def __getattr__(name: str) -> typing.Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'nemo_contract' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
