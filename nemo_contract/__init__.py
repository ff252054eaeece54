"""nemo-contract: a reference client of the NemoVideo agent API, and the tools to hold integrations to it.

This root is the reference client's public API: ``Client`` / ``AsyncClient`` drive the API the way its two skill
documents require, and raise the errors drawn in ``nemo_contract._exceptions``. The other public parts are
subpackages: ``nemo_contract.protocol`` (what the API is: codes, paths, fields, shapes, events) and
``nemo_contract.testing`` (the emulator in tests: transport, fixtures, strategies).

Names load on first use: the emulator imports ``nemo_contract.protocol``, which runs this module first, and must
not pay for httpx and the client.
"""

from __future__ import annotations

import typing

from . import _lazy
from .__version__ import __version__

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
    from ._routing import Intent, classify
    from .protocol import Code, SkillSource

#: Where each public name lives. The names are spelled three times (here, for type checkers above, and in
#: ``__all__``); tests/client/test_exported_members.py proves the three agree.
_LOCATIONS: dict[str, str] = {
    "APIError": "._exceptions",
    "AsyncClient": "._client",
    "AuthenticationError": "._exceptions",
    "BadRequest": "._exceptions",
    "classify": "._routing",
    "Client": "._client",
    "Code": ".protocol",
    "Conflict": "._exceptions",
    "Credentials": "._models",
    "Credits": "._models",
    "ExportBlocked": "._exceptions",
    "ExportError": "._exceptions",
    "ExportResult": "._models",
    "FileTooLarge": "._exceptions",
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
    "RenderTimeout": "._exceptions",
    "ServiceError": "._exceptions",
    "SessionNotFound": "._exceptions",
    "SkillIdentity": "._identity",
    "SkillSource": ".protocol",
    "Snapshot": "._models",
    "TurnError": "._exceptions",
    "TurnFailed": "._exceptions",
    "TurnTimeout": "._exceptions",
    "UnexpectedResponse": "._exceptions",
    "UnsupportedFileType": "._exceptions",
    "UploadedFile": "._models",
    "UploadRejected": "._exceptions",
}

__all__ = [  # noqa: RUF022 - sorted case-insensitively, as httpx sorts its own
    "__version__",
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
    "ExportBlocked",
    "ExportError",
    "ExportResult",
    "FileTooLarge",
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
    "RenderTimeout",
    "ServiceError",
    "SessionNotFound",
    "SkillIdentity",
    "SkillSource",
    "Snapshot",
    "TurnError",
    "TurnFailed",
    "TurnTimeout",
    "UnexpectedResponse",
    "UnsupportedFileType",
    "UploadedFile",
    "UploadRejected",
]

__getattr__, __dir__ = _lazy.lazy_names(globals(), _LOCATIONS)
