"""Handlers of the REST endpoints: token, session, credits, state, uploads, and the files they point at."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import pathlib
import re
import shutil
import typing
import urllib.parse

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from nemo_contract.protocol import (
    ACCEPTED_FORMATS_TEXT,
    CLAIM_TOKEN_LIFETIME,
    MAX_UPLOAD_BYTES,
    PATHS,
    Code,
    FileType,
    Header,
    file_type_for,
)
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import (
    ClaimTokenData,
    SessionData,
    SessionState,
    TokenData,
    UploadData,
    UploadedFile,
    balance,
)

from ._clock import iso8601
from ._disk import Area, DiskFull
from ._emulator import emulator_of
from ._envelope import ok, ok_body, read_json
from ._errors import ProtocolError
from ._files import MediaFile
from ._store import Account, Session, Token, Upload
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


#: A host name (RFC 1123 labels, which covers IPv4 addresses) or a bracketed IPv6 address, then an optional port.
_HOST = re.compile(
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?"
)


def _valid_host(value: str) -> bool:
    match = _HOST.fullmatch(value)
    if match is None or len(value) > 255:
        return False
    if match["port"] is not None and int(match["port"]) > 65535:
        return False
    if match["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(match["ipv6"])
        except ValueError:
            return False
    return True


def base_url(request: Request) -> str:
    """The emulator's own base URL for the absolute URLs it stores (cdn_url, output.url).

    The Host header is used when it is a syntactically valid host[:port]; anything else (``%00``, spaces, a
    path) would end up in stored URLs, so the server's own address is used instead.
    """
    scheme = "https" if request.scope.get("scheme") in ("https", "wss") else "http"
    host = request.headers.get("host", "")
    if not _valid_host(host):
        server = request.scope.get("server") or ("127.0.0.1", None)
        name, port = str(server[0]), server[1]
        name = f"[{name}]" if ":" in name else name
        default = 443 if scheme == "https" else 80
        host = name if port in (None, default) else f"{name}:{port}"
    return f"{scheme}://{host}{request.scope.get('root_path', '')}".rstrip("/")


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
        store.token_numbers[token.value] = len(store.token_numbers) + 1
    account = store.accounts[token.user_id]
    data: TokenData = {
        f.TOKEN: token.value,
        f.USER_ID: token.user_id,
        f.EXPIRES_AT: iso8601(token.expires_at),
        f.CREDITS: account.available,
    }
    return ok(data)


async def claim_token(request: Request) -> Response:
    """``POST /api/auth/claim-token``: a token the user's browser redeems to claim the anonymous work of one
    session (the newest skill turns it into ``<web>/workspace/claim?ct=...``). The session must be the caller's,
    and ``task_id`` its task; anything else is 1002, as with every session."""
    emulator = emulator_of(request)
    token, _ = emulator.authenticate(request)
    body = await read_valid_json(request, PATHS.claim_token)
    session = emulator.session_of(token, body[f.SESSION_ID])
    if session.task_id != body[f.TASK_ID]:
        raise ProtocolError(Code.SESSION_NOT_FOUND, "no such task in this session")
    # The web page that redeems it is not emulated, so nothing keeps the claim token once it is handed out.
    claim = emulator.store.ids.claim_token()
    data: ClaimTokenData = {f.CLAIM_TOKEN: claim, f.EXPIRES_IN: CLAIM_TOKEN_LIFETIME}
    return ok(data)


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
        task_name=body[f.TASK_NAME],
        language=body.get(f.LANGUAGE),
        user_id=token.user_id,
        last_used=emulator.clock.now(),
    )
    store.sessions[session.session_id] = session
    data: SessionData = {f.TASK_ID: session.task_id, f.SESSION_ID: session.session_id, f.USER_ID: token.user_id}
    return ok(data)


@functools.lru_cache(maxsize=1024)
def _balance_body(available: int, frozen: int) -> bytes:
    # Balances are polled far more often than they change (before turns, by dashboards), so each distinct one
    # is encoded once; this halves the endpoint's own cost (bench/RESULTS.md, section 1).
    return ok_body(balance(available, frozen))


async def credits(request: Request) -> Response:
    _, account = emulator_of(request).authenticate(request)
    return ok(body=_balance_body(account.available, account.frozen))


def _own_session(request: Request) -> Session:
    emulator = emulator_of(request)
    token, _ = emulator.authenticate(request)
    emulator.own_user(token, request.path_params["user"])
    return emulator.session_of(token, request.path_params[f.SESSION_ID])


async def state(request: Request) -> Response:
    session = _own_session(request)
    data: SessionState = {
        f.SESSION_ID: session.session_id,
        f.TASK_ID: session.task_id,
        f.TASK_NAME: session.task_name,
        f.STATE: session.state,  # type: ignore[typeddict-item]
    }
    return ok(data)


def file_info(
    filename: str,
    file_type: FileType,
    cdn_url: str,
    meta: tuple[float | None, int | None, int | None, float | None],
    digest: str,
) -> UploadedFile:
    duration, width, height, fps = meta
    return {
        f.FILENAME: filename,
        f.FILE_TYPE: file_type.value,
        f.CDN_URL: cdn_url,
        f.DURATION: None if duration is None else round(duration, 3),
        f.WIDTH: width,
        f.HEIGHT: height,
        f.FPS: None if fps is None else round(fps, 3),
        f.HASH: digest,
    }


async def upload(request: Request) -> Response:
    session = _own_session(request)
    emulator_of(request).expire_sessions()  # their files make room before new ones arrive
    held = len(session.state[f.VIDEO_INFOS])
    if held >= MAX_FILES_PER_SESSION:
        raise ProtocolError(Code.BAD_REQUEST, f"the session already holds {held} files, the most a session keeps")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        files = await _url_upload(request, held)
    elif content_type == "multipart/form-data":
        files = await _multipart_upload(request, session, held)
    else:
        raise ProtocolError(Code.BAD_REQUEST, "upload as multipart/form-data (field 'files') or JSON {\"urls\": [...]}")
    session.state[f.VIDEO_INFOS] = [*session.state[f.VIDEO_INFOS], *files]
    data: UploadData = {f.FILES: files, f.SESSION_STATE_APPLIED: True}
    return ok(data)


def _too_many(held: int) -> str:
    return f"too many files for this session: it holds {held}, at most {MAX_FILES_PER_SESSION} in all"


async def _url_upload(request: Request, held: int) -> list[UploadedFile]:
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


async def _multipart_upload(request: Request, session: Session, held: int) -> list[UploadedFile]:
    """Store the files, read their metadata (refusing what is not the media its name says), and serve them.

    A reset while the request is under way (the store and the files' area are replaced) refuses it with 1001:
    its token and session are gone, and its files are deleted rather than served to no one.
    """
    from ._probe import MediaInfo, NotMedia, probe_upload
    from ._uploads import MAX_FILES_PER_UPLOAD, receive_multipart

    emulator = emulator_of(request)
    store, area = emulator.store, emulator.disk.area
    room = MAX_FILES_PER_SESSION - held
    stored = await receive_multipart(
        request,
        area.uploads,
        max_bytes=MAX_UPLOAD_BYTES,
        area=area,
        max_files=min(room, MAX_FILES_PER_UPLOAD),
        too_many=_too_many(held) if room < MAX_FILES_PER_UPLOAD else None,
    )
    infos: list[MediaInfo] = []
    try:
        for item in stored:
            infos.append(await probe_upload(item.path, item.filename, item.file_type))
            if emulator.store is not store:
                break
    except NotMedia as exc:
        _discard(area, [item.path for item in stored])
        if emulator.store is not store:
            raise _reset_during_upload() from None
        raise ProtocolError(Code.UNSUPPORTED_FILE_TYPE, str(exc)) from None
    except BaseException:
        _discard(area, [item.path for item in stored])
        raise
    if emulator.store is not store:
        _discard(area, [item.path for item in stored])
        raise _reset_during_upload()
    files = []
    for item, info in zip(stored, infos, strict=True):
        file_id = store.ids.file_id()
        store.uploads[file_id] = Upload(item.path, item.filename, session.session_id)
        cdn_url = f"{base_url(request)}/cdn/uploads/{file_id}/{urllib.parse.quote(item.filename)}"
        meta = (info.duration, info.width, info.height, info.fps)
        files.append(file_info(item.filename, item.file_type, cdn_url, meta, item.sha256))
    return files


def _reset_during_upload() -> ProtocolError:
    return ProtocolError(Code.TOKEN_INVALID, "The emulator was reset while this upload arrived; nothing was stored.")


def _discard(area: Area, paths: list[pathlib.Path]) -> None:
    for path in paths:
        area.delete(path)
    if not area.alive:  # a reset replaced the area: whatever this upload re-created of its folder goes too
        shutil.rmtree(area.folder, ignore_errors=True)


async def serve_generated(request: Request) -> Response:
    """What the agent's generated media URLs point at: a still-picture MP4 or a quiet-tone MP3 of that length."""
    from ._media import render_mp3, render_mp4

    emulator = emulator_of(request)
    stem, _, suffix = request.path_params[f.NAME].rpartition(".")
    media = emulator.store.generated.get(stem)
    kinds = {"mp4": "video", "mp3": "audio"}
    if media is None or kinds.get(suffix) != media.get(f.MEDIA_TYPE):
        raise ProtocolError(Code.NOT_FOUND, "no such generated media")
    duration_ms = max(100, min(int(float(media.get(f.DURATION) or 10) * 1000), 30 * 60 * 1000))
    area = emulator.disk.area
    path = area.generated / f"{duration_ms}ms.{suffix}"

    def make(target: pathlib.Path) -> None:
        if suffix == "mp4":
            render_mp4(target, width=1920, height=1080, duration_ms=duration_ms)
        else:
            render_mp3(target, duration_ms=duration_ms)

    try:
        await anyio.to_thread.run_sync(area.ensure_file, path, make)
    except DiskFull as exc:
        raise ProtocolError(Code.FILE_TOO_LARGE, str(exc)) from None
    return MediaFile(path, media_type="video/mp4" if suffix == "mp4" else "audio/mpeg")


async def serve_upload(request: Request) -> Response:
    found = emulator_of(request).store.uploads.get(request.path_params["file_id"])
    if found is None or found.filename != request.path_params[f.FILENAME]:
        raise ProtocolError(Code.NOT_FOUND, "no such file")
    return MediaFile(found.path, filename=found.filename)
