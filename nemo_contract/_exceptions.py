"""Every error the reference client raises, and the advice each one carries for the user.

The tree::

    NemoError                                   every error of this package; ``.advice`` is for the user
    ├── APIError                                the service answered with an error envelope; ``.code``
    │   ├── AuthenticationError (PermissionError)    1001 again after a fresh token
    │   ├── SessionNotFound (LookupError)            1002 again after a fresh session
    │   ├── OutOfCredits                             2001: ``.register_url`` for anonymous users
    │   ├── UploadRejected (ValueError)
    │   │   ├── UnsupportedFileType                  4001: the accepted formats
    │   │   └── FileTooLarge                         4002: compress or trim
    │   ├── BadRequest (ValueError)                  400
    │   ├── ExportBlocked (PermissionError)          402: the plan, not credits
    │   ├── NotFound (LookupError)                   404
    │   ├── Conflict                                 409: a turn still running, a render id used
    │   ├── RateLimited                              429 again after waiting once
    │   └── ServiceError                             any other code or status
    ├── TurnError                               a turn that started but did not end well
    │   ├── TurnFailed (RuntimeError)                the stream reported an error, or broke
    │   └── TurnTimeout (TimeoutError)               no end within the documents' 15 minutes
    ├── ExportError
    │   ├── NothingToExport (ValueError)             the draft has no track with a segment
    │   ├── RenderFailed (RuntimeError)              the render ended ``failed``
    │   └── RenderTimeout (TimeoutError)             the render never ended
    ├── InvalidBaseURL (ValueError)             the service URL given (or in NEMO_API_URL) is not an http(s) URL
    ├── LocalFileError (OSError)                a file to upload, or a download target, is unusable
    │   └── OutputExists (FileExistsError)           an export would replace a file it was told to keep
    ├── NetworkError (ConnectionError)          the service could not be reached or the connection dropped
    └── UnexpectedResponse (ValueError)         an answer that is not what the protocol says

``str(error)`` is one sentence about what went wrong and ``error.advice`` one sentence about what to do; neither
ever holds a token or a raw response body. A service's own ``message`` field is kept in ``error.detail``.
"""

from __future__ import annotations

import typing

from .protocol import DEFAULT_BASE_URL, MAX_UPLOAD_BYTES

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "ExportBlocked",
    "ExportError",
    "FileTooLarge",
    "InvalidBaseURL",
    "LocalFileError",
    "NemoError",
    "NetworkError",
    "NotFound",
    "NothingToExport",
    "OutOfCredits",
    "OutputExists",
    "RateLimited",
    "RenderFailed",
    "RenderTimeout",
    "ServiceError",
    "SessionNotFound",
    "TurnError",
    "TurnFailed",
    "TurnTimeout",
    "UnexpectedResponse",
    "UnsupportedFileType",
    "UploadRejected",
]


class NemoError(Exception):
    """Base of every error raised by the reference client."""

    #: What the user can do about it, in one sentence.
    advice: str = "Try again in a moment."

    def __init__(self, message: str, *, advice: str | None = None) -> None:
        super().__init__(message)
        if advice is not None:
            self.advice = advice

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def user_text(self) -> str:
        """The one line a user sees: what happened, then what to do."""
        return f"{self.message.rstrip('.')}. {self.advice}".strip()


class APIError(NemoError):
    """The service answered with an error envelope (or, failing one, an error status)."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        http_status: int | None = None,
        detail: str | None = None,
        advice: str | None = None,
    ) -> None:
        super().__init__(message, advice=advice)
        #: The envelope's business code (or the HTTP status when there was no envelope).
        self.code = code
        self.http_status = http_status
        #: The envelope's own ``message`` text, when it had one.
        self.detail = detail


class AuthenticationError(APIError, PermissionError):
    advice = "A newly issued token was refused too; try again in a few minutes."


class SessionNotFound(APIError, LookupError):
    advice = "A newly started session was not found either; try again in a few minutes."


class OutOfCredits(APIError):
    """2001. Anonymous users get a registration link that binds their work to the new account."""

    def __init__(self, message: str, *, register_url: str | None, top_up_url: str, **kwargs: typing.Any) -> None:
        self.register_url = register_url
        if register_url:
            advice = f"Register for free to get more credits and keep your work: {register_url}"
        else:
            advice = f"Top up your credits at {top_up_url}, then try again."
        super().__init__(message, advice=advice, **kwargs)


class UploadRejected(APIError, ValueError):
    """The service refused a file."""


class UnsupportedFileType(UploadRejected):
    def __init__(self, message: str, *, accepted: str, **kwargs: typing.Any) -> None:
        super().__init__(message, advice=f"Accepted formats: {accepted}.", **kwargs)


class FileTooLarge(UploadRejected):
    advice = (
        f"The limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: compress the file or trim it to the part you need, "
        "then upload it again."
    )


class BadRequest(APIError, ValueError):
    advice = "This is a bug in the client or an unexpected change in the service; please report it."


class ExportBlocked(APIError, PermissionError):
    advice = (
        "Export is not included in the current plan. This is about the subscription tier, not credits: "
        "upgrade the plan (or register) to export."
    )


class NotFound(APIError, LookupError):
    advice = "It may have expired; start it again."


class Conflict(APIError):
    advice = "The previous request is still being worked on; wait for it to finish (check with 'status')."


class RateLimited(APIError):
    advice = "Too many requests; wait a minute before trying again."


class ServiceError(APIError):
    advice = "The service had a problem; try again in a moment."


class TurnError(NemoError):
    """A turn was accepted (and charged), so it is never sent again automatically."""


class TurnFailed(TurnError, RuntimeError):
    advice = "Nothing was sent again; check the timeline with 'status' before asking again."


class TurnTimeout(TurnError, TimeoutError):
    advice = "The work may still finish; check the timeline with 'status' in a few minutes before asking again."


class ExportError(NemoError):
    """The export workflow could not produce a file."""


class NothingToExport(ExportError, ValueError):
    advice = "Generate a video first: describe what you want, then export."


class RenderFailed(ExportError, RuntimeError):
    advice = "Try the export again; if it keeps failing, change the timeline and retry."


class RenderTimeout(ExportError, TimeoutError):
    advice = "The render is taking unusually long; try the export again later."


class InvalidBaseURL(NemoError, ValueError):
    advice = f"Use the service's http:// or https:// address, for example {DEFAULT_BASE_URL}."


class LocalFileError(NemoError, OSError):
    advice = "Check the path and that the file can be read (or the folder written)."


class OutputExists(LocalFileError, FileExistsError):
    advice = "Choose another name, or allow the file to be replaced."


class NetworkError(NemoError, ConnectionError):
    advice = "Check your network connection and NEMO_API_URL, then try again."

    def __init__(self, message: str, *, timed_out: bool = False, advice: str | None = None) -> None:
        super().__init__(message, advice=advice)
        #: The service stopped answering (a timeout), rather than refusing or dropping the connection.
        self.timed_out = timed_out


class UnexpectedResponse(NemoError, ValueError):
    advice = "The service answered in a way the client does not understand; try again, or report it."
