"""Render jobs: start, poll, cancel, download, and the MP4 each completed job serves.

A job's status is computed from the virtual clock whenever it is asked for (pending, then processing with
rising progress, then completed 30-90 s after the start), so no task runs in the background and advancing the
clock moves every job at once. The MP4 is written the first time a completed job is looked at.

Render ids are the client's and are scoped per user: another user's render with the same id is neither a
conflict nor visible. The public result URL carries an unguessable key besides the id, so knowing (or guessing)
a render id does not give its video. Outputs are cached by content: the file depends only on what of the draft
is rendered (its size, duration and frame rate: the emulator paints a still picture), so repeated exports of
one draft, or of drafts that render the same, share one file.
"""

from __future__ import annotations

import hashlib
import pathlib
import typing
import weakref

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from nemo_contract.protocol import (
    ATTRIBUTION_HEADERS,
    PATHS,
    Code,
    RenderShape,
    RenderStatus,
    TrackType,
)
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import (
    RenderOutput,
    draft_end_ms,
    draft_is_exportable,
    dumps,
    render_toplevel,
    render_wrapped,
    segments_of,
    tracks_of,
)

from ._api import base_url
from ._disk import DiskFull
from ._emulator import Emulator, emulator_of
from ._envelope import EnvelopeResponse
from ._errors import ProtocolError
from ._faults import faults_of
from ._files import MediaFile
from ._store import Render
from ._validation import read_valid_json

__all__ = ["cancel_render", "download_render", "poll_render", "serve_result", "start_render"]

#: A render that cannot run (an empty draft, an injected fault) fails this long after its start.
FAIL_AFTER = 2.0
DEFAULT_SIZE = (1920, 1080)
DEFAULT_FPS = 30
#: The spec's limits of a draft's metadata ("H.264, up to 1080x1920").
MAX_SIDE, MAX_FPS = 1920, 60
#: One encode at a time per emulator. Per emulator, not per process: a lock belongs to the event loop that uses
#: it, and several emulators may run in one process, each on its own loop in a thread (``Served``, ``audit``).
_encode_locks: weakref.WeakKeyDictionary[Emulator, anyio.Lock] = weakref.WeakKeyDictionary()


def _pending_for(render: Render) -> float:
    return min(5.0, render.duration * 0.1)


def status_of(render: Render, now: float) -> tuple[RenderStatus, int, float | None]:
    """(status, progress, the virtual time it ended or None)."""
    if render.cancelled_at is not None:
        return RenderStatus.FAILED, _progress(render, render.cancelled_at), render.cancelled_at
    elapsed = now - render.created_at
    if render.failure is not None:
        if elapsed >= FAIL_AFTER:
            return RenderStatus.FAILED, 0, render.created_at + FAIL_AFTER
        return RenderStatus.PENDING, 0, None
    if elapsed >= render.duration:
        return RenderStatus.COMPLETED, 100, render.created_at + render.duration
    if elapsed < _pending_for(render):
        return RenderStatus.PENDING, 0, None
    return RenderStatus.PROCESSING, _progress(render, now), None


def _progress(render: Render, at: float) -> int:
    pending = _pending_for(render)
    share = (at - render.created_at - pending) / max(render.duration - pending, 1e-9)
    return max(0, min(99, 5 + int(share * 94)))


def _geometry(draft: dict[str, typing.Any]) -> tuple[int, int, int, int]:
    """(width, height, duration ms, fps) of the file a draft renders to."""
    found = draft.get(f.META)
    meta: dict[str, typing.Any] = found if isinstance(found, dict) else {}
    width, height = meta.get(f.WIDTH), meta.get(f.HEIGHT)
    if not (
        isinstance(width, int) and isinstance(height, int) and 16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE
    ):
        width, height = DEFAULT_SIZE
    fps = meta.get(f.FPS)
    if not (isinstance(fps, int) and 1 <= fps <= MAX_FPS):
        fps = DEFAULT_FPS
    duration = draft.get(f.DURATION_MS)
    if not isinstance(duration, int) or duration <= 0:
        duration = draft_end_ms(draft) or 10_000
    duration = max(100, min(duration, 30 * 60 * 1000))
    return width - width % 2, height - height % 2, duration, fps


def _sounds(draft: dict[str, typing.Any], duration: int) -> tuple[tuple[int, int, float], ...]:
    """(start ms, duration ms, volume) of each audio segment that plays within the render, in order."""
    found = set()
    for track in tracks_of(draft):
        if track.get(f.TRACK_TYPE) != TrackType.AUDIO:
            continue
        for seg in segments_of(track):
            start, length, volume = seg.get(f.START_MS), seg.get(f.DURATION_MS), seg.get(f.VOLUME, 1.0)
            if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in (start, length, volume)):
                continue
            if 0 <= start < duration and length > 0:
                found.add((int(start), int(min(length, duration - start)), round(min(max(volume, 0.0), 1.0), 2)))
    return tuple(sorted(found))


def output_name(draft: dict[str, typing.Any]) -> str:
    """The name of the file a draft renders to: the cache key, everything of the draft the output depends on
    (its size, length and frame rate, and the sounds of its audio tracks)."""
    width, height, duration, fps = _geometry(draft)
    sounds = _sounds(draft, duration)
    heard = "_" + hashlib.sha256(repr(sounds).encode()).hexdigest()[:16] if sounds else ""
    return f"{width}x{height}_{duration}ms_{fps}fps{heard}.mp4"


async def output_file(emulator: Emulator, render: Render) -> pathlib.Path | None:
    """The completed render's MP4, written on first use (renders of the same content share one file); None when
    the emulator's disk cap stops it being written: the render is then failed with the cap's message."""
    from ._media import render_mp4

    width, height, duration, fps = _geometry(render.draft)
    sounds = _sounds(render.draft, duration)
    area = emulator.disk.area
    path = area.renders / render.output

    def make(target: pathlib.Path) -> None:
        render_mp4(target, width=width, height=height, duration_ms=duration, fps=fps, audio=sounds)

    # One encode at a time: a burst of polls must not start the same work twice.
    async with _encode_locks.setdefault(emulator, anyio.Lock()):
        try:
            render.output_size = await anyio.to_thread.run_sync(area.ensure_file, path, make)
        except DiskFull as exc:
            render.failure = str(exc)
            return None
    return path


def result_url(request: Request, render: Render) -> str:
    return f"{base_url(request)}/render-result/{render.url_key}/{render.render_id}.mp4"


async def render_body(request: Request, render: Render) -> Response:
    """The render's answer in the shape the ``render_shape`` knob says (both count as code 0 in the journal)."""
    emulator = emulator_of(request)
    status, progress, ended = status_of(render, emulator.clock.now())
    if status is RenderStatus.COMPLETED and await output_file(emulator, render) is None:
        status, progress, ended = status_of(render, emulator.clock.now())
    completed = status is RenderStatus.COMPLETED
    reason = None
    if status is RenderStatus.FAILED:
        reason = "cancelled" if render.cancelled_at is not None else render.failure
    url = result_url(request, render) if completed else None
    if emulator.config.render_shape is RenderShape.WRAPPED:
        body = dumps(
            render_wrapped(
                render.render_id,
                status,
                progress,
                created_ms=int(render.created_at * 1000),
                ended_ms=None if ended is None else int(ended * 1000),
                output_url=url,
                reason=reason,
            )
        )
    else:
        output = None
        if url is not None:
            duration = _geometry(render.draft)[2]
            output = RenderOutput(url=url, duration=duration / 1000, size=render.output_size)
        body = dumps(render_toplevel(render.render_id, status, progress, output=output, reason=reason))
    return EnvelopeResponse(body, code=int(Code.SUCCESS))


async def start_render(request: Request) -> Response:
    emulator = emulator_of(request)
    token, account = emulator.authenticate(request)
    missing = [h.value for h in ATTRIBUTION_HEADERS if not request.headers.get(h.value)]
    if missing:
        raise ProtocolError(Code.EXPORT_BLOCKED, "missing attribution headers: " + ", ".join(missing))
    if not account.export_allowed:
        raise ProtocolError(Code.EXPORT_BLOCKED, "export is not available on this plan; this is not about credits")
    body = await read_valid_json(request, PATHS.render_start)
    emulator.session_of(token, body[f.RENDER_SESSION_ID])
    emulator.expire_sessions()
    store = emulator.store
    if (token.user_id, body[f.ID]) in store.renders:
        raise ProtocolError(Code.CONFLICT, "duplicate render id; use a new id")
    faults = faults_of(request.scope)
    low, high = emulator.config.render_duration
    draft = body[f.DRAFT]  # freshly parsed for this request: nothing else holds it
    render = Render(
        render_id=body[f.ID],
        user_id=token.user_id,
        session_id=body[f.RENDER_SESSION_ID],
        draft=draft,
        created_at=emulator.clock.now(),
        duration=store.ids.rng("render", body[f.ID]).uniform(low, high),
        failure=faults.fail_render or (None if draft_is_exportable(draft) else "invalid draft"),
        url_key=store.ids.render_key(),
        output=output_name(draft),
    )
    store.renders[token.user_id, render.render_id] = render
    store.render_urls[render.url_key] = render
    return await render_body(request, render)


def _own_render(request: Request) -> Render:
    emulator = emulator_of(request)
    token, _ = emulator.authenticate(request)
    render = emulator.store.renders.get((token.user_id, request.path_params["render_id"]))
    if render is None:
        raise ProtocolError(Code.NOT_FOUND, "render not found")
    return render


async def poll_render(request: Request) -> Response:
    return await render_body(request, _own_render(request))


async def cancel_render(request: Request) -> Response:
    render = _own_render(request)
    now = emulator_of(request).clock.now()
    status, _, _ = status_of(render, now)
    if status in (RenderStatus.COMPLETED, RenderStatus.FAILED):
        raise ProtocolError(Code.CONFLICT, f"render already {status.value}")
    render.cancelled_at = now
    return await render_body(request, render)


async def _completed_file(request: Request, render: Render) -> pathlib.Path:
    emulator = emulator_of(request)
    status, _, _ = status_of(render, emulator.clock.now())
    path = await output_file(emulator, render) if status is RenderStatus.COMPLETED else None
    if path is None:
        status, _, _ = status_of(render, emulator.clock.now())
        raise ProtocolError(Code.CONFLICT, f"render is {status.value}, not completed")
    return path


async def download_render(request: Request) -> Response:
    render = _own_render(request)
    path = await _completed_file(request, render)
    return MediaFile(path, media_type="video/mp4", filename=f"{render.render_id}.mp4")


async def serve_result(request: Request) -> Response:
    """The render's ``output.url``: like the real CDN link, it needs no token, but its key must be the render's."""
    render = emulator_of(request).store.render_urls.get(request.path_params["key"])
    if render is None or render.render_id != request.path_params["render_id"]:
        raise ProtocolError(Code.NOT_FOUND, "no such render result")
    path = await _completed_file(request, render)
    return MediaFile(path, media_type="video/mp4")
