"""The emulator as an ASGI application."""

from __future__ import annotations

import contextlib
import pathlib
import typing

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from nemo_contract.protocol import PATHS, Code, StatusMode

from . import _admin, _api, _renders, _sse
from ._clock import VirtualClock
from ._config import Config
from ._emulator import Emulator, emulator_of
from ._envelope import error_response
from ._errors import ProtocolError
from ._middleware import EmulatorMiddleware

__all__ = ["create_app"]


def _routes() -> list[Route]:
    # The router tries routes in order, so the ones integrations call most (balance checks, render polls, state
    # reads) come first. Order changes no match: the only overlapping patterns, poll and download, keep theirs.
    api = [
        (PATHS.credits, _api.credits, ["GET"]),
        (PATHS.render_poll, _renders.poll_render, ["GET"]),
        (PATHS.state, _api.state, ["GET"]),
        (PATHS.run_sse, _sse.run_sse, ["POST"]),
        (PATHS.anonymous_token, _api.issue_token, ["POST"]),
        (PATHS.create_session, _api.new_session, ["POST"]),
        (PATHS.claim_token, _api.claim_token, ["POST"]),
        (PATHS.upload, _api.upload, ["POST"]),
        (PATHS.render_start, _renders.start_render, ["POST"]),
        (PATHS.render_cancel, _renders.cancel_render, ["POST"]),
        (PATHS.render_download, _renders.download_render, ["GET"]),
        ("/render-result/{key}/{render_id}.mp4", _renders.serve_result, ["GET"]),
        ("/cdn/uploads/{file_id}/{filename}", _api.serve_upload, ["GET"]),
        ("/cdn/generated/{name}", _api.serve_generated, ["GET"]),
    ]
    return [Route(path, endpoint, methods=methods) for path, endpoint, methods in [*api, *_admin.ROUTES]]


def _status_mode(request: Request) -> StatusMode:
    # The control plane keeps real statuses under always200, so a test that flips the knob still sees its own
    # mistakes; the knob is about the API's gateways.
    if request.url.path.startswith("/__mock__/"):
        return StatusMode.HTTP
    return emulator_of(request).config.status_mode


async def _protocol_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProtocolError)
    return error_response(exc, _status_mode(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED}.get(exc.status_code, Code.BAD_REQUEST)
    message = "no such endpoint" if code is Code.NOT_FOUND else None
    error = ProtocolError(code, message, headers=exc.headers)
    return error_response(error, _status_mode(request))


class _EmulatorApp(Starlette):
    """Starlette with EmulatorMiddleware outermost, in the place of Starlette's ServerErrorMiddleware.

    EmulatorMiddleware already wraps every ``send`` to journal the answer, so it also knows whether an answer has
    started when a bug escapes, which is all the 500 envelope needs; one wrapping layer less sits on the path of
    every request (bench/RESULTS.md, section 1). Middleware added with ``add_middleware`` runs inside it: faults
    and rate limits come first, and what such middleware answers is journalled like any answer.
    """

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        # ServerErrorMiddleware stays only when it has more to offer than the envelope: debug tracebacks, or a
        # handler of the app's own for bugs (keyed by 500 or Exception).
        if isinstance(stack, ServerErrorMiddleware) and stack.handler is None and not stack.debug:
            stack = stack.app
        emulator: Emulator = self.state.emulator
        return EmulatorMiddleware(stack, emulator)


def create_app(
    *,
    seed: int = 0,
    time_scale: float = 1.0,
    config: Config | typing.Mapping[str, typing.Any] | None = None,
    clock: VirtualClock | None = None,
    clock_start: float | None = None,
    data_dir: pathlib.Path | None = None,
    seed_shown: bool = True,
) -> Starlette:
    """A new emulator. ``app.state.emulator`` gives tests the clock, the store and the journal directly.

    ``seed_shown=False`` keeps the seed out of ``GET /__mock__/health`` (for a seed drawn at random).
    """
    if config is not None and not isinstance(config, Config):
        config = Config().merged(config)
    emulator = Emulator(
        seed=seed,
        config=config,
        clock=clock or VirtualClock(time_scale=time_scale, start=clock_start),
        data_dir=data_dir,
        seed_shown=seed_shown,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> typing.AsyncIterator[None]:
        try:
            yield
        finally:
            emulator.close()

    app = _EmulatorApp(
        routes=_routes(),
        exception_handlers={ProtocolError: _protocol_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
