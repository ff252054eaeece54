"""Handlers of the REST endpoints: token, session, credits, state, uploads, and the files they point at."""

from __future__ import annotations

import functools
import hashlib
import math
import pathlib
import typing
import urllib.parse

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from nemo_contract.protocol import (
    ACCEPTED_FORMATS_TEXT,
    MAX_UPLOAD_BYTES,
    PATHS,
    Code,
    FileType,
    Header,
    file_type_for,
)
from nemo_contract.protocol import fields as f

from ._clock import iso8601
from ._emulator import emulator_of
from ._envelope import encoded_response, ok, ok_body, read_json
from ._errors import ProtocolError
from ._files import MediaFile
from ._store import Account, Session, Token, balance
from ._validation import read_valid_json, validate_body

__all__ = [
    "MAX_FILES_PER_SESSION",
    "MAX_URLS_PER_UPLOAD",
    "credits",
    "file_info",
    "issue_token",
    "new_session",
    "serve_generated",
    "serve_upload",
    "state",
    "upload",
]

#: The most URLs one upload may add (a multipart upload's files: ``_uploads.MAX_FILES_PER_UPLOAD``), and the
#: most files a session keeps: each is a line of the session's state, which every state read sends whole.
MAX_URLS_PER_UPLOAD = 100
MAX_FILES_PER_SESSION = 1000

#: What a URL upload is said to be: the real service downloads it later; the emulator does not fetch anything.
_URL_DEFAULTS: dict[FileType, tuple[float | None, int | None, int | None, float | None]] = {
    FileType.VIDEO: (10.0, 1920, 1080, 30.0),
    FileType.IMAGE: (None, 1920, 1080, None),
    FileType.AUDIO: (30.0, None, None, None),
}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def issue_token(request: Request) -> Response:
    emulator = emulator_of(request)
    # Header values arrive as latin-1; the 64-character limit counts the characters the client sent.
    client_id = request.headers.get(Header.CLIENT_ID.value, "").encode("latin-1").decode("utf-8", "replace")
    if not 1 <= len(client_id) <= 64:
        raise ProtocolError(Code.BAD_REQUEST, "missing X-Client-Id header" if not client_id else "X-Client-Id too long")
    store, config, now = emulator.store, emulator.config, emulator.clock.now()
    _count_request(store.asked_by_client, client_id, config.token_limit_per_client, config.token_limit_window, now)
    token = store.client_tokens.get(client_id)
    if token is None or now >= token.expires_at:
        ip = request.client.host if request.client else "-"
        _count_request(store.issued_by_ip, ip, config.token_limit_per_ip, config.token_limit_window, now)
        # After expiry the same client id gets a new token for the same anonymous user (credits kept).
        user_id = token.user_id if token is not None else store.ids.user_id()
        if user_id not in store.accounts:
            store.accounts[user_id] = Account(user_id, config.initial_credits, export_allowed=config.export_allowed)
        token = Token(store.ids.token(), user_id, client_id, now, now + config.token_lifetime)
        store.tokens[token.value] = store.client_tokens[client_id] = token
    account = store.accounts[token.user_id]
    return ok(
        {
            "token": token.value,
            "user_id": token.user_id,
            "expires_at": iso8601(token.expires_at),
            "credits": account.available,
        }
    )


def _count_request(seen: dict[str, list[float]], key: str, limit: int | None, window: float, now: float) -> None:
    """Count one request of ``key`` in a sliding window; 429 with Retry-After once ``limit`` is reached."""
    if limit is None:
        return
    recent = [t for t in seen.get(key, []) if now - t < window]
    if len(recent) >= limit:
        seen[key] = recent
        retry = max(1, math.ceil(recent[0] + window - now))
        raise ProtocolError(Code.RATE_LIMITED, headers={Header.RETRY_AFTER.value: str(retry)})
    seen[key] = [*recent, now]


async def new_session(request: Request) -> Response:
    emulator = emulator_of(request)
    token, _ = emulator.authenticate(request)
    emulator.own_user(token, request.path_params["user"])
    body = await read_valid_json(request, PATHS.create_session)
    store = emulator.store
    session = Session(
        session_id=store.ids.session_id(),
        task_id=store.ids.task_id(),
        task_name=body["task_name"],
        language=body.get("language"),
        user_id=token.user_id,
    )
    store.sessions[session.session_id] = session
    return ok({"task_id": session.task_id, "session_id": session.session_id, "user_id": token.user_id})


@functools.lru_cache(maxsize=1024)
def _balance_body(available: int, frozen: int) -> bytes:
    # Balances are polled far more often than they change (before turns, by dashboards), so each distinct one
    # is encoded once; this halves the endpoint's own cost (bench/RESULTS.md, section 1).
    return ok_body(balance(available, frozen))


async def credits(request: Request) -> Response:
    _, account = emulator_of(request).authenticate(request)
    return encoded_response(_balance_body(account.available, account.frozen))


def _own_session(request: Request) -> Session:
    emulator = emulator_of(request)
    token, _ = emulator.authenticate(request)
    emulator.own_user(token, request.path_params["user"])
    return emulator.session_of(token, request.path_params["session_id"])


async def state(request: Request) -> Response:
    session = _own_session(request)
    return ok(
        {
            "session_id": session.session_id,
            "task_id": session.task_id,
            "task_name": session.task_name,
            "state": session.state,
        }
    )


def file_info(
    filename: str,
    file_type: FileType,
    cdn_url: str,
    meta: tuple[float | None, int | None, int | None, float | None],
    digest: str,
) -> dict[str, typing.Any]:
    duration, width, height, fps = meta
    return {
        "filename": filename,
        "file_type": file_type.value,
        "cdn_url": cdn_url,
        "duration": None if duration is None else round(duration, 3),
        "width": width,
        "height": height,
        "fps": None if fps is None else round(fps, 3),
        "hash": digest,
    }


async def upload(request: Request) -> Response:
    session = _own_session(request)
    held = len(session.state[f.VIDEO_INFOS])
    if held >= MAX_FILES_PER_SESSION:
        raise ProtocolError(Code.BAD_REQUEST, f"the session already holds {held} files, the most a session keeps")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        files = await _url_upload(request, held)
    elif content_type == "multipart/form-data":
        files = await _multipart_upload(request, held)
    else:
        raise ProtocolError(Code.BAD_REQUEST, "upload as multipart/form-data (field 'files') or JSON {\"urls\": [...]}")
    session.state["video_infos"] = [*session.state["video_infos"], *files]
    return ok({"files": files, "session_state_applied": True})


def _too_many(held: int) -> str:
    return f"too many files for this session: it holds {held}, at most {MAX_FILES_PER_SESSION} in all"


async def _url_upload(request: Request, held: int) -> list[dict[str, typing.Any]]:
    def check(body: typing.Any) -> None:
        # Counted before the schema check, which would take its time over each of a million URLs.
        urls = body.get(f.URLS) if isinstance(body, dict) else None
        if isinstance(urls, list) and len(urls) > MAX_URLS_PER_UPLOAD:
            raise ProtocolError(
                Code.BAD_REQUEST, f"too many URLs: {len(urls)}, at most {MAX_URLS_PER_UPLOAD} per upload"
            )
        if isinstance(urls, list) and held + len(urls) > MAX_FILES_PER_SESSION:
            raise ProtocolError(Code.BAD_REQUEST, _too_many(held))
        validate_body(body, PATHS.upload, "POST")

    body = await read_json(request, check)
    store = emulator_of(request).store
    files = []
    for url in body[f.URLS]:
        try:
            name = pathlib.PurePosixPath(urllib.parse.urlsplit(url).path).name or "upload"
        except ValueError:  # e.g. an unclosed IPv6 bracket: not a URL anyone can fetch
            raise ProtocolError(Code.BAD_REQUEST, f"not a URL: {url[:100]!r}") from None
        file_type = file_type_for(name)
        if file_type is None:
            raise ProtocolError(
                Code.UNSUPPORTED_FILE_TYPE, f"unsupported file type: {name}; accepted: {ACCEPTED_FORMATS_TEXT}"
            )
        file_id = store.ids.file_id()
        cdn_url = f"https://static1.nemovideo.ai/uploads/{file_id}/{urllib.parse.quote(name)}"
        digest = hashlib.sha256(url.encode()).hexdigest()
        files.append(file_info(name, file_type, cdn_url, _URL_DEFAULTS[file_type], digest))
    return files


async def _multipart_upload(request: Request, held: int) -> list[dict[str, typing.Any]]:
    from ._media import probe
    from ._uploads import MAX_FILES_PER_UPLOAD, receive_multipart

    emulator = emulator_of(request)
    room = MAX_FILES_PER_SESSION - held
    stored = await receive_multipart(
        request,
        emulator.data_dir / "uploads",
        max_bytes=MAX_UPLOAD_BYTES,
        max_files=min(room, MAX_FILES_PER_UPLOAD),
        too_many=_too_many(held) if room < MAX_FILES_PER_UPLOAD else None,
    )
    files = []
    for item in stored:
        info = await anyio.to_thread.run_sync(probe, item.path)
        file_id = emulator.store.ids.file_id()
        emulator.store.uploads[file_id] = (str(item.path), item.filename)
        cdn_url = f"{base_url(request)}/cdn/uploads/{file_id}/{urllib.parse.quote(item.filename)}"
        meta = (info.duration, info.width, info.height, info.fps)
        files.append(file_info(item.filename, item.file_type, cdn_url, meta, item.sha256))
    return files


async def serve_generated(request: Request) -> Response:
    """What the agent's generated media URLs point at: a still-picture MP4 or a quiet-tone MP3 of that length."""
    from ._media import render_mp3, render_mp4

    emulator = emulator_of(request)
    stem, _, suffix = request.path_params["name"].rpartition(".")
    media = emulator.store.generated.get(stem)
    kinds = {"mp4": "video", "mp3": "audio"}
    if media is None or kinds.get(suffix) != media.get("media_type"):
        raise ProtocolError(Code.NOT_FOUND, "no such generated media")
    duration_ms = max(100, min(int(float(media.get("duration") or 10) * 1000), 30 * 60 * 1000))
    path = emulator.data_dir / "generated" / f"{duration_ms}ms.{suffix}"
    if not path.is_file():
        if suffix == "mp4":
            await anyio.to_thread.run_sync(lambda: render_mp4(path, width=1920, height=1080, duration_ms=duration_ms))
        else:
            await anyio.to_thread.run_sync(lambda: render_mp3(path, duration_ms=duration_ms))
    return MediaFile(path, media_type="video/mp4" if suffix == "mp4" else "audio/mpeg")


async def serve_upload(request: Request) -> Response:
    found = emulator_of(request).store.uploads.get(request.path_params["file_id"])
    if found is None or found[1] != request.path_params["filename"]:
        raise ProtocolError(Code.NOT_FOUND, "no such file")
    return MediaFile(found[0], filename=found[1])
