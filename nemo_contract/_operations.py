"""The simple operations, as flows over ``Core``: the balance, the session's state, uploads.

Like ``_turns`` and ``_export``, each is a module function taking the core: the core keeps the credentials and
the exchange with recovery; what an operation asks and how it reads the answer is here.
"""

from __future__ import annotations

import os
import pathlib
import re
import typing

import httpx

from ._core import Core, Scope, data_of
from ._exceptions import FileTooLarge, LocalFileError, UnexpectedResponse, UnsupportedFileType, UploadRejected
from ._models import Credits, Snapshot, UploadedFile, field_dict, field_list
from ._ops import Flow, RequestSpec
from ._session import shown_url, user_path
from .protocol import MAX_UPLOAD_BYTES, ME, PATHS, URL_SOURCE_TYPE, Code, file_type_for
from .protocol import fields as f

__all__ = ["credits", "snapshot", "upload"]

#: Something that starts like a URL (``ftp://...``, ``file://...``): never a local path to look for.
_ANY_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def credits(core: Core) -> Flow[Credits]:
    body = yield from core.call(lambda: core.spec("GET", PATHS.credits), Scope.USER)
    data = data_of(body)
    try:
        available, frozen = int(data[f.AVAILABLE]), int(data.get(f.FROZEN, 0))
        total = int(data.get(f.TOTAL, available + frozen))
    except (KeyError, TypeError, ValueError):
        raise UnexpectedResponse("The service sent a balance the client cannot read") from None
    return Credits(available=available, frozen=frozen, total=total)


def snapshot(core: Core) -> Flow[Snapshot]:
    """The session's state, read afresh."""
    body = yield from core.call(
        lambda: core.spec("GET", PATHS.state, user=ME, session_id=core.credentials.session_id or ""),
        Scope.SESSION,
    )
    data = data_of(body)
    state = field_dict(data, f.STATE)
    infos = [info for info in field_list(state, f.VIDEO_INFOS) if isinstance(info, dict)]
    session_id = data.get(f.SESSION_ID)
    return Snapshot(
        session_id=session_id if isinstance(session_id, str) and session_id else core.credentials.session_id,
        draft=field_dict(state, f.DRAFT),
        video_infos=infos,
        generated_media=field_list(state, f.GENERATED_MEDIA),
    )


def upload(core: Core, sources: typing.Sequence[str | os.PathLike[str]]) -> Flow[list[UploadedFile]]:
    """Upload local files (one multipart request) and URLs (one JSON request)."""
    urls = [str(s) for s in sources if isinstance(s, str) and _is_url(s)]
    paths = tuple(_checked_file(s) for s in sources if not (isinstance(s, str) and _is_url(s)))
    uploaded: list[UploadedFile] = []

    def request(**content: typing.Any) -> RequestSpec:
        return core.spec("POST", PATHS.upload, user=ME, session_id=core.credentials.session_id or "", **content)

    if paths:
        body = yield from _upload_call(core, lambda: request(files=paths), [path.name for path in paths])
        uploaded += _files(body)
    if urls:
        payload = {f.URLS: urls, f.SOURCE_TYPE: URL_SOURCE_TYPE}
        body = yield from _upload_call(core, lambda: request(json=payload), [_url_name(url) for url in urls])
        uploaded += _files(body)
    return uploaded


def _upload_call(core: Core, build: typing.Callable[[], RequestSpec], names: list[str]) -> Flow[dict[str, typing.Any]]:
    """One upload request; a refusal names the file(s) it was about."""
    try:
        return (yield from core.call(build, Scope.SESSION))
    except UploadRejected as error:
        if isinstance(error, UnsupportedFileType):
            names = [name for name in names if file_type_for(name) is None] or names
        error.args = (f"{error.message.rstrip('.')}: {', '.join(names)}",)
        raise


def _url_name(url: str) -> str:
    """The file name a URL ends with, for messages (else the URL without its query)."""
    try:
        path = httpx.URL(url).path
    except httpx.InvalidURL:
        path = ""
    return path.rsplit("/", 1)[-1] or url.split("?", 1)[0]


def _is_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def _checked_file(source: str | os.PathLike[str]) -> pathlib.Path:
    if isinstance(source, str) and _ANY_URL.match(source):
        raise LocalFileError(
            f"cannot upload {shown_url(source)}: only http:// and https:// URLs (and local files) are supported",
            advice="Give the file's http(s) link, or download it and upload the local file.",
        )
    path = user_path(source)
    try:
        size = path.stat().st_size
        readable = path.is_file() and os.access(path, os.R_OK)
    except OSError as exc:
        raise LocalFileError(f"cannot read {path}: {exc.strerror or 'no such file'}") from None
    if not readable:
        raise LocalFileError(f"cannot read {path}: not a readable file")
    if size > MAX_UPLOAD_BYTES:
        # The service would refuse it (4002) after the whole upload; say so before sending it all.
        limit = MAX_UPLOAD_BYTES // (1024 * 1024)
        raise FileTooLarge(f"{path.name} is larger than {limit} MB", code=Code.FILE_TOO_LARGE)
    return path


def _files(body: dict[str, typing.Any]) -> list[UploadedFile]:
    items = data_of(body).get(f.FILES)
    if not isinstance(items, list):
        raise UnexpectedResponse("The service did not list the uploaded files")
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue

        def number(key: str, item: dict[str, typing.Any] = item) -> typing.Any:
            value = item.get(key)
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None

        found.append(
            UploadedFile(
                filename=str(item.get(f.FILENAME) or "file"),
                file_type=str(item.get(f.FILE_TYPE) or "file"),
                cdn_url=item.get(f.CDN_URL) if isinstance(item.get(f.CDN_URL), str) else None,
                duration=number(f.DURATION),
                width=number(f.WIDTH),
                height=number(f.HEIGHT),
                fps=number(f.FPS),
            )
        )
    return found
