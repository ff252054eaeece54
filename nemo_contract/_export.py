"""The export workflow: start a render of the session's draft, poll every 30 s, download ``output.url``.

Two documented answer shapes are read (knob ``render_shape``): top-level ``{"code":0,"id","status","progress",
"output":{"url",...}}`` and wrapped ``{"success":true,"data":{"id","status","progress","outputUrl",...}}``.
Export is free. A 409 (the render id was used) gets a new id; like any other recovery it is the request's one
retry for that code, so a second 409 raises. Downloads follow redirects (signed CDN links answer 302); one that
fails falls back to ``GET /api/render/proxy/<id>/download``.

Where the video goes is checked before the render starts: the folder must exist (none is ever created) and take a
new file, and a file named by the caller is replaced only with ``overwrite``. While the video is not saved, the
render is the core's ``pending_render``: an export stopped while waiting leaves it there, for the caller to say
that the render keeps running on the service.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import typing
import uuid

import httpx

from ._core import Core, Scope
from ._exceptions import (
    ExportError,
    LocalFileError,
    NothingToExport,
    OutputExists,
    RenderFailed,
    RenderTimeout,
    UnexpectedResponse,
)
from ._models import ExportRecord, ExportResult, MessageKind, PendingRender, Snapshot
from ._operations import snapshot
from ._ops import Download, DownloadResult, Flow, RequestSpec, Sleep, emit
from ._session import user_path
from .protocol import PATHS, RENDER_POLL_INTERVAL, RenderStatus
from .protocol.shapes import RenderView, draft_is_exportable, read_render, render_request

__all__ = ["MAX_POLLS", "run_export"]

#: Renders finish in 30-90 s; twenty polls (ten minutes) is the most the client waits.
MAX_POLLS = 20
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


def _render(body: typing.Mapping[str, typing.Any]) -> RenderView:
    """A render's answer in either documented shape; one without a status cannot be followed."""
    view = read_render(body)
    if view.status is None:
        raise UnexpectedResponse("The service sent a render status the client cannot read")
    return view


def _target(core: Core, dest: str | os.PathLike[str] | None) -> tuple[pathlib.Path, str | None]:
    """(the folder the video goes into, its file name, or None for ``<render id>.mp4``)."""
    if dest is None:
        return core.download_dir, None
    text = os.fspath(dest)
    path = user_path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):  # "out/" names a folder, even one that is missing
        return path, None
    return path.parent, path.name


def _check_target(folder: pathlib.Path, name: str | None, *, overwrite: bool) -> None:
    """Before the render: the folder exists and takes a new file; a named file that exists may be replaced."""
    if not folder.is_dir():
        raise LocalFileError(
            f"cannot save the video in {folder}: there is no such folder",
            advice="Create the folder first (the client creates none), or choose one that exists.",
        )
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise LocalFileError(f"cannot save the video in {folder}: {exc.strerror}") from None
    if name is None:
        return
    path = folder / name
    if path.is_symlink() or path.exists():
        if not path.is_file():
            raise LocalFileError(f"cannot save the video as {path}: it is not a regular file")
        if not overwrite:
            raise OutputExists(f"{path} already exists")


def _same_origin(a: str, b: str) -> bool:
    first, second = httpx.URL(a), httpx.URL(b)
    return (first.scheme, first.host, first.port) == (second.scheme, second.host, second.port)


def run_export(
    core: Core,
    dest: str | os.PathLike[str] | None = None,
    *,
    current: Snapshot | None = None,
    overwrite: bool = True,
) -> Flow[ExportResult]:
    """Render the session's draft (``current``, when the caller just read the state) and download it to ``dest``
    (a file, a folder, or None for the core's download folder); an existing file is replaced only with
    ``overwrite``."""
    core.pending_render = None
    folder, name = _target(core, dest)
    _check_target(folder, name, overwrite=overwrite)
    if current is None:
        current = yield from snapshot(core)
    if not draft_is_exportable(current.draft):
        raise NothingToExport("There is nothing to export yet")
    yield emit(MessageKind.NOTICE, "Exporting your video (this usually takes 30-90 seconds)...")
    render_id = f"render_{int(core.clock() * 1000)}"
    draft = current.draft

    def renew() -> None:  # "a render id already used" -> a new one
        nonlocal render_id
        render_id = f"render_{int(core.clock() * 1000)}_{uuid.uuid4().hex[:6]}"

    def build() -> RequestSpec:
        body = render_request(render_id, core.credentials.session_id or "", draft)
        return core.spec("POST", PATHS.render_start, json=body)

    started = yield from core.call(build, Scope.SESSION, on_conflict=renew)
    core.pending_render = PendingRender(render_id=render_id)
    state = _render(started)
    polls = 0
    while state.status not in (RenderStatus.COMPLETED.value, RenderStatus.FAILED.value):
        if polls >= MAX_POLLS:
            raise RenderTimeout(
                f"The render did not finish within {int(MAX_POLLS * RENDER_POLL_INTERVAL // 60)} minutes"
            )
        yield emit(MessageKind.PROGRESS, f"⏳ Rendering... {state.progress}%", progress=state.progress)
        yield Sleep(RENDER_POLL_INTERVAL)
        body = yield from core.call(lambda: core.spec("GET", PATHS.render_poll, render_id=render_id), Scope.USER)
        state = _render(body)
        polls += 1
    if state.status == RenderStatus.FAILED.value:
        core.pending_render = None
        raise RenderFailed(f"The render failed: {state.error or 'no reason given'}")
    if state.url is None:
        raise UnexpectedResponse("The render completed without a download link")
    try:
        url = str(httpx.URL(core.base_url).join(state.url))
    except httpx.InvalidURL:
        raise UnexpectedResponse("The render completed with a download link the client cannot read") from None
    core.pending_render = PendingRender(render_id=render_id, url=url)
    yield emit(MessageKind.PROGRESS, "⏳ Rendering... 100%", progress=100)
    path = folder / (name or f"{render_id}.mp4")
    if not overwrite and path.exists():
        raise OutputExists(f"{path} already exists")
    # The link is a CDN address: it gets no token, and the attribution headers only when it is the API's own host.
    headers = core.identity.headers() if _same_origin(url, core.base_url) else {}
    result: DownloadResult = yield Download(RequestSpec("GET", url, headers, timeout=DOWNLOAD_TIMEOUT), path)
    if result.status != 200:
        fallback = core.spec("GET", PATHS.render_download, render_id=render_id, timeout=DOWNLOAD_TIMEOUT)
        result = yield Download(fallback, path)
    if result.status != 200:
        raise ExportError(f"The video was rendered but could not be downloaded (HTTP {result.status})")
    core.pending_render = None
    exported = ExportResult(render_id=render_id, path=path, url=url, size=result.size)
    core.last_export = ExportRecord(session_id=current.session_id, draft=draft, path=path)
    yield emit(MessageKind.EXPORT, exported.text)
    return exported
