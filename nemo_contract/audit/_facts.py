"""What one scenario's run left behind, and the views of it the rules share.

A ``Run`` is the program's traffic as the emulator's journal recorded it (every entry, across a reset too), when
each answer ended, the few JSON answers the rules read (tokens, sessions, renders), and the program's exit status
and output. The helpers name an entry's endpoint, cite it as evidence (``#7 POST /run_sse at +3.21 s``), and find
a failed call's retry and what the program did in between: the vocabulary every rule is written in.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import typing

from ..protocol import ME, PATHS, Code, Header, path_pattern, retry_after_seconds
from ..protocol import fields as f
from ..protocol.shapes import RenderView, read_render

if typing.TYPE_CHECKING:
    from mock_server import Entry

    from ._scenarios import Scenario

__all__ = [
    "FILE_ENDPOINTS",
    "RECOVERABLE",
    "Run",
    "endpoint_of",
    "retry_after_of",
    "session_segment",
    "user_segment",
]

#: Where the emulator serves files: render results (a render's output URL) and uploads or generated media.
_RESULT = re.compile(r"^/render-result/[^/]+/[^/]+\.mp4$")
_FILES = re.compile(r"^/cdn/")
FILE_ENDPOINTS: typing.Final = ("render_result", "cdn_file")


#: (method, endpoint name, path pattern) of every operation; the download path is tried before the poll's.
_ENDPOINTS: typing.Final = tuple(
    (method, name, path_pattern(template))
    for method, name, template in (
        ("POST", "anonymous_token", PATHS.anonymous_token),
        ("POST", "create_session", PATHS.create_session),
        ("POST", "run_sse", PATHS.run_sse),
        ("POST", "upload", PATHS.upload),
        ("GET", "credits", PATHS.credits),
        ("GET", "state", PATHS.state),
        ("POST", "render_start", PATHS.render_start),
        ("POST", "render_cancel", PATHS.render_cancel),
        ("GET", "render_download", PATHS.render_download),
        ("GET", "render_poll", PATHS.render_poll),
    )
)

#: Codes after which the documents say to recover and retry once.
RECOVERABLE: typing.Final = frozenset({Code.TOKEN_INVALID, Code.SESSION_NOT_FOUND, Code.RATE_LIMITED})
#: Calls a client makes while it recovers, before it retries: they do not end the search for the retry.
_SETUP: typing.Final = frozenset({"anonymous_token", "create_session", "state", "credits", "upload"})


def endpoint_of(method: str, path: str) -> str | None:
    """The operation a request is (``run_sse``, ``render_poll``...), ``render_result``/``cdn_file`` for the files
    the emulator serves, or None for anything else."""
    for wanted, name, pattern in _ENDPOINTS:
        if method == wanted and pattern.fullmatch(path):
            return name
    if method == "GET" and _RESULT.match(path):
        return "render_result"
    if method == "GET" and _FILES.match(path):
        return "cdn_file"
    return None


def _segment(path: str, name: str) -> str | None:
    for _, _, pattern in _ENDPOINTS:
        match = pattern.fullmatch(path)
        if match and name in pattern.groupindex:
            return match[name]
    return None


def user_segment(path: str) -> str | None:
    """The ``{user}`` segment of a path that has one (``me`` or a user id)."""
    return _segment(path, "user")


def session_segment(path: str) -> str | None:
    return _segment(path, "session_id")


def retry_after_of(entry: Entry) -> float:
    """The wait a 429 asked for: its ``Retry-After`` in seconds (an HTTP date is read too), else 30."""
    wanted = Header.RETRY_AFTER.value.lower().encode("latin-1")
    value = next((v for name, v in entry.response_headers if name.lower() == wanted), b"")
    return retry_after_seconds(value.decode("latin-1"), now=entry.real_time)


@dataclasses.dataclass(eq=False)  # no slots: the views below are cached on the instance
class Run:
    """One scenario's run of the program: its traffic and its output."""

    scenario: Scenario
    command: tuple[str, ...]
    entries: list[Entry]
    ended: dict[Entry, float]  # the real time each answer ended at
    answers: dict[Entry, bytes]  # the JSON answers the rules read (token, session, render start and poll)
    digests: dict[Entry, str]  # the SHA-256 of small JSON bodies, read in front of the emulator
    started: float  # real time the program was started
    finished: float  # real time it exited or was stopped
    exit_status: int | None  # None when it was stopped at the timeout
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)  # what the triggers did, entries left out
    original: Run | None = None  # for an always200 twin: the http scenario's run it is compared with

    # -- citing --------------------------------------------------------------------------------------------------

    @functools.cached_property
    def _numbers(self) -> dict[Entry, int]:
        return {entry: number for number, entry in enumerate(self.entries, 1)}

    def number(self, entry: Entry) -> int:
        """An entry's number in this run (the journal's ``seq`` unless the emulator was reset mid-run)."""
        return self._numbers[entry]

    def at(self, moment: float) -> str:
        return f"+{moment - self.started:.2f} s"

    def cite(self, entry: Entry) -> str:
        path = entry.path if len(entry.path) <= 70 else entry.path[:67] + "..."
        return f"#{self.number(entry)} {entry.method} {path} at {self.at(entry.real_time)}"

    def numbers(self, entries: typing.Iterable[Entry]) -> str:
        return ", ".join(f"#{self.number(e)}" for e in entries)

    def answer_text(self, entry: Entry) -> str:
        """How an entry was answered, briefly: ``code 1001 (HTTP 401)``, ``HTTP 200``."""
        if entry.code is not None:
            return f"code {entry.code} (HTTP {entry.status})"
        return f"HTTP {entry.status}"

    # -- reading -------------------------------------------------------------------------------------------------

    @functools.cached_property
    def _kinds(self) -> dict[Entry, str | None]:
        return {entry: endpoint_of(entry.method, entry.path) for entry in self.entries}

    def endpoint(self, entry: Entry) -> str | None:
        return self._kinds[entry]

    def api(self) -> list[Entry]:
        """The program's API requests (files served by the emulator aside)."""
        return [e for e in self.entries if self.endpoint(e) not in (None, *FILE_ENDPOINTS)]

    def of(self, *endpoints: str) -> list[Entry]:
        return [e for e in self.entries if self.endpoint(e) in endpoints]

    def after(self, entry: Entry) -> list[Entry]:
        """Every entry recorded after ``entry``."""
        return self.entries[self.number(entry) :]

    def digest(self, entry: Entry) -> str | None:
        """The SHA-256 of a request's body: ours (read in front of the emulator, so a body a fault rule left
        unread has one too), else the journal's."""
        return self.digests.get(entry) or entry.body_sha256

    def size(self, entry: Entry) -> int | None:
        """A request body's size: as received, else as its Content-Length said (a fault may leave it unread)."""
        if entry.request_size:
            return entry.request_size
        length = entry.header("content-length")
        return int(length) if length and length.isdigit() else None

    def ended_at(self, entry: Entry) -> float | None:
        return self.ended.get(entry)

    def data(self, entry: Entry) -> dict[str, typing.Any] | None:
        """The ``data`` object of a kept answer with code 0, else None."""
        body = self.json(entry)
        if body is None or body.get(f.CODE) != Code.SUCCESS:
            return None
        data = body.get(f.DATA)
        return data if isinstance(data, dict) else None

    def json(self, entry: Entry) -> dict[str, typing.Any] | None:
        raw = self.answers.get(entry)
        if not raw:
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def render(self, entry: Entry) -> RenderView | None:
        """A render start's or poll's answer, read in either shape (None when it was an error or not kept)."""
        body = self.json(entry)
        if body is None or (f.CODE in body and body.get(f.CODE) != Code.SUCCESS):
            return None
        view = read_render(body)
        return view if view.status is not None else None

    @functools.cached_property
    def issued(self) -> list[tuple[Entry, str, str | None]]:
        """(token request, token, user id) of every token the program was given."""
        found = []
        for entry in self.of("anonymous_token"):
            data = self.data(entry)
            token = data.get(f.TOKEN) if data else None
            if isinstance(token, str) and token:
                user = data.get(f.USER_ID) if data else None
                found.append((entry, token, user if isinstance(user, str) else None))
        return found

    @functools.cached_property
    def tokens(self) -> set[str]:
        """Every token the program was given or sent."""
        return {token for _, token, _ in self.issued} | {e.token for e in self.entries if e.token}

    @functools.cached_property
    def user_ids(self) -> set[str]:
        return {user for _, _, user in self.issued if user} | {e.user_id for e in self.entries if e.user_id}

    # -- errors and their retries --------------------------------------------------------------------------------

    def recoverable(self, entry: Entry) -> bool:
        """An answer the documents say to recover from and retry once: 1001 on a call that sent a token, 1002 on a
        call for the program's own user, 429. (A 1001 for a missing token, or a 1002 for another user's path, is
        the request's own fault: the bearer and own-user rules judge those.)"""
        if entry.code == Code.TOKEN_INVALID:
            return entry.token is not None and self.endpoint(entry) != "anonymous_token"
        if entry.code == Code.SESSION_NOT_FOUND:
            return self.own_path(entry)
        return entry.code == Code.RATE_LIMITED

    def own_path(self, entry: Entry) -> bool:
        """Whether the path names ``me`` or the program's own user (or has no user in it)."""
        user = user_segment(entry.path)
        if user is None or user == ME or user == entry.user_id:
            return True
        return entry.user_id is None and user in self.user_ids  # a token the server forgot: its user was ours

    def retry_of(self, entry: Entry) -> Entry | None:
        """The failed call sent again: the next request to the same operation, with only setup calls (token,
        session, state, credits, uploads) in between; None when the program moved on or stopped."""
        kind = self.endpoint(entry)
        for later in self.after(entry):
            other = self.endpoint(later)
            if other == kind:
                return later
            if other not in _SETUP:
                return None
        return None

    def between(self, entry: Entry) -> list[Entry]:
        """What the program sent after a failed call and before its retry (up to where it moved on, or the end)."""
        retry = self.retry_of(entry)
        kind = self.endpoint(entry)
        found = []
        for later in self.after(entry):
            if later is retry or (retry is None and self.endpoint(later) not in _SETUP - {kind}):
                break
            found.append(later)
        return found

    def is_retry(self, entry: Entry) -> bool:
        """Whether this request is the retry of an earlier call that failed recoverably."""
        return entry in self._retries

    @functools.cached_property
    def _retries(self) -> set[Entry]:
        """Every retry of a call that failed recoverably, found once (rules ask ``is_retry`` inside their loops)."""
        return {retry for e in self.entries if self.recoverable(e) and (retry := self.retry_of(e)) is not None}

    @functools.cached_property
    def recovery(self) -> set[Entry]:
        """Token and session requests made to recover from a 1001 (both) or a 1002 (sessions): the after-1001 and
        after-1002 rules judge those, the reuse rules every other."""
        found: set[Entry] = set()
        for entry in self.entries:
            if not self.recoverable(entry) or entry.code == Code.RATE_LIMITED:
                continue
            wanted = {"create_session"} | ({"anonymous_token"} if entry.code == Code.TOKEN_INVALID else set())
            found |= {e for e in self.between(entry) if self.endpoint(e) in wanted}
        return found

    # -- the output ----------------------------------------------------------------------------------------------

    def lines(self) -> list[tuple[str, int, str]]:
        """(stream, line number, text) of every line the program printed."""
        return [
            (name, number, line)
            for name, text in (("stdout", self.stdout), ("stderr", self.stderr))
            for number, line in enumerate(text.splitlines(), 1)
        ]
