"""What both drivers share: construction and settings, request building, and the small I/O helpers.

``Client`` and ``AsyncClient`` (``_client``) differ only in how they wait: the decisions are in the flows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import mimetypes
import os
import pathlib
import socket
import time
import types
import typing

import httpx

from ._core import Core
from ._exceptions import LocalFileError, NemoError, NetworkError
from ._identity import SkillIdentity
from ._models import Credentials, Message, PendingRender
from ._ops import RequestSpec, StreamHandle
from ._session import BASE_URL_ENV, TOKEN_ENV, bad_base_url, check_base_url
from .protocol import DEFAULT_BASE_URL, SkillSource
from .protocol import fields as f

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_TIMEOUT",
    "TOKEN_ENV",
    "BaseClient",
    "Done",
    "PartFile",
    "PathLike",
    "Settings",
    "cut",
    "out_of_time",
    "transport_error",
]

logger = logging.getLogger("nemo_contract")

T = typing.TypeVar("T")
PathLike = str | os.PathLike[str]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


class Done(typing.Generic[T]):
    """The value a flow returned, handed out after its messages."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def transport_error(error: Exception) -> NetworkError:
    if isinstance(error, httpx.TimeoutException):
        return NetworkError("The service stopped answering (timed out)", timed_out=True)
    if isinstance(error, httpx.ConnectError):
        return NetworkError("Cannot connect to the service")
    return NetworkError("The connection to the service failed")


def out_of_time() -> NetworkError:
    """A read of a stream that ran out of the time it was given."""
    return NetworkError("The service sent nothing more within the time allowed", timed_out=True)


def cut(stream: StreamHandle) -> None:
    """End a read that is waiting too long (from a timer thread): mark the stream and shut its socket down, which
    wakes the blocked read with an error. A transport without a socket (a mock) is only marked."""
    stream.expired = True
    network = stream.response.extensions.get("network_stream")
    sock = network.get_extra_info("socket") if network is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _multipart(paths: tuple[pathlib.Path, ...], stack: contextlib.ExitStack) -> list[tuple[str, typing.Any]]:
    files = []
    for path in paths:
        try:
            handle = stack.enter_context(path.open("rb"))
        except OSError as exc:
            raise LocalFileError(f"cannot read {path}: {exc.strerror}") from None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append((f.FILES, (path.name, handle, mime)))
    return files


class PartFile:
    """A download is written beside its destination (``name.part``) and moved into place only when complete.

    The folder must exist: none is created (a missing one is the caller's mistake, said before the render).
    """

    def __init__(self, dest: pathlib.Path) -> None:
        self.dest = dest
        self.part = dest.with_name(dest.name + ".part")
        self._file: typing.BinaryIO | None = None

    def __enter__(self) -> typing.BinaryIO:
        try:
            self._file = self.part.open("wb")
        except OSError as exc:
            raise LocalFileError(f"cannot write {self.dest}: {exc.strerror}") from None
        return self._file

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        assert self._file is not None
        try:
            self._file.close()
            if kind is None:
                os.replace(self.part, self.dest)
        except OSError as exc:
            self.part.unlink(missing_ok=True)
            raise LocalFileError(f"cannot write {self.dest}: {exc.strerror}") from None
        if kind is not None:
            self.part.unlink(missing_ok=True)
            if issubclass(kind, OSError) and not isinstance(value, NemoError):
                raise LocalFileError(f"cannot write {self.dest}: {getattr(value, 'strerror', None)}") from None


def _base_url(given: str | None) -> str:
    """The base URL to use (argument, else ``NEMO_API_URL``, else the real service), checked."""
    source = None if given else BASE_URL_ENV
    text = given or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    url = check_base_url(text, source=source)
    try:
        httpx.URL(url)
    except httpx.InvalidURL:
        raise bad_base_url(text, "it cannot be read as a URL", source=source) from None
    return url


class Settings(typing.TypedDict, total=False):
    """The settings both drivers take (keyword-only, see ``Client``); each driver adds its own ``sleep``,
    ``transport``, ``http_client`` and ``timeout``. The defaults are ``BaseClient``'s."""

    base_url: str | None
    token: str | None
    skill: SkillSource | str | SkillIdentity
    skill_file: PathLike | None
    language: str | None
    credentials: Credentials | None
    clock: typing.Callable[[], float] | None
    download_dir: PathLike | None
    auto_export: bool
    on_message: typing.Callable[[Message], object] | None


class BaseClient:
    """What both drivers share: the ``Settings`` (their defaults are here) made into the flows' ``Core``."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        skill: SkillSource | str | SkillIdentity = SkillSource.VIDEO_TO_GENERATOR,
        skill_file: PathLike | None = None,
        language: str | None = None,
        credentials: Credentials | None = None,
        clock: typing.Callable[[], float] | None = None,
        download_dir: PathLike | None = None,
        auto_export: bool = True,
        on_message: typing.Callable[[Message], object] | None = None,
    ) -> None:
        url = _base_url(base_url)
        identity = skill if isinstance(skill, SkillIdentity) else SkillIdentity.detect(skill, skill_file=skill_file)
        env_token = os.environ.get(TOKEN_ENV) or None
        self._core = Core(
            base_url=url,
            identity=identity,
            token=token or env_token,
            token_from_env=not token and env_token is not None,
            language=language,
            credentials=credentials,
            clock=clock or time.time,
            download_dir=pathlib.Path(download_dir) if download_dir is not None else pathlib.Path.cwd(),
            auto_export=auto_export,
        )
        self._on_message = on_message

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def identity(self) -> SkillIdentity:
        return self._core.identity

    @property
    def credentials(self) -> Credentials:
        """The client id, token, user id and session id in use (see ``credentials_to_save``)."""
        return self._core.credentials

    @property
    def pending_render(self) -> PendingRender | None:
        """The render of the last export when its video was not saved (the wait was interrupted, cancelled or ran
        out of time): it keeps running on the service. Its ``url`` is the download link once it completed."""
        return self._core.pending_render

    def credentials_to_save(self) -> Credentials:
        """A copy of ``credentials`` fit to store to resume later: without the token when it came from
        ``NEMO_TOKEN`` (the environment keeps that one; a file must not)."""
        saved = dataclasses.replace(self._core.credentials)
        if saved.token is not None and saved.token == self._core.env_token:
            saved.token = None
        return saved

    def _build(
        self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec, stack: contextlib.ExitStack
    ) -> httpx.Request:
        logger.info("%s %s", spec.method, spec.path)
        return http.build_request(
            spec.method,
            spec.url,
            headers=spec.headers,
            json=spec.json,
            files=_multipart(spec.files, stack) if spec.files else None,
            timeout=spec.timeout if spec.timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    def _deliver(self, message: Message) -> None:
        logger.debug("message for the user (%s)", message.kind.value)
        if self._on_message is not None:
            self._on_message(message)
