"""The JSON shapes of the protocol, typed, with the builders that make them and the readers that take them apart.

Each ``TypedDict`` spells the wire keys of one shape; ``fields`` names the same keys for code that reads and writes
them (a protocol test proves the two agree), so mypy checks every access on both sides. Builders return plain
dicts, ready for ``dumps``: compact JSON without ASCII escaping, as the real service sends it.
"""

from __future__ import annotations

import json
import typing

from . import APP_NAME, ME, Code, RenderShape, RenderStatus, TrackType
from . import fields as f

__all__ = [
    "TURN_REQUEST_ALIASES",
    "Balance",
    "Canvas",
    "ClaimTokenData",
    "ClaimTokenRequest",
    "CreateSessionRequest",
    "Draft",
    "DraftMeta",
    "Envelope",
    "GeneratedMedia",
    "RegisterData",
    "RenderOutput",
    "RenderRequest",
    "RenderToplevel",
    "RenderView",
    "RenderWrapped",
    "RenderWrappedData",
    "Segment",
    "SessionData",
    "SessionState",
    "State",
    "TokenData",
    "Track",
    "TurnRequest",
    "UploadData",
    "UploadedFile",
    "UrlUpload",
    "VideoAnalysis",
    "balance",
    "draft",
    "draft_end_ms",
    "draft_is_exportable",
    "dumps",
    "empty_state",
    "error",
    "message_text",
    "ok",
    "read_render",
    "render_request",
    "render_toplevel",
    "render_wrapped",
    "segment",
    "segments_of",
    "track",
    "tracks_of",
    "turn_request",
]

JSON = typing.Any

#: One encoder for everything sent (json.dumps with options builds a new one per call).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: JSON) -> bytes:
    """Compact JSON, as the real service sends it (some clients grep it)."""
    return _COMPACT.encode(value).encode()


# -- the envelope ---------------------------------------------------------------------------------------------------


class Envelope(typing.TypedDict):
    """``{"code": 0, "message": "success", "data": {...}}``; errors carry ``data: null`` (2001 a register link)."""

    code: int
    message: str
    data: JSON


class RegisterData(typing.TypedDict):
    """The ``data`` of 2001 for an anonymous user."""

    register_url: str


def ok(data: JSON) -> Envelope:
    return {f.CODE: int(Code.SUCCESS), f.MESSAGE: "success", f.DATA: data}


def error(code: int, message: str, data: JSON = None) -> Envelope:
    return {f.CODE: int(code), f.MESSAGE: message, f.DATA: data}


# -- token, session, credits, uploads -------------------------------------------------------------------------------


class CreateSessionRequest(typing.TypedDict, total=False):
    task_name: typing.Required[str]
    language: str


class UrlUpload(typing.TypedDict):
    """An upload of links instead of files."""

    urls: list[str]
    source_type: str  # URL_SOURCE_TYPE


class ClaimTokenRequest(typing.TypedDict):
    task_id: str
    session_id: str


class ClaimTokenData(typing.TypedDict):
    """What claims an anonymous user's work for an account (a web link is built from it)."""

    claim_token: str
    expires_in: int


class TokenData(typing.TypedDict):
    token: str
    user_id: str
    expires_at: str
    credits: int


class SessionData(typing.TypedDict):
    task_id: str
    session_id: str
    user_id: str


class Balance(typing.TypedDict):
    available: int
    frozen: int
    total: int


def balance(available: int, frozen: int) -> Balance:
    """An account's credits as the protocol shows them: ``total = available + frozen``."""
    return {f.AVAILABLE: available, f.FROZEN: frozen, f.TOTAL: available + frozen}


class UploadedFile(typing.TypedDict):
    filename: str
    file_type: str
    cdn_url: str
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None
    hash: str


class UploadData(typing.TypedDict):
    files: list[UploadedFile]
    session_state_applied: bool


# -- the draft --------------------------------------------------------------------------------------------------------


class Segment(typing.TypedDict, total=False):
    id: typing.Required[str]
    n: typing.Required[str]
    st: typing.Required[int]
    d: typing.Required[int]
    u: str
    v: float
    x: str
    tr: str
    sp: float
    fx: str


class Track(typing.TypedDict):
    tt: int
    sg: list[Segment]


class DraftMeta(typing.TypedDict):
    title: str
    width: int
    height: int
    fps: int


class Draft(typing.TypedDict, total=False):
    """The timeline; ``{}`` for a session nothing was made in yet."""

    t: list[Track]
    d: int
    m: DraftMeta


def segment(segment_id: str, label: str, start_ms: int, duration_ms: int, **more: JSON) -> Segment:
    """A segment at ``start_ms`` on the timeline, ``duration_ms`` long; ``more``: its optional keys as ``fields``
    spells them (``segment("a", "clip", 0, 1000, **{fields.VOLUME: 0.2})``)."""
    return typing.cast(
        Segment, {f.ID: segment_id, f.LABEL: label, f.START_MS: start_ms, f.DURATION_MS: duration_ms, **more}
    )


def track(track_type: TrackType, segments: typing.Iterable[Segment]) -> Track:
    return {f.TRACK_TYPE: int(track_type), f.SEGMENTS: list(segments)}


def draft(tracks: typing.Iterable[Track], *, title: str, width: int, height: int, fps: int) -> Draft:
    """A draft whose length (``d``) is where its last segment ends."""
    made: Draft = {f.TRACKS: list(tracks), f.META: {f.TITLE: title, f.WIDTH: width, f.HEIGHT: height, f.FPS: fps}}
    made[f.DURATION_MS] = draft_end_ms(made)
    return made


def tracks_of(draft: typing.Mapping[str, JSON] | None) -> list[Track]:
    """The tracks of a draft read defensively: only objects with a list of segments."""
    found = draft.get(f.TRACKS) if isinstance(draft, typing.Mapping) else None
    if not isinstance(found, list):
        return []
    return [typing.cast(Track, t) for t in found if isinstance(t, dict) and isinstance(t.get(f.SEGMENTS), list)]


def segments_of(track: typing.Mapping[str, JSON]) -> list[Segment]:
    """A track's segments that are objects."""
    found = track.get(f.SEGMENTS)
    return [typing.cast(Segment, s) for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def draft_is_exportable(draft: typing.Mapping[str, JSON] | None) -> bool:
    """A draft can be rendered when it has at least one track with a segment."""
    return any(segments_of(track) for track in tracks_of(draft))


def draft_end_ms(draft: typing.Mapping[str, JSON]) -> int:
    """Where the last segment ends, in milliseconds (0 for an empty draft)."""
    ends = [
        s.get(f.START_MS, 0) + s.get(f.DURATION_MS, 0)
        for t in tracks_of(draft)
        for s in segments_of(t)
        if isinstance(s.get(f.START_MS, 0), int) and isinstance(s.get(f.DURATION_MS, 0), int)
    ]
    return max(ends, default=0)


class Canvas(typing.TypedDict):
    width: int
    height: int
    aspect_ratio: str


class GeneratedMedia(typing.TypedDict):
    id: str
    media_type: str  # video | audio
    url: str
    duration: float
    prompt: str


class VideoAnalysis(typing.TypedDict):
    """What the agent found in one uploaded file (``video_analyses`` maps file names to these)."""

    file_type: str
    duration: float
    scenes: int


class State(typing.TypedDict):
    video_infos: list[UploadedFile]
    draft: Draft
    canvas_config: Canvas | dict[str, JSON]
    video_analyses: dict[str, VideoAnalysis]
    generated_media: list[GeneratedMedia]


def empty_state() -> State:
    """The state of a new session."""
    return {f.VIDEO_INFOS: [], f.DRAFT: {}, f.CANVAS_CONFIG: {}, f.VIDEO_ANALYSES: {}, f.GENERATED_MEDIA: []}


class SessionState(typing.TypedDict):
    """``GET /api/state/...``'s ``data``."""

    session_id: str
    task_id: str
    task_name: str
    state: State


# -- a turn -----------------------------------------------------------------------------------------------------------


class _Part(typing.TypedDict):
    text: str


class _NewMessage(typing.TypedDict, total=False):
    parts: typing.Required[list[_Part]]
    role: str


class TurnRequest(typing.TypedDict, total=False):
    """The ``POST /run_sse`` body (ADK's ``RunAgentRequest``)."""

    app_name: typing.Required[str]
    user_id: str
    session_id: typing.Required[str]
    new_message: typing.Required[_NewMessage]


def turn_request(session_id: str, text: str, *, user_id: str = ME, app_name: str = APP_NAME) -> TurnRequest:
    return {
        f.APP: app_name,
        f.USER_ID: user_id,
        f.SESSION_ID: session_id,
        f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: text}]},
    }


#: The camelCase aliases ADK accepts for a turn request's fields (``RunAgentRequest`` populates by either name).
TURN_REQUEST_ALIASES: typing.Final = {
    "appName": f.APP,
    "userId": f.USER_ID,
    "sessionId": f.SESSION_ID,
    "newMessage": f.NEW_MESSAGE,
}


def message_text(request: typing.Mapping[str, JSON]) -> str:
    """The user's words of a (valid) turn request: its parts' texts, one per line."""
    parts = request[f.NEW_MESSAGE][f.PARTS]
    return "\n".join(str(part.get(f.TEXT, "")) for part in parts if isinstance(part, dict))


# -- renders ----------------------------------------------------------------------------------------------------------


class _RenderOptions(typing.TypedDict, total=False):
    format: str
    quality: str


class RenderRequest(typing.TypedDict, total=False):
    id: typing.Required[str]
    sessionId: typing.Required[str]
    draft: typing.Required[Draft]
    output: _RenderOptions


def render_request(render_id: str, session_id: str, draft: typing.Mapping[str, JSON]) -> RenderRequest:
    """A render start for a session's draft (as read from its state, so any mapping)."""
    return {
        f.ID: render_id,
        f.RENDER_SESSION_ID: session_id,
        f.DRAFT: typing.cast(Draft, draft),
        f.OUTPUT: {f.FORMAT: "mp4", f.QUALITY: "high"},
    }


class RenderOutput(typing.TypedDict):
    url: str
    duration: float
    size: int | None


class _RenderProgress(typing.TypedDict, total=False):
    """What both render shapes say of a render alike: its id, status and progress, and why it failed."""

    id: typing.Required[str]
    status: typing.Required[str]
    progress: typing.Required[int]
    error: str


class RenderToplevel(_RenderProgress, total=False):
    """``render_shape=toplevel``: ``{"code":0,"id","status","progress","output":{"url","duration","size"}}``."""

    code: typing.Required[int]
    output: RenderOutput


class RenderWrappedData(_RenderProgress, total=False):
    createdAt: typing.Required[int]
    completedAt: int
    outputUrl: str


class RenderWrapped(typing.TypedDict):
    """``render_shape=wrapped``: ``{"success":true,"data":{"id","status","progress","outputUrl",...}}``."""

    success: bool
    data: RenderWrappedData


class RenderView(typing.NamedTuple):
    """A render's answer read the same way whatever its shape."""

    render_id: str | None
    status: str | None
    progress: int
    url: str | None
    error: str | None
    shape: RenderShape


def render_toplevel(
    render_id: str,
    status: RenderStatus,
    progress: int,
    *,
    output: RenderOutput | None = None,
    reason: str | None = None,
) -> RenderToplevel:
    body: RenderToplevel = {
        f.CODE: int(Code.SUCCESS),
        f.ID: render_id,
        f.STATUS: status.value,
        f.PROGRESS: progress,
    }
    if output is not None:
        body[f.OUTPUT] = output
    if reason:
        body[f.ERROR] = reason
    return body


def render_wrapped(
    render_id: str,
    status: RenderStatus,
    progress: int,
    *,
    created_ms: int,
    ended_ms: int | None = None,
    output_url: str | None = None,
    reason: str | None = None,
) -> RenderWrapped:
    data: RenderWrappedData = {f.ID: render_id, f.STATUS: status.value, f.PROGRESS: progress, f.CREATED_AT: created_ms}
    if ended_ms is not None:
        data[f.COMPLETED_AT] = ended_ms
    if output_url is not None:
        data[f.OUTPUT_URL] = output_url
    if reason:
        data[f.ERROR] = reason
    return {f.SUCCESS: True, f.DATA: data}


def _text(value: JSON) -> str | None:
    return value if isinstance(value, str) and value else None


def read_render(body: typing.Mapping[str, JSON]) -> RenderView:
    """Either documented render shape, read defensively (any key may be missing or of another type)."""
    wrapped = body.get(f.DATA)
    is_wrapped = isinstance(wrapped, dict) and f.STATUS in wrapped
    source: typing.Mapping[str, JSON] = typing.cast(dict[str, JSON], wrapped) if is_wrapped else body
    output = source.get(f.OUTPUT)
    url = (output.get(f.URL) if isinstance(output, dict) else None) or source.get(f.OUTPUT_URL)
    progress = source.get(f.PROGRESS)
    return RenderView(
        render_id=_text(source.get(f.ID)),
        status=_text(source.get(f.STATUS)),
        progress=int(progress) if isinstance(progress, int | float) and not isinstance(progress, bool) else 0,
        url=_text(url),
        error=_text(source.get(f.ERROR)),
        shape=RenderShape.WRAPPED if is_wrapped else RenderShape.TOPLEVEL,
    )
