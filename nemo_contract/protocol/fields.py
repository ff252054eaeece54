"""Every JSON field name of the protocol, spelled once.

Code on both sides (the emulator, the reference client, the toolkit) reads and writes answers through these
names, never through string literals, so a field can only be spelled one way; ``tests/system/test_layout.py``
fails on a literal field name anywhere else. The shapes that hold them are typed in ``shapes``.

A name is the upper-cased wire name where that is a word (``SESSION_ID`` is ``session_id``), and a word of the
protocol where the wire uses a short key (``SEGMENTS`` is ``sg``, ``START_MS`` is ``st``). Names ending in ``_MS``
hold milliseconds; the other durations are seconds.
"""

from __future__ import annotations

import typing

__all__ = [
    "ACTIONS",
    "APP",
    "ARGS",
    "ARTIFACT_DELTA",
    "ASPECT_RATIO",
    "AUTHOR",
    "AVAILABLE",
    "CANVAS_CONFIG",
    "CAPTION",
    "CDN_URL",
    "CLAIM_TOKEN",
    "CODE",
    "COMPLETED_AT",
    "CONTENT",
    "CREATED_AT",
    "CREDITS",
    "DATA",
    "DRAFT",
    "DURATION",
    "DURATION_MS",
    "ERROR",
    "ERROR_CODE",
    "ERROR_MESSAGE",
    "EXPIRES_AT",
    "EXPIRES_IN",
    "FILENAME",
    "FILES",
    "FILE_TYPE",
    "FILTER",
    "FORMAT",
    "FPS",
    "FROZEN",
    "FUNCTION_CALL",
    "FUNCTION_RESPONSE",
    "GENERATED_MEDIA",
    "HASH",
    "HEIGHT",
    "ID",
    "INVOCATION_ID",
    "LABEL",
    "LANGUAGE",
    "LONG_RUNNING_TOOL_IDS",
    "MEDIA_TYPE",
    "MESSAGE",
    "META",
    "NAME",
    "NEW_MESSAGE",
    "OUTPUT",
    "OUTPUT_URL",
    "PARTIAL",
    "PARTS",
    "PROGRESS",
    "PROMPT",
    "QUALITY",
    "REGISTER_URL",
    "RENDER_SESSION_ID",
    "REQUESTED_AUTH_CONFIGS",
    "RESPONSE",
    "RESULT",
    "ROLE",
    "SCENES",
    "SEGMENTS",
    "SESSION_ID",
    "SESSION_STATE_APPLIED",
    "SIZE",
    "SOURCE_TYPE",
    "SOURCE_URL",
    "SPEED",
    "START_MS",
    "STATE",
    "STATE_DELTA",
    "STATUS",
    "SUCCESS",
    "TASK_ID",
    "TASK_NAME",
    "TEXT",
    "THOUGHT",
    "TIMESTAMP",
    "TITLE",
    "TOKEN",
    "TOTAL",
    "TRACKS",
    "TRACK_TYPE",
    "TRANSITION",
    "TYPE",
    "TYPED_STATE_DELTA",
    "URL",
    "URLS",
    "USER_ID",
    "VIDEO_ANALYSES",
    "VIDEO_INFOS",
    "VOLUME",
    "WIDTH",
]

# -- the envelope ---------------------------------------------------------------------------------------------------
CODE: typing.Final = "code"
MESSAGE: typing.Final = "message"
DATA: typing.Final = "data"
#: 2001 for an anonymous user: where to register (``...?bind=<user_id>``).
REGISTER_URL: typing.Final = "register_url"

# -- token, session, credits ----------------------------------------------------------------------------------------
TOKEN: typing.Final = "token"
USER_ID: typing.Final = "user_id"
EXPIRES_AT: typing.Final = "expires_at"
CREDITS: typing.Final = "credits"
TASK_ID: typing.Final = "task_id"
TASK_NAME: typing.Final = "task_name"
SESSION_ID: typing.Final = "session_id"
LANGUAGE: typing.Final = "language"
AVAILABLE: typing.Final = "available"
FROZEN: typing.Final = "frozen"
TOTAL: typing.Final = "total"
CLAIM_TOKEN: typing.Final = "claim_token"
#: Seconds a claim token stays valid.
EXPIRES_IN: typing.Final = "expires_in"

# -- uploads ----------------------------------------------------------------------------------------------------------
FILES: typing.Final = "files"
FILENAME: typing.Final = "filename"
FILE_TYPE: typing.Final = "file_type"
CDN_URL: typing.Final = "cdn_url"
#: Seconds (an upload's, a generated clip's, a render output's); the draft counts milliseconds (``DURATION_MS``).
DURATION: typing.Final = "duration"
WIDTH: typing.Final = "width"
HEIGHT: typing.Final = "height"
FPS: typing.Final = "fps"
HASH: typing.Final = "hash"
SESSION_STATE_APPLIED: typing.Final = "session_state_applied"
URLS: typing.Final = "urls"
SOURCE_TYPE: typing.Final = "source_type"

# -- the session's state ------------------------------------------------------------------------------------------
STATE: typing.Final = "state"
VIDEO_INFOS: typing.Final = "video_infos"
DRAFT: typing.Final = "draft"
CANVAS_CONFIG: typing.Final = "canvas_config"
VIDEO_ANALYSES: typing.Final = "video_analyses"
GENERATED_MEDIA: typing.Final = "generated_media"
ASPECT_RATIO: typing.Final = "aspect_ratio"
ID: typing.Final = "id"
MEDIA_TYPE: typing.Final = "media_type"
URL: typing.Final = "url"
PROMPT: typing.Final = "prompt"
#: A video analysis's number of scenes (``video_analyses``, keyed by file name).
SCENES: typing.Final = "scenes"

# -- the draft (short keys) ---------------------------------------------------------------------------------------
TRACKS: typing.Final = "t"
TRACK_TYPE: typing.Final = "tt"
SEGMENTS: typing.Final = "sg"
#: Milliseconds: a draft's length, a segment's length.
DURATION_MS: typing.Final = "d"
META: typing.Final = "m"
LABEL: typing.Final = "n"
#: Milliseconds from the start of the timeline.
START_MS: typing.Final = "st"
SOURCE_URL: typing.Final = "u"
#: 0..1, audio segments.
VOLUME: typing.Final = "v"
#: The text a text segment shows (a title, a subtitle).
CAPTION: typing.Final = "x"
#: The transition into the next segment of a video track.
TRANSITION: typing.Final = "tr"
TITLE: typing.Final = "title"
#: Playback speed factor of a video segment (2: twice as fast, so half as long on the timeline); absent means 1.
#: The documents are silent on speed; the key is the emulator's choice.
SPEED: typing.Final = "sp"
#: A visual filter on a video segment (``grayscale``, ``sepia``); absent means none. The emulator's choice, too.
FILTER: typing.Final = "fx"

# -- the turn request -----------------------------------------------------------------------------------------------
#: The ADK app a turn is for (``app_name``; its value is ``APP_NAME``).
APP: typing.Final = "app_name"
NEW_MESSAGE: typing.Final = "new_message"
PARTS: typing.Final = "parts"
TEXT: typing.Final = "text"
ROLE: typing.Final = "role"

# -- ADK events (camelCase) -----------------------------------------------------------------------------------------
CONTENT: typing.Final = "content"
INVOCATION_ID: typing.Final = "invocationId"
AUTHOR: typing.Final = "author"
ACTIONS: typing.Final = "actions"
STATE_DELTA: typing.Final = "stateDelta"
ARTIFACT_DELTA: typing.Final = "artifactDelta"
REQUESTED_AUTH_CONFIGS: typing.Final = "requestedAuthConfigs"
LONG_RUNNING_TOOL_IDS: typing.Final = "longRunningToolIds"
TIMESTAMP: typing.Final = "timestamp"
FUNCTION_CALL: typing.Final = "functionCall"
FUNCTION_RESPONSE: typing.Final = "functionResponse"
NAME: typing.Final = "name"
ARGS: typing.Final = "args"
RESPONSE: typing.Final = "response"
PARTIAL: typing.Final = "partial"
THOUGHT: typing.Final = "thought"
ERROR_CODE: typing.Final = "errorCode"
ERROR_MESSAGE: typing.Final = "errorMessage"
#: A failure reported on the stream: ``data: {"error": "..."}``; also a failed render's reason.
ERROR: typing.Final = "error"

# -- typed events (knob event_format=typed) -------------------------------------------------------------------------
TYPE: typing.Final = "type"
RESULT: typing.Final = "result"
#: A typed tool result's state change (snake_case, unlike ADK's ``stateDelta``).
TYPED_STATE_DELTA: typing.Final = "state_delta"

# -- renders ----------------------------------------------------------------------------------------------------------
#: The render request's session (camelCase, the one exception to snake_case).
RENDER_SESSION_ID: typing.Final = "sessionId"
OUTPUT: typing.Final = "output"
FORMAT: typing.Final = "format"
QUALITY: typing.Final = "quality"
STATUS: typing.Final = "status"
PROGRESS: typing.Final = "progress"
SIZE: typing.Final = "size"
#: The wrapped render shape's flag (it has no ``code``).
SUCCESS: typing.Final = "success"
OUTPUT_URL: typing.Final = "outputUrl"
CREATED_AT: typing.Final = "createdAt"
COMPLETED_AT: typing.Final = "completedAt"
