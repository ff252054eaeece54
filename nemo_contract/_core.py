"""The client's state and its request/recovery logic, as flows (see ``_ops``).

Lifecycle (both documents): a token from ``NEMO_TOKEN`` if set, else an anonymous token for a generated UUID
client id; then a session (with the detected language for ``video-to-generator``; without one for
``auto-generator``, as its quick start does). Both are made on first need and reused.

Recovery, one retry at most per request: 1001 -> a new anonymous token; 1002 -> a new session; 429 -> wait
``Retry-After`` (else 30 s); 400 on the token request -> a new client id; 409 -> whatever the caller says (a render
start takes a new render id). Everything else raises.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import pathlib
import typing
import uuid

import httpx

from ._envelope import read_body
from ._exceptions import (
    APIError,
    AuthenticationError,
    FileTooLarge,
    LocalFileError,
    UnexpectedResponse,
    UnsupportedFileType,
    UploadRejected,
)
from ._identity import SkillIdentity
from ._models import Credentials, Credits, MessageKind, Snapshot, UploadedFile, field_dict, field_list
from ._ops import Flow, OpenStream, RequestSpec, Send, Sleep, StreamHandle, emit
from ._protocol import (
    DEFAULT_TASK_NAME,
    MAX_UPLOAD_BYTES,
    ME,
    PATHS,
    Code,
    Header,
    SkillSource,
    file_type_for,
)
from ._session import TOKEN_ENV, detect_language

__all__ = ["Core", "ExportRecord", "Scope"]

T = typing.TypeVar("T")

TASK_NAME = DEFAULT_TASK_NAME


class Scope(enum.Enum):
    """What a request needs before it can be sent."""

    NONE = "none"  # the anonymous-token request
    USER = "user"  # a token
    SESSION = "session"  # a token and a session


#: What each document tells the user while it connects ("Keep setup communication brief").
_SETUP_NOTICES: dict[SkillSource, tuple[str, str | None]] = {
    SkillSource.VIDEO_TO_GENERATOR: ("Setting up...", None),
    SkillSource.AUTO_GENERATOR: ("Connecting...", "Ready!"),
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExportRecord:
    """The last export of this client: which session's draft, saved where."""

    session_id: str | None
    draft: dict[str, typing.Any]
    path: pathlib.Path

    def matches(self, snapshot: Snapshot) -> bool:
        return snapshot.session_id == self.session_id and snapshot.draft == self.draft


class Core:
    """Settings, credentials, and the flows every operation is built from."""

    def __init__(
        self,
        *,
        base_url: str,
        identity: SkillIdentity,
        token: str | None,
        token_from_env: bool,
        language: str | None,
        credentials: Credentials | None,
        clock: typing.Callable[[], float],
        download_dir: pathlib.Path,
        auto_export: bool,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.language = language
        self.clock = clock
        self.download_dir = download_dir
        self.auto_export = auto_export
        self.credentials = credentials if credentials is not None else Credentials()
        if token:
            self.credentials.token = token
        #: The token of ``NEMO_TOKEN`` when that is the one given: used, never saved.
        self.env_token = token if token and token_from_env else None
        self.last_export: ExportRecord | None = None
        if not self.credentials.client_id:
            self.credentials.client_id = str(uuid.uuid4())
        #: The words of the request being handled: the best evidence of the user's language.
        self.language_hint: str | None = None

    # -- requests ----------------------------------------------------------------------------------------------

    def url(self, template: str, **params: str) -> str:
        return self.base_url + template.format(**params)

    def headers(self, *, auth: bool = True) -> dict[str, str]:
        """Attribution on every request; the bearer token on every request but the token request."""
        headers = self.identity.headers()
        if auth and self.credentials.token:
            headers[Header.AUTHORIZATION.value] = f"Bearer {self.credentials.token}"
        return headers

    def spec(
        self,
        method: str,
        template: str,
        *,
        auth: bool = True,
        json: typing.Any = None,
        files: tuple[pathlib.Path, ...] = (),
        headers: typing.Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        **params: str,
    ) -> RequestSpec:
        merged = {**self.headers(auth=auth), **(headers or {})}
        return RequestSpec(method, self.url(template, **params), merged, json=json, files=files, timeout=timeout)

    # -- the exchange with recovery ----------------------------------------------------------------------------

    def call(
        self,
        build: typing.Callable[[], RequestSpec],
        scope: Scope,
        *,
        on_conflict: typing.Callable[[], None] | None = None,
    ) -> Flow[dict[str, typing.Any]]:
        """Send a request (built afresh for each attempt) and return the answer's JSON object.

        ``on_conflict``: a 409 is recoverable too: it is called, then the request tried again (within the one
        retry every request has).
        """
        answer = yield from self._exchange(build, scope, stream=False, on_conflict=on_conflict)
        assert isinstance(answer, dict)
        return answer

    def open_stream(
        self,
        build: typing.Callable[[], RequestSpec],
        *,
        on_new_session: typing.Callable[[], Flow[None]] | None = None,
    ) -> Flow[StreamHandle]:
        """Open ``/run_sse``. Errors before the stream starts are recovered like any request's; the turn was
        not accepted then, so trying once more is not sending it twice. When that recovery moved the client to
        another session, ``on_new_session`` runs before the turn is sent there."""
        answer = yield from self._exchange(build, Scope.SESSION, stream=True, on_new_session=on_new_session)
        if not isinstance(answer, StreamHandle):
            raise UnexpectedResponse("The service accepted the message but sent no event stream")
        return answer

    def _exchange(
        self,
        build: typing.Callable[[], RequestSpec],
        scope: Scope,
        *,
        stream: bool,
        on_conflict: typing.Callable[[], None] | None = None,
        on_new_session: typing.Callable[[], Flow[None]] | None = None,
    ) -> Flow[dict[str, typing.Any] | StreamHandle]:
        retried = False
        first_token: str | None = None
        while True:
            yield from self._prepare(scope)
            if not retried:
                first_token = self.credentials.token
            session = self.credentials.session_id
            request = build()
            answer = yield (OpenStream(request) if stream else Send(request))
            if isinstance(answer, StreamHandle):
                return answer
            assert isinstance(answer, httpx.Response)
            try:
                return read_body(answer)
            except APIError as error:
                if retried or not self._recoverable(error, scope, conflict=on_conflict is not None):
                    self._advise(error, first_token)
                    raise
                retried = True
                yield from self._recover(error, scope, answer)
                if error.code == Code.CONFLICT and on_conflict is not None:
                    on_conflict()
                if on_new_session is not None and self.credentials.session_id != session:
                    yield from on_new_session()

    def _advise(self, error: APIError, token: str | None) -> None:
        """Advice that fits how this client got its token."""
        if isinstance(error, AuthenticationError) and self.env_token is not None and token == self.env_token:
            error.advice = (
                f"The token in {TOKEN_ENV} was refused, and so was a new anonymous one; "
                f"set a valid token in {TOKEN_ENV} (or unset it), then try again."
            )

    @staticmethod
    def _recoverable(error: APIError, scope: Scope, *, conflict: bool = False) -> bool:
        if error.code == Code.RATE_LIMITED:
            return True
        if error.code == Code.CONFLICT:
            return conflict
        if scope is Scope.NONE:
            return error.code == Code.BAD_REQUEST  # "missing X-Client-Id; generate one and retry"
        if error.code == Code.TOKEN_INVALID:
            return True
        return error.code == Code.SESSION_NOT_FOUND and scope is Scope.SESSION

    def _recover(self, error: APIError, scope: Scope, answer: httpx.Response) -> Flow[None]:
        from ._envelope import retry_after

        if error.code == Code.RATE_LIMITED:
            wait = retry_after(answer, now=self.clock())
            yield emit(MessageKind.NOTICE, f"⏳ The service is busy; trying again in {round(wait)} s.")
            yield Sleep(wait)
        elif error.code == Code.BAD_REQUEST:
            self.credentials.client_id = str(uuid.uuid4())
        elif error.code == Code.TOKEN_INVALID:
            self.credentials.token = None
            yield from self._new_token()
            if scope is Scope.SESSION and not self.credentials.session_id:
                yield from self._new_session(announce=False)
        elif error.code == Code.SESSION_NOT_FOUND:
            lost = self.credentials.session_id
            self.credentials.session_id = None
            yield from self._new_session(announce=False)
            if lost:
                yield emit(
                    MessageKind.NOTICE, "The previous editing session could not be found, so a new one was started."
                )

    def _prepare(self, scope: Scope) -> Flow[None]:
        """First contact sets up both a token and a session, as the documents' setup does; later requests only
        make what is missing."""
        if scope is Scope.NONE:
            return
        need_token = not self.credentials.token
        need_session = not self.credentials.session_id and (scope is Scope.SESSION or need_token)
        if not (need_token or need_session):
            return
        starting, ready = _SETUP_NOTICES.get(self.identity.source, ("Setting up...", None))
        yield emit(MessageKind.NOTICE, starting)
        if need_token:
            yield from self._new_token()
        if not self.credentials.session_id:
            yield from self._new_session(announce=False)
        if ready:
            yield emit(MessageKind.NOTICE, ready)

    def _new_token(self) -> Flow[None]:
        def build() -> RequestSpec:
            client_id = self.credentials.client_id or str(uuid.uuid4())
            self.credentials.client_id = client_id
            return self.spec("POST", PATHS.anonymous_token, auth=False, headers={Header.CLIENT_ID.value: client_id})

        body = yield from self.call(build, Scope.NONE)
        data = _data(body)
        token, user_id = data.get("token"), data.get("user_id")
        if not isinstance(token, str) or not token:
            raise UnexpectedResponse("The service issued no token")
        previous = self.credentials.user_id
        self.credentials.token = token
        self.credentials.user_id = user_id if isinstance(user_id, str) else None
        if previous is None or previous != self.credentials.user_id:
            self.credentials.session_id = None  # sessions belong to a user

    def _new_session(self, *, announce: bool) -> Flow[None]:
        body_json: dict[str, str] = {"task_name": TASK_NAME}
        if self.identity.source is not SkillSource.AUTO_GENERATOR:
            body_json["language"] = self.language or detect_language(self.language_hint)
        body = yield from self.call(
            lambda: self.spec("POST", PATHS.create_session, json=body_json, user=ME), Scope.USER
        )
        data = _data(body)
        session_id = data.get("session_id")
        if not isinstance(session_id, str) or not session_id:
            raise UnexpectedResponse("The service created no session")
        self.credentials.session_id = session_id
        if isinstance(data.get("user_id"), str):
            self.credentials.user_id = data["user_id"]
        if announce:
            yield emit(MessageKind.NOTICE, "Started a new editing session.")

    def new_session(self) -> Flow[None]:
        """Start a fresh session (and get a token first if there is none)."""
        if not self.credentials.token:
            self.credentials.session_id = None
            yield from self._prepare(Scope.SESSION)
            return
        self.credentials.session_id = None
        yield from self._new_session(announce=True)

    # -- the simple operations ---------------------------------------------------------------------------------

    def credits(self) -> Flow[Credits]:
        body = yield from self.call(lambda: self.spec("GET", PATHS.credits), Scope.USER)
        data = _data(body)
        try:
            available, frozen = int(data["available"]), int(data.get("frozen", 0))
            total = int(data.get("total", available + frozen))
        except (KeyError, TypeError, ValueError):
            raise UnexpectedResponse("The service sent a balance the client cannot read") from None
        return Credits(available=available, frozen=frozen, total=total)

    def snapshot(self) -> Flow[Snapshot]:
        body = yield from self.call(
            lambda: self.spec("GET", PATHS.state, user=ME, session_id=self.credentials.session_id or ""),
            Scope.SESSION,
        )
        data = _data(body)
        state = field_dict(data, "state")
        infos = [info for info in field_list(state, "video_infos") if isinstance(info, dict)]
        session_id = data.get("session_id") if isinstance(data.get("session_id"), str) else None
        return Snapshot(
            session_id=session_id or self.credentials.session_id,
            draft=field_dict(state, "draft"),
            video_infos=infos,
            generated_media=field_list(state, "generated_media"),
        )

    def upload(self, sources: typing.Sequence[str | os.PathLike[str]]) -> Flow[list[UploadedFile]]:
        """Upload local files (one multipart request) and URLs (one JSON request)."""
        urls = [str(s) for s in sources if isinstance(s, str) and _is_url(s)]
        paths = tuple(_checked_file(s) for s in sources if not (isinstance(s, str) and _is_url(s)))
        uploaded: list[UploadedFile] = []
        if paths:
            body = yield from self._upload_call(
                lambda: self.spec(
                    "POST", PATHS.upload, files=paths, user=ME, session_id=self.credentials.session_id or ""
                ),
                [path.name for path in paths],
            )
            uploaded += _files(body)
        if urls:
            payload = {"urls": urls, "source_type": "url"}
            body = yield from self._upload_call(
                lambda: self.spec(
                    "POST", PATHS.upload, json=payload, user=ME, session_id=self.credentials.session_id or ""
                ),
                [_url_name(url) for url in urls],
            )
            uploaded += _files(body)
        return uploaded

    def _upload_call(self, build: typing.Callable[[], RequestSpec], names: list[str]) -> Flow[dict[str, typing.Any]]:
        """One upload request; a refusal names the file(s) it was about."""
        try:
            return (yield from self.call(build, Scope.SESSION))
        except UploadRejected as error:
            if isinstance(error, UnsupportedFileType):
                names = [name for name in names if file_type_for(name) is None] or names
            error.args = (f"{error.message.rstrip('.')}: {', '.join(names)}",)
            raise


def _data(body: dict[str, typing.Any]) -> dict[str, typing.Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise UnexpectedResponse("The service sent a result without data")
    return data


def _url_name(url: str) -> str:
    """The file name a URL ends with, for messages (else the URL without its query)."""
    try:
        path = httpx.URL(url).path
    except httpx.InvalidURL:
        path = ""
    return path.rsplit("/", 1)[-1] or url.split("?", 1)[0]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _checked_file(source: str | os.PathLike[str]) -> pathlib.Path:
    path = pathlib.Path(source).expanduser()
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
    items = _data(body).get("files")
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
                filename=str(item.get("filename") or "file"),
                file_type=str(item.get("file_type") or "file"),
                cdn_url=item.get("cdn_url") if isinstance(item.get("cdn_url"), str) else None,
                duration=number("duration"),
                width=number("width"),
                height=number("height"),
                fps=number("fps"),
            )
        )
    return found
