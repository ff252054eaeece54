"""Talking to the server under test: requests with httpx, a ``/run_sse`` stream read with the arrival time of each
chunk, and the record of every envelope and every 429 the run sees (ours and Schemathesis's), which the
status-mode and Retry-After checks judge at the end.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import typing

import httpx

from ..__version__ import __version__
from ..protocol import (
    ATTRIBUTION_HEADERS,
    DEFAULT_SKILL_VERSION,
    HTTP_STATUS,
    UNKNOWN_PLATFORM,
    Code,
    Header,
    SkillSource,
    StatusMode,
)
from ..protocol import fields as f
from ..protocol.specs import API_SPEC, load_spec
from ._model import Evidence

__all__ = [
    "ATTRIBUTION",
    "Answer",
    "Broken",
    "Masker",
    "NotRun",
    "Recorder",
    "Seen",
    "Server",
    "ServerUnreachable",
    "StreamRead",
    "envelope_code",
    "excerpt",
]

#: The attribution headers verify sends, as a skill installed nowhere in particular would.
ATTRIBUTION: typing.Final = dict(
    zip(
        (str(h) for h in ATTRIBUTION_HEADERS),
        (SkillSource.VIDEO_TO_GENERATOR.value, DEFAULT_SKILL_VERSION, UNKNOWN_PLATFORM),
        strict=True,
    )
)
_EXCERPT = 300


class ServerUnreachable(ConnectionError):
    """Nothing answered at the URL (refused, unknown host, timed out, not HTTP)."""


class NotRun(Exception):
    """The check cannot be carried out here, through no fault of the server (out of credits, no fault header)."""


class Broken(Exception):
    """The server misbehaved on the way to the check (the check errors); ``evidence`` shows how. ``transport``:
    no HTTP answer came at all (refused, reset, timed out)."""

    def __init__(self, reason: str, evidence: Evidence | None = None, *, transport: bool = False) -> None:
        super().__init__(reason)
        self.evidence = evidence
        self.transport = transport


def excerpt(content: bytes | str, limit: int = _EXCERPT) -> str:
    """Bytes as text for a report: decoded leniently, cut to ``limit`` characters."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def envelope_code(body: typing.Any) -> int | None:
    """The ``code`` of ``{"code": int, "message": str, "data": ...}``; None for anything else (a render's
    top-level shape has a code but no message, so it is no envelope)."""
    if not isinstance(body, dict):
        return None
    code = body.get(f.CODE)
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    return code if isinstance(body.get(f.MESSAGE), str) and f.DATA in body else None


def _failure(exc: Exception) -> str:
    """An httpx error in a few words: its kind, and its text when it has one."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {excerpt(text, 120)}" if text else type(exc).__name__


def _json(content: bytes, content_type: str) -> typing.Any:
    if "json" not in content_type.lower():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


class Masker:
    """Replaces token values with ``<token>`` in anything that goes into a report: the run's own tokens, and any
    value of the spec's token pattern (a token answer Schemathesis got for a client id of its own)."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        token = load_spec(API_SPEC)["components"]["schemas"]["AnonymousToken"]["properties"][f.TOKEN]
        self._pattern = re.compile(token["pattern"].removeprefix("^").removesuffix("$"))

    def add(self, secret: str) -> None:
        if len(secret) >= 8:  # a short value would mask ordinary words
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        return self._pattern.sub("<token>", text)


class Seen(typing.NamedTuple):
    """An envelope answer, or any 429, as the run saw it."""

    request: str
    status: int
    code: int | None
    retry_after: str | None
    excerpt: str

    def evidence(self, note: str) -> Evidence:
        return Evidence(request=self.request, status=self.status, note=note, excerpt=self.excerpt)


class Recorder:
    """Every envelope and every 429 of the run, from our requests and Schemathesis's alike."""

    def __init__(self, masker: Masker) -> None:
        self.seen: list[Seen] = []
        self._mask = masker

    def note(self, request: str, status: int, headers: typing.Mapping[str, str], content: bytes) -> None:
        content_type = headers.get("content-type", "")
        code = envelope_code(_json(content, content_type))
        if code is None and status != HTTP_STATUS[Code.RATE_LIMITED]:
            return
        retry = headers.get(Header.RETRY_AFTER.lower())
        self.seen.append(Seen(self._mask(request), status, code, retry, self._mask(excerpt(content))))

    def errors(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.code not in (None, Code.SUCCESS)]

    def mode(self) -> StatusMode | None:
        """The status mode most error answers show: HTTP 200 votes ``always200``, the code's own status votes
        ``http`` (a tie goes to ``http``, the spec's default); None when no error answer was seen."""
        votes = {StatusMode.HTTP: 0, StatusMode.ALWAYS200: 0}
        for seen in self.errors():
            if seen.status == HTTP_STATUS[Code.SUCCESS]:
                votes[StatusMode.ALWAYS200] += 1
            elif seen.code in HTTP_STATUS and HTTP_STATUS[Code(seen.code)] == seen.status:
                votes[StatusMode.HTTP] += 1
        if not any(votes.values()):
            return None
        return StatusMode.ALWAYS200 if votes[StatusMode.ALWAYS200] > votes[StatusMode.HTTP] else StatusMode.HTTP


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """One answer: its status, headers and bytes, the JSON body when there is one, its envelope code."""

    request: str
    status: int
    headers: httpx.Headers
    content: bytes
    body: typing.Any

    @property
    def code(self) -> int | None:
        return envelope_code(self.body)

    def data(self, *keys: str) -> typing.Any:
        """``body["data"][keys[0]][keys[1]]...``, or None where any step is missing or no object."""
        found = self.body.get(f.DATA) if isinstance(self.body, dict) else None
        for key in keys:
            found = found.get(key) if isinstance(found, dict) else None
        return found

    @property
    def refused(self) -> bool:
        """An error: an envelope with a non-zero code (whatever the status mode), or an HTTP error status."""
        code = self.code
        return (code is not None and code != Code.SUCCESS) or self.status >= 400

    def evidence(self, note: str, mask: Masker) -> Evidence:
        return Evidence(request=mask(self.request), status=self.status, note=note, excerpt=mask(excerpt(self.content)))

    def describe(self) -> str:
        """``HTTP 404, code 1002 (session not found)``, for a reason line."""
        text = f"HTTP {self.status}"
        if self.code is not None:
            message = self.body.get(f.MESSAGE)
            text += f", code {self.code}" + (f" ({excerpt(message, 80)})" if message else "")
        return text


@dataclasses.dataclass(slots=True)
class StreamRead:
    """A ``/run_sse`` answer read to its end, each chunk with its arrival (seconds after the request was sent)."""

    answer: Answer  # status and headers; ``content`` holds the whole body read
    chunks: list[tuple[float, bytes]]
    ended_at: float  # when the end (or the failure) was seen
    end: typing.Literal["closed", "cut", "timeout"]
    error: str = ""


class Server:
    """The server under test, over httpx. Every answer is noted in the recorder."""

    def __init__(self, url: str, *, timeout: float, recorder: Recorder, masker: Masker) -> None:
        self.url = url
        self.timeout = timeout
        self.recorder = recorder
        self.mask = masker
        agent = f"nemo-contract-verify/{__version__}"
        self._http = httpx.Client(base_url=url, timeout=timeout, headers={"User-Agent": agent}, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def _headers(
        self, token: str | None, headers: typing.Mapping[str, str] | None, attribution: bool
    ) -> dict[str, str]:
        found = dict(ATTRIBUTION) if attribution else {}
        if token is not None:
            found[Header.AUTHORIZATION] = token if " " in token else f"Bearer {token}"
        found.update(headers or {})
        return found

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: typing.Any = None,
        headers: typing.Mapping[str, str] | None = None,
        attribution: bool = True,
    ) -> Answer:
        """One request; ``token`` is a bare token (sent as ``Bearer``) or a whole Authorization value."""
        request = f"{method} {path}"
        try:
            response = self._http.request(method, path, json=json, headers=self._headers(token, headers, attribution))
        except httpx.TransportError as exc:
            raise Broken(f"{request}: {_failure(exc)}", transport=True) from None
        content_type = response.headers.get("content-type", "")
        self.recorder.note(request, response.status_code, response.headers, response.content)
        return Answer(
            request, response.status_code, response.headers, response.content, _json(response.content, content_type)
        )

    def stream(self, path: str, *, token: str, json: typing.Any, timeout: float, head_only: bool = False) -> StreamRead:
        """POST and read the answer to its end (or for ``timeout`` seconds), timing every chunk as it is read.
        With ``head_only`` a stream that was not refused is left unread: only whether it was refused matters."""
        request = f"POST {path}"
        chunks: list[tuple[float, bytes]] = []
        started = time.monotonic()
        deadline = started + timeout
        try:
            with self._http.stream(
                "POST", path, json=json, headers=self._headers(token, None, True), timeout=timeout
            ) as response:
                end: typing.Literal["closed", "cut", "timeout"] = "closed"
                error = ""
                kind = response.headers.get("content-type", "")
                unread = head_only and response.status_code == HTTP_STATUS[Code.SUCCESS] and "json" not in kind
                try:
                    for chunk in () if unread else response.iter_bytes():
                        chunks.append((time.monotonic() - started, chunk))
                        if time.monotonic() > deadline:
                            end, error = "timeout", f"still open after {timeout:g} s"
                            break
                except httpx.TimeoutException:
                    end, error = "timeout", f"nothing arrived for {timeout:g} s"
                except httpx.TransportError as exc:
                    end, error = "cut", _failure(exc)
                ended = time.monotonic() - started
        except httpx.TransportError as exc:
            raise Broken(f"{request}: {_failure(exc)}", transport=True) from None
        content = b"".join(chunk for _, chunk in chunks)
        content_type = response.headers.get("content-type", "")
        self.recorder.note(request, response.status_code, response.headers, content)
        answer = Answer(request, response.status_code, response.headers, content, _json(content, content_type))
        return StreamRead(answer, chunks, ended, end, error)
