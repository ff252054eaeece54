"""What the NemoVideo agent API is, in one place: the public package both sides of the protocol import.

The emulator (``mock_server``), the reference client and the toolkit all take protocol knowledge from here, so a
code, a header, a path or a field name can only be spelled one way. This module holds the facts (codes and
their HTTP statuses, headers, paths, the knobs' values, limits); ``fields`` names every JSON field, ``shapes``
types and builds the JSON, ``events`` writes and reads the ``/run_sse`` stream, ``control`` is the emulator's
own control surface, ``specs`` finds the recorded OpenAPI documents. It imports nothing else of ours, and
neither httpx nor starlette.

The machine-readable truth is ``specs/nemovideo.openapi.yaml``; the tests prove this package and that document
agree.
"""

from __future__ import annotations

import enum
import re
import typing

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "ACCEPTED_FORMATS_TEXT",
    "APP_NAME",
    "ATTRIBUTION_HEADERS",
    "CLAIM_PATH",
    "CLAIM_TOKEN_LIFETIME",
    "DEFAULT_BASE_URL",
    "DEFAULT_LANGUAGE",
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_SKILL_VERSION",
    "DEFAULT_TASK_NAME",
    "DEFAULT_WEB_URL",
    "DROPPED_STREAM_POLLS",
    "DROPPED_STREAM_WAIT",
    "ENDPOINTS",
    "HTTP_STATUS",
    "MAX_UPLOAD_BYTES",
    "ME",
    "MESSAGES",
    "PATHS",
    "PLATFORMS",
    "RENDER_POLL_INTERVAL",
    "STILL_WORKING_INTERVAL",
    "TOKEN_LIFETIME",
    "TURN_TIME_LIMIT",
    "UNKNOWN_PLATFORM",
    "URL_SOURCE_TYPE",
    "Code",
    "EventFormat",
    "FileType",
    "Header",
    "HeartbeatMode",
    "OnDisconnect",
    "RenderShape",
    "RenderStatus",
    "SkillSource",
    "StatusMode",
    "TrackType",
    "file_type_for",
    "path_pattern",
    "register_url",
    "retry_after_seconds",
]

DEFAULT_BASE_URL = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_URL = "https://nemovideo.com"
APP_NAME = "nemo_agent"
DEFAULT_LANGUAGE = "en"

#: Anonymous tokens live seven days (both skill documents).
TOKEN_LIFETIME = 7 * 24 * 3600.0
#: A claim token (``POST /api/auth/claim-token``) lives seven days too: its answer's ``expires_in``.
CLAIM_TOKEN_LIFETIME = 7 * 24 * 3600
#: Where the newest skill sends a user to claim anonymous work: ``<web>/workspace/claim?ct=<claim_token>``.
CLAIM_PATH = "/workspace/claim"
#: "Max file size is 500MB"; read as binary megabytes, the way upload proxies count.
MAX_UPLOAD_BYTES = 500 * 1024 * 1024
#: "wait 30s and retry once" when no Retry-After header says otherwise.
DEFAULT_RETRY_AFTER = 30


def retry_after_seconds(value: str, *, now: float) -> float:
    """The seconds a ``Retry-After`` value asks for at ``now`` (a Unix time): a number of seconds, or an HTTP
    date (UTC when it names no zone); ``DEFAULT_RETRY_AFTER`` when it is empty or unreadable."""
    import datetime
    import email.utils

    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        when = None
    if when is None:
        return float(DEFAULT_RETRY_AFTER)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now)


#: "Poll status every 30s" during an export.
RENDER_POLL_INTERVAL = 30.0
#: A turn's stream may run for "15 min" at most.
TURN_TIME_LIMIT = 15 * 60.0
#: A stream that drops before its turn ends: "wait 30 s, query the state; after 5 unchanged queries report a
#: failure" (the official skill's recovery; the turn itself goes on on the service).
DROPPED_STREAM_WAIT = 30.0
DROPPED_STREAM_POLLS = 5
#: Heartbeats mean "still working": tell the user so "every 2 minutes" at most.
STILL_WORKING_INTERVAL = 120.0
#: The path segment that means "the token's own user".
ME = "me"
#: ``source_type`` of an upload of URLs.
URL_SOURCE_TYPE = "url"
#: The session name both documents' quick starts send.
DEFAULT_TASK_NAME = "project"
#: The skill documents' frontmatter was stripped; the template family they come from publishes 1.0.0.
DEFAULT_SKILL_VERSION = "1.0.0"
#: ``X-Skill-Platform`` by install path: a path inside ``~/.clawhub/`` is clawhub, inside ``~/.cursor/skills/``
#: cursor; anything else is ``unknown``.
PLATFORMS: typing.Final = (("clawhub", (".clawhub",)), ("cursor", (".cursor", "skills")))
UNKNOWN_PLATFORM = "unknown"


class Code(enum.IntEnum):
    """Business codes of the response envelope (``{"code": ..., "message": ..., "data": ...}``)."""

    SUCCESS = 0
    TOKEN_INVALID = 1001
    SESSION_NOT_FOUND = 1002
    INSUFFICIENT_CREDITS = 2001
    UNSUPPORTED_FILE_TYPE = 4001
    FILE_TOO_LARGE = 4002
    BAD_REQUEST = 400
    EXPORT_BLOCKED = 402
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    CONFLICT = 409
    RATE_LIMITED = 429


#: HTTP status of each code under ``status_mode=http`` (under ``always200`` every envelope is sent with 200).
HTTP_STATUS: typing.Final[dict[Code, int]] = {
    Code.SUCCESS: 200,
    Code.TOKEN_INVALID: 401,
    Code.SESSION_NOT_FOUND: 404,
    Code.INSUFFICIENT_CREDITS: 402,
    Code.UNSUPPORTED_FILE_TYPE: 415,
    Code.FILE_TOO_LARGE: 413,
    Code.BAD_REQUEST: 400,
    Code.EXPORT_BLOCKED: 402,
    Code.NOT_FOUND: 404,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.CONFLICT: 409,
    Code.RATE_LIMITED: 429,
}

#: The default ``message`` of each code's envelope.
MESSAGES: typing.Final[dict[Code, str]] = {
    Code.SUCCESS: "success",
    Code.TOKEN_INVALID: "token expired or invalid",
    Code.SESSION_NOT_FOUND: "session not found",
    Code.INSUFFICIENT_CREDITS: "insufficient credits",
    Code.UNSUPPORTED_FILE_TYPE: "unsupported file type",
    Code.FILE_TOO_LARGE: "file too large",
    Code.BAD_REQUEST: "bad request",
    Code.EXPORT_BLOCKED: "export is not available on this plan",
    Code.NOT_FOUND: "not found",
    Code.METHOD_NOT_ALLOWED: "method not allowed",
    Code.CONFLICT: "conflict",
    Code.RATE_LIMITED: "rate limited",
}


class Header(enum.StrEnum):
    """Header names, as the documents spell them."""

    AUTHORIZATION = "Authorization"
    CLIENT_ID = "X-Client-Id"
    SKILL_SOURCE = "X-Skill-Source"
    SKILL_VERSION = "X-Skill-Version"
    SKILL_PLATFORM = "X-Skill-Platform"
    RETRY_AFTER = "Retry-After"


#: "Three attribution headers are required on every request"; a render start without all three answers 402.
ATTRIBUTION_HEADERS: typing.Final = (Header.SKILL_SOURCE, Header.SKILL_VERSION, Header.SKILL_PLATFORM)


class SkillSource(enum.StrEnum):
    """The two skill documents, by their ``X-Skill-Source`` value."""

    VIDEO_TO_GENERATOR = "video-to-generator"
    AUTO_GENERATOR = "auto-generator"


class _Paths(typing.NamedTuple):
    anonymous_token: str
    create_session: str
    run_sse: str
    upload: str
    credits: str
    state: str
    render_start: str
    render_poll: str
    render_cancel: str
    render_download: str
    claim_token: str


#: Path templates; ``{user}`` is ``me`` (or the token's own user id).
PATHS = _Paths(
    anonymous_token="/api/auth/anonymous-token",
    create_session="/api/tasks/{user}/with-session/nemo_agent",
    run_sse="/run_sse",
    upload="/api/upload-video/nemo_agent/{user}/{session_id}",
    credits="/api/credits/balance/simple",
    state="/api/state/nemo_agent/{user}/{session_id}/latest",
    render_start="/api/render/proxy/lambda",
    render_poll="/api/render/proxy/lambda/{render_id}",
    render_cancel="/api/render/proxy/lambda/{render_id}/cancel",
    render_download="/api/render/proxy/{render_id}/download",
    claim_token="/api/auth/claim-token",
)

#: Every operation of the API: the eight of the skill documents, cancel and download, and the newest skill's
#: claim of anonymous work.
ENDPOINTS: typing.Final = (
    ("POST", PATHS.anonymous_token),
    ("POST", PATHS.create_session),
    ("POST", PATHS.run_sse),
    ("POST", PATHS.upload),
    ("GET", PATHS.credits),
    ("GET", PATHS.state),
    ("POST", PATHS.render_start),
    ("GET", PATHS.render_poll),
    ("POST", PATHS.render_cancel),
    ("GET", PATHS.render_download),
    ("POST", PATHS.claim_token),
)


def path_pattern(template: str) -> re.Pattern[str]:
    """The paths a path template (of ``PATHS`` or the specs) stands for, to ``fullmatch``: each ``{name}`` is one
    path segment, captured under that name (``PATHS.state`` gives ``user`` and ``session_id``)."""
    pieces = re.split(r"(\{\w+\})", template)
    return re.compile("".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in pieces))


class FileType(enum.StrEnum):
    VIDEO = "video"
    IMAGE = "image"
    AUDIO = "audio"


#: Accepted upload extensions (both documents, plus ``jpeg``) and the ``file_type`` each becomes.
ACCEPTED_EXTENSIONS: typing.Final[dict[str, FileType]] = {
    **dict.fromkeys(("mp4", "mov", "avi", "webm", "mkv"), FileType.VIDEO),
    **dict.fromkeys(("jpg", "jpeg", "png", "gif", "webp"), FileType.IMAGE),
    **dict.fromkeys(("mp3", "wav", "m4a", "aac"), FileType.AUDIO),
}
ACCEPTED_FORMATS_TEXT = "mp4, mov, avi, webm, mkv, jpg, png, gif, webp, mp3, wav, m4a, aac"


def file_type_for(filename: str) -> FileType | None:
    """The ``file_type`` an upload of this name gets, or None when its extension is not accepted."""
    _, dot, ext = filename.rpartition(".")
    return ACCEPTED_EXTENSIONS.get(ext.lower()) if dot else None


class TrackType(enum.IntEnum):
    """Draft ``tt`` values."""

    VIDEO = 0
    AUDIO = 1
    TEXT = 7


class RenderStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class StatusMode(enum.StrEnum):
    """Knob ``status_mode``: how envelope errors map onto HTTP statuses."""

    HTTP = "http"
    ALWAYS200 = "always200"


class EventFormat(enum.StrEnum):
    """Knob ``event_format``: ADK Event JSON, or the typed shape of one reverted official reference."""

    ADK = "adk"
    TYPED = "typed"


class HeartbeatMode(enum.StrEnum):
    """Knob ``heartbeat``: the bytes of a heartbeat while a tool runs."""

    EMPTY = "empty"  # a bare "data:" line
    COMMENT = "comment"  # ": ping - <utc>"
    JSON = "json"  # data: {"type":"heartbeat"}


class OnDisconnect(enum.StrEnum):
    """Knob ``on_disconnect``: what a turn does when its client stops reading the stream."""

    CONTINUE = "continue"  # it runs to its end on the server; its state change lands and is charged
    CANCEL = "cancel"  # it stops there; refunded unless it already changed the state


class RenderShape(enum.StrEnum):
    """Knob ``render_shape``: the two documented render response shapes."""

    TOPLEVEL = "toplevel"  # {"code":0,"id","status","progress","output":{"url","duration","size"}}
    WRAPPED = "wrapped"  # {"success":true,"data":{"id","status","progress","outputUrl","createdAt","completedAt"}}


def register_url(user_id: str, web_url: str = DEFAULT_WEB_URL) -> str:
    """The registration link an anonymous user gets with 2001."""
    return f"{web_url}/register?bind={user_id}"
