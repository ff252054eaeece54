"""The client's state and its request/recovery logic, as flows (see ``_ops``).

Lifecycle (both documents): a token from ``NEMO_TOKEN`` if set, else an anonymous token for a generated UUID
client id; then a session (with the detected language for ``video-to-generator``; without one for
``auto-generator``, as its quick start does). Both are made on first need and reused.

Recovery, one retry at most per error code and request: 1001 -> a new anonymous token; 1002 -> a new session;
429 -> wait ``Retry-After`` (else 30 s); 400 on the token request -> a new client id; 409 -> whatever the caller
says (a render start takes a new render id). Everything else raises. Codes are counted apart because one
recovery can reveal the next: after a week unused the token has expired (1001) and so has the session, which the
renewed token then meets (1002); a code seen twice raises.
"""

from __future__ import annotations

import enum
import pathlib
import typing
import urllib.parse
import uuid

import httpx

from ._envelope import read_body, retry_after
from ._exceptions import APIError, AuthenticationError, NotFound, UnexpectedResponse
from ._identity import SkillIdentity
from ._models import Credentials, ExportRecord, MessageKind, PendingRender
from ._ops import Flow, OpenStream, RequestSpec, Send, Sleep, StreamHandle, emit
from ._session import TOKEN_ENV, detect_language
from .protocol import DEFAULT_TASK_NAME, ME, PATHS, Code, Header, SkillSource
from .protocol import fields as f

__all__ = ["Core", "Scope", "data_of"]


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
        #: The render of an export whose video is not saved yet (``Client.pending_render``).
        self.pending_render: PendingRender | None = None
        #: Whether the API has answered yet (a 404 aside): until then a 404 means the base URL is wrong.
        self.reached = False
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
        retried: set[int] = set()  # the codes recovered from already
        first_token: str | None = None
        while True:
            yield from self._prepare(scope)
            if not retried:
                first_token = self.credentials.token
            session = self.credentials.session_id
            request = build()
            answer = yield (OpenStream(request) if stream else Send(request))
            if isinstance(answer, StreamHandle):
                self.reached = True
                return answer
            assert isinstance(answer, httpx.Response)
            try:
                body = read_body(answer)
            except APIError as error:
                self.reached = self.reached or not isinstance(error, NotFound)
                if error.code in retried or not self._recoverable(error, scope, conflict=on_conflict is not None):
                    self._advise(error, first_token)
                    raise
                retried.add(error.code)
                yield from self._recover(error, scope, answer)
                if error.code == Code.CONFLICT and on_conflict is not None:
                    on_conflict()
                if on_new_session is not None and self.credentials.session_id != session:
                    yield from on_new_session()
            else:
                self.reached = True
                return body

    def _advise(self, error: APIError, token: str | None) -> None:
        """Advice that fits how this client got its token, or its base URL."""
        if isinstance(error, NotFound) and not self.reached:
            error.advice = _wrong_url_advice(self.base_url)
        elif isinstance(error, AuthenticationError) and self.env_token is not None and token == self.env_token:
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
        data = data_of(body)
        token, user_id = data.get(f.TOKEN), data.get(f.USER_ID)
        if not isinstance(token, str) or not token:
            raise UnexpectedResponse("The service issued no token")
        previous = self.credentials.user_id
        self.credentials.token = token
        self.credentials.user_id = user_id if isinstance(user_id, str) else None
        if previous is None or previous != self.credentials.user_id:
            self.credentials.session_id = None  # sessions belong to a user

    def _new_session(self, *, announce: bool) -> Flow[None]:
        body_json: dict[str, str] = {f.TASK_NAME: DEFAULT_TASK_NAME}
        if self.identity.source is not SkillSource.AUTO_GENERATOR:
            body_json[f.LANGUAGE] = self.language or detect_language(self.language_hint)
        body = yield from self.call(
            lambda: self.spec("POST", PATHS.create_session, json=body_json, user=ME), Scope.USER
        )
        data = data_of(body)
        session_id = data.get(f.SESSION_ID)
        if not isinstance(session_id, str) or not session_id:
            raise UnexpectedResponse("The service created no session")
        self.credentials.session_id = session_id
        if isinstance(data.get(f.USER_ID), str):
            self.credentials.user_id = data[f.USER_ID]
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


def _wrong_url_advice(base_url: str) -> str:
    """A 404 before anything else worked: the API is not at this URL (most often a path added to the host)."""
    parts = urllib.parse.urlsplit(base_url)
    host = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    if parts.path.strip("/"):
        return f"The service URL's path ({parts.path}) looks wrong: the base URL is the host alone, e.g. {host}."
    return f"The API is not at {host}: check the service URL (the API's host, e.g. http://127.0.0.1:8000)."


def data_of(body: dict[str, typing.Any]) -> dict[str, typing.Any]:
    """The ``data`` object of a successful envelope."""
    data = body.get(f.DATA)
    if not isinstance(data, dict):
        raise UnexpectedResponse("The service sent a result without data")
    return data
