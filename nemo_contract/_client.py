"""``Client`` and ``AsyncClient``: the reference client of the NemoVideo agent API.

Both are thin drivers of the same flows (``_ops``): every decision is made once, in the flows; the drivers only
send requests with httpx, read streams, sleep with the injected ``sleep`` and hand messages out as they come.

    with Client() as client:                       # NEMO_API_URL / NEMO_TOKEN from the environment
        client.upload("clip.mp4")
        for message in client.iter_handle("turn this video into a short promo with music"):
            print(message)
        client.export("promo.mp4")
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import time
import types
import typing

import anyio
import httpx

from ._driver import (
    DEFAULT_TIMEOUT,
    BaseClient,
    Done,
    PartFile,
    PathLike,
    Settings,
    cut,
    out_of_time,
    transport_error,
)
from ._exceptions import NemoError
from ._export import run_export
from ._models import Credits, ExportResult, Message, Snapshot, UploadedFile
from ._operations import credits, snapshot, upload
from ._ops import (
    CloseStream,
    Download,
    DownloadResult,
    Emit,
    Flow,
    OpenStream,
    ReadChunk,
    Send,
    Sleep,
    StreamHandle,
    is_event_stream,
)
from ._routing import handle
from ._turns import converse

__all__ = ["AsyncClient", "Client"]

logger = logging.getLogger("nemo_contract")

T = typing.TypeVar("T")


class Client(BaseClient):
    """The reference client, synchronous.

    Settings (all keyword-only): ``base_url`` (default ``$NEMO_API_URL``, else the real service), ``token``
    (default ``$NEMO_TOKEN``, else an anonymous one), ``skill`` (``"video-to-generator"``,
    ``"auto-generator"`` or a ``SkillIdentity``) and ``skill_file`` (whose frontmatter gives the version),
    ``language`` (default: detected), ``credentials`` (a saved ``Credentials`` to resume), ``clock`` and
    ``sleep`` (default ``time.time`` / ``time.sleep``), ``download_dir`` (an existing folder, for exports given
    no path; default: the current one), ``auto_export`` (run the export when the backend says "click Export", as
    the documents require; with ``False`` the user is told to say "export" instead), ``on_message`` (receives the
    messages of the methods that return results), and ``transport`` or ``http_client`` for httpx.

    A bad ``base_url`` (or ``NEMO_API_URL``) raises ``InvalidBaseURL`` here, before any request.
    """

    def __init__(
        self,
        *,
        sleep: typing.Callable[[float], object] | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        **settings: typing.Unpack[Settings],
    ) -> None:
        super().__init__(**settings)
        self._sleep = sleep or time.sleep
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=timeout)

    # -- the public operations ---------------------------------------------------------------------------------

    def iter_handle(self, text: str, files: typing.Sequence[PathLike] = ()) -> typing.Iterator[Message]:
        """Route the user's words (and files) like the documents' agent, yielding messages as they come."""
        yield from self._iterate(handle(self._core, text, files))

    def handle(self, text: str, files: typing.Sequence[PathLike] = ()) -> list[Message]:
        return list(self.iter_handle(text, files))

    def iter_turn(self, text: str) -> typing.Iterator[Message]:
        """Send ``text`` to the agent (no routing), yielding messages as the events arrive."""
        self._core.language_hint = text
        yield from self._iterate(converse(self._core, text))

    def say(self, text: str) -> list[Message]:
        return list(self.iter_turn(text))

    def upload(self, *files: PathLike) -> list[UploadedFile]:
        """Upload local files and/or ``http(s)://`` URLs to the session."""
        return self._run(upload(self._core, files))

    def state(self) -> Snapshot:
        return self._run(snapshot(self._core))

    def credits(self) -> Credits:
        return self._run(credits(self._core))

    def export(self, path: PathLike | None = None, *, overwrite: bool = True) -> ExportResult:
        """Render the session's draft and download it (to ``path``, a folder, or ``download_dir``).

        The folder must exist (none is created) and is checked before the render starts. A file named by
        ``path`` is replaced, as ``open(path, "w")`` would; with ``overwrite=False`` an existing file raises
        ``OutputExists`` (a ``LocalFileError`` and a ``FileExistsError``) instead, before the render. If the
        wait is interrupted the render keeps running on the service: ``pending_render`` names it.
        """
        return self._run(run_export(self._core, path, overwrite=overwrite))

    def new_session(self) -> None:
        """Leave the current session and start an empty one."""
        self._run(self._core.new_session())

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        self.close()

    # -- the driver --------------------------------------------------------------------------------------------

    def _iterate(self, flow: Flow[None]) -> typing.Iterator[Message]:
        for step in self._steps(flow):
            if isinstance(step, Message):
                yield step

    def _run(self, flow: Flow[T]) -> T:
        for step in self._steps(flow):
            if isinstance(step, Done):
                return step.value
            self._deliver(step)
        raise AssertionError("unreachable: a flow always ends with its value")  # pragma: no cover

    def _steps(self, flow: Flow[T]) -> typing.Iterator[Message | Done[T]]:
        streams: list[StreamHandle] = []
        result: typing.Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    op = flow.throw(error) if error is not None else flow.send(result)
                except StopIteration as stop:
                    yield Done(stop.value)
                    return
                result, error = None, None
                if isinstance(op, Emit):
                    yield op.message
                    continue
                try:
                    result = self._perform(op, streams)
                except NemoError as exc:
                    error = exc
        finally:
            flow.close()
            for stream in streams:
                if not stream.closed:
                    stream.response.close()

    def _perform(self, op: typing.Any, streams: list[StreamHandle]) -> typing.Any:
        try:
            if isinstance(op, Send):
                with contextlib.ExitStack() as stack:
                    response = self._http.send(self._build(self._http, op.request, stack))
                logger.debug("%s %s -> %d", op.request.method, op.request.path, response.status_code)
                return response
            if isinstance(op, OpenStream):
                with contextlib.ExitStack() as stack:
                    response = self._http.send(self._build(self._http, op.request, stack), stream=True)
                logger.debug("%s %s -> %d", op.request.method, op.request.path, response.status_code)
                if not is_event_stream(response):
                    try:
                        response.read()
                    finally:
                        response.close()
                    return response
                handle = StreamHandle(response, response.iter_text())
                streams.append(handle)
                return handle
            if isinstance(op, ReadChunk):
                return self._read(op)
            if isinstance(op, CloseStream):
                op.stream.closed = True
                op.stream.response.close()
                return None
            if isinstance(op, Sleep):
                self._sleep(op.seconds)
                return None
            if isinstance(op, Download):
                return self._download(op)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        raise TypeError(f"unknown operation {op!r}")  # pragma: no cover

    @staticmethod
    def _read(op: ReadChunk) -> str | None:
        """The next piece of the stream; a read given a timeout is cut off by a timer when it runs out."""
        chunks: typing.Iterator[str] = op.stream.chunks
        if op.timeout is None:
            return next(chunks, None)
        timer = threading.Timer(max(op.timeout, 0.0), cut, (op.stream,))
        timer.daemon = True
        timer.start()
        try:
            chunk = next(chunks, None)
        except httpx.HTTPError:
            if op.stream.expired:
                raise out_of_time() from None
            raise
        finally:
            timer.cancel()
        if op.stream.expired:
            raise out_of_time()
        return chunk

    def _download(self, op: Download) -> DownloadResult:
        with contextlib.ExitStack() as stack:
            request = self._build(self._http, op.request, stack)
            response = self._http.send(request, stream=True, follow_redirects=True)
        try:
            logger.debug("%s %s -> %d", op.request.method, op.request.path, response.status_code)
            if response.status_code != 200:
                return DownloadResult(response.status_code, 0)
            size = 0
            with PartFile(op.dest) as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    size += len(chunk)
            return DownloadResult(200, size)
        finally:
            response.close()


class AsyncClient(BaseClient):
    """The reference client, asynchronous: the same settings and methods as ``Client``, awaited (``aiter_handle``
    and ``aiter_turn`` for the iterators, ``aclose``). ``sleep`` may be a coroutine function or a plain one
    (``lambda s: emulator.clock.advance(s)``); the default is ``anyio.sleep``. ``transport`` may be a
    ``StreamingASGITransport`` to drive an ASGI app in-process."""

    def __init__(
        self,
        *,
        sleep: typing.Callable[[float], object] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        **settings: typing.Unpack[Settings],
    ) -> None:
        super().__init__(**settings)
        self._sleep = sleep or anyio.sleep
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=timeout)

    async def aiter_handle(self, text: str, files: typing.Sequence[PathLike] = ()) -> typing.AsyncIterator[Message]:
        async for message in self._aiterate(handle(self._core, text, files)):
            yield message

    async def handle(self, text: str, files: typing.Sequence[PathLike] = ()) -> list[Message]:
        return [message async for message in self.aiter_handle(text, files)]

    async def aiter_turn(self, text: str) -> typing.AsyncIterator[Message]:
        self._core.language_hint = text
        async for message in self._aiterate(converse(self._core, text)):
            yield message

    async def say(self, text: str) -> list[Message]:
        return [message async for message in self.aiter_turn(text)]

    async def upload(self, *files: PathLike) -> list[UploadedFile]:
        return await self._run(upload(self._core, files))

    async def state(self) -> Snapshot:
        return await self._run(snapshot(self._core))

    async def credits(self) -> Credits:
        return await self._run(credits(self._core))

    async def export(self, path: PathLike | None = None, *, overwrite: bool = True) -> ExportResult:
        return await self._run(run_export(self._core, path, overwrite=overwrite))

    async def new_session(self) -> None:
        await self._run(self._core.new_session())

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the driver --------------------------------------------------------------------------------------------

    async def _aiterate(self, flow: Flow[None]) -> typing.AsyncIterator[Message]:
        async with contextlib.aclosing(self._steps(flow)) as steps:
            async for step in steps:
                if isinstance(step, Message):
                    yield step

    async def _run(self, flow: Flow[T]) -> T:
        async with contextlib.aclosing(self._steps(flow)) as steps:
            async for step in steps:
                if isinstance(step, Done):
                    return step.value
                self._deliver(step)
        raise AssertionError("unreachable: a flow always ends with its value")  # pragma: no cover

    async def _steps(self, flow: Flow[T]) -> typing.AsyncGenerator[Message | Done[T], None]:
        streams: list[StreamHandle] = []
        result: typing.Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    op = flow.throw(error) if error is not None else flow.send(result)
                except StopIteration as stop:
                    yield Done(stop.value)
                    return
                result, error = None, None
                if isinstance(op, Emit):
                    yield op.message
                    continue
                try:
                    result = await self._perform(op, streams)
                except NemoError as exc:
                    error = exc
        finally:
            flow.close()
            for stream in streams:
                if not stream.closed:
                    await stream.response.aclose()

    async def _perform(self, op: typing.Any, streams: list[StreamHandle]) -> typing.Any:
        try:
            if isinstance(op, Send):
                with contextlib.ExitStack() as stack:
                    response = await self._http.send(self._build(self._http, op.request, stack))
                logger.debug("%s %s -> %d", op.request.method, op.request.path, response.status_code)
                return response
            if isinstance(op, OpenStream):
                with contextlib.ExitStack() as stack:
                    response = await self._http.send(self._build(self._http, op.request, stack), stream=True)
                logger.debug("%s %s -> %d", op.request.method, op.request.path, response.status_code)
                if not is_event_stream(response):
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
                    return response
                handle = StreamHandle(response, response.aiter_text())
                streams.append(handle)
                return handle
            if isinstance(op, ReadChunk):
                chunks: typing.AsyncIterator[str] = op.stream.chunks
                if op.timeout is None:
                    return await anext(chunks, None)
                try:
                    with anyio.fail_after(max(op.timeout, 0.0)):
                        return await anext(chunks, None)
                except TimeoutError:
                    op.stream.expired = True
                    raise out_of_time() from None
            if isinstance(op, CloseStream):
                op.stream.closed = True
                await op.stream.response.aclose()
                return None
            if isinstance(op, Sleep):
                outcome = self._sleep(op.seconds)
                if inspect.isawaitable(outcome):
                    await outcome
                return None
            if isinstance(op, Download):
                return await self._download(op)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        raise TypeError(f"unknown operation {op!r}")  # pragma: no cover

    async def _download(self, op: Download) -> DownloadResult:
        with contextlib.ExitStack() as stack:
            request = self._build(self._http, op.request, stack)
            response = await self._http.send(request, stream=True, follow_redirects=True)
        try:
            logger.debug("%s %s -> %d", op.request.method, op.request.path, response.status_code)
            if response.status_code != 200:
                return DownloadResult(response.status_code, 0)
            size = 0
            with PartFile(op.dest) as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
                    size += len(chunk)
            return DownloadResult(200, size)
        finally:
            await response.aclose()
