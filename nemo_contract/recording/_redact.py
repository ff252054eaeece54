"""Redaction: every secret of a session becomes a stable placeholder before anything is written.

A secret is learned where the rules say secrets are (the ``Authorization`` header's token, ``X-Client-Id``,
cookies, the ``token`` and ``user_id`` fields, the ``bind=`` of a register link) or because it looks like one (an
``nmv_..._`` token, a JWT, whatever follows ``Bearer``), plus the headers, fields and patterns the user adds. The
n-th distinct secret of a kind becomes ``<kind#n>`` wherever it appears afterwards: headers, JSON bodies, text,
URLs, stream events. So a recording still shows that the token the first answer gave is the one the fourth request
sent, without holding it.

A value is replaced only where it stands as a whole word (not inside a longer run of letters, digits, ``-`` and
``_``), so a short id never eats into another. ``scan`` is the last guard: after writing, the text must hold no
secret the redactor learned and nothing that looks like a token.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import typing
import urllib.parse

from ..protocol import ME
from ..protocol import fields as f

__all__ = ["DEFAULT_RULES", "Redactor", "Rules", "is_placeholder", "placeholders"]

JSON = typing.Any

#: Letters that make up a token: a secret is replaced only where none of them touch it.
_WORD = r"A-Za-z0-9_\-"
_PLACEHOLDER = re.compile(r"<[a-z][a-z0-9-]*#[0-9]+>")


def is_placeholder(value: str) -> bool:
    return _PLACEHOLDER.fullmatch(value) is not None


def placeholders(text: str) -> list[str]:
    """The placeholders a text holds, in order."""
    return _PLACEHOLDER.findall(text)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rules:
    """Where secrets are, each with the kind its placeholder names: header names (lower case), JSON field
    names, query parameters of URLs, and patterns (group 1, else the whole match, is the secret)."""

    headers: typing.Mapping[str, str]
    fields: typing.Mapping[str, str]
    query: typing.Mapping[str, str]
    patterns: tuple[tuple[re.Pattern[str], str], ...]
    name: str = "default"

    def extended(
        self,
        *,
        headers: typing.Iterable[str] = (),
        fields: typing.Iterable[str] = (),
        patterns: typing.Iterable[str] = (),
        kind: str = "secret",
    ) -> Rules:
        """These rules plus the user's; a bad pattern raises ``re.error``."""
        headers, fields, patterns = list(headers), list(fields), list(patterns)
        if not (headers or fields or patterns):
            return self
        return Rules(
            headers={**self.headers, **{name.lower(): kind for name in headers}},
            fields={**self.fields, **dict.fromkeys(fields, kind)},
            query=self.query,
            patterns=(*self.patterns, *((re.compile(pattern), kind) for pattern in patterns)),
            name=f"{self.name}+user",
        )


DEFAULT_RULES: typing.Final = Rules(
    headers={
        "authorization": "token",
        "proxy-authorization": "token",
        "x-client-id": "client-id",
        "cookie": "cookie",
        "set-cookie": "cookie",
    },
    fields={f.TOKEN: "token", f.USER_ID: "user", f.CLAIM_TOKEN: "claim-token"},
    query={"bind": "user"},
    patterns=(
        (re.compile(rf"(?<![{_WORD}])(nmv_[a-z]+_[A-Za-z0-9_\-]{{12,}})"), "token"),
        (re.compile(r"(?<![A-Za-z0-9_\-.])(eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)"), "token"),
        (re.compile(r"\bBearer\s+([A-Za-z0-9_\-.~+/=]{8,})"), "token"),
    ),
)

_SCHEME = re.compile(r"^(Bearer|Basic|Token)(\s+)(\S.*)$", re.IGNORECASE)


class Redactor:
    """Learns secrets and replaces them, keeping one placeholder per distinct value for the whole recording."""

    def __init__(self, rules: Rules = DEFAULT_RULES) -> None:
        self.rules = rules
        self._placeholders: dict[str, str] = {}  # original (and its URL-quoted form) -> placeholder
        self._originals: dict[str, str] = {}  # placeholder -> original
        self._counts: collections.Counter[str] = collections.Counter()
        self._pattern: re.Pattern[str] | None = None

    @property
    def secrets(self) -> dict[str, str]:
        """Each placeholder and the value it stands for."""
        return dict(self._originals)

    def learn(self, value: str, kind: str) -> str | None:
        """The placeholder of a secret (a new one for a value not seen before); None for a value that is no
        secret: empty, ``me`` (the path segment a turn request also sends as its ``user_id``), or a placeholder."""
        if not value.strip() or value == ME or is_placeholder(value) or "<" in value:
            return None
        known = self._placeholders.get(value)
        if known is not None:
            return known
        self._counts[kind] += 1
        placeholder = f"<{kind}#{self._counts[kind]}>"
        self._originals[placeholder] = value
        self._placeholders[value] = placeholder
        quoted = urllib.parse.quote(value, safe="")
        if quoted != value:
            self._placeholders.setdefault(quoted, placeholder)
        self._pattern = None
        return placeholder

    def reserve(self, text: str) -> None:
        """Number new placeholders after those a text already holds (appending to a cassette)."""
        for placeholder in placeholders(text):
            kind, _, number = placeholder[1:-1].rpartition("#")
            self._counts[kind] = max(self._counts[kind], int(number))

    # -- learning ------------------------------------------------------------------------------------------------

    def _learn_text(self, text: str) -> None:
        for pattern, kind in self.rules.patterns:
            for match in pattern.finditer(text):
                self.learn(match.group(1) if pattern.groups else match.group(0), kind)
        if "=" in text:
            for name, kind in self.rules.query.items():
                for match in re.finditer(rf"[?&]{re.escape(name)}=([^&#\s\"']+)", text):
                    self.learn(urllib.parse.unquote(match.group(1)), kind)

    def _learn_json(self, value: JSON) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                kind = self.rules.fields.get(key)
                if kind is not None and isinstance(item, str):
                    self.learn(item, kind)
                self._learn_json(item)
        elif isinstance(value, list):
            for item in value:
                self._learn_json(item)
        elif isinstance(value, str):
            self._learn_text(value)

    # -- replacing -----------------------------------------------------------------------------------------------

    def _replace(self, text: str) -> str:
        if not self._placeholders:
            return text
        if self._pattern is None:
            values = sorted(self._placeholders, key=len, reverse=True)
            self._pattern = re.compile(rf"(?<![{_WORD}])(?:{'|'.join(map(re.escape, values))})(?![{_WORD}])")
        placeholders = self._placeholders
        return self._pattern.sub(lambda match: placeholders[match.group(0)], text)

    def _replace_json(self, value: JSON) -> JSON:
        if isinstance(value, str):
            return self._replace(value)
        if isinstance(value, dict):
            return {self._replace(key): self._replace_json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._replace_json(item) for item in value]
        return value

    # -- what the recorder calls ---------------------------------------------------------------------------------

    def text(self, text: str) -> str:
        """Free text (a path, a query, an event's data, a text body): learn from it, then replace."""
        self._learn_text(text)
        return self._replace(text)

    def json(self, value: JSON) -> JSON:
        """A JSON value: learn from its fields and strings, then replace in every string (keys too)."""
        self._learn_json(value)
        return self._replace_json(value)

    def event_text(self, text: str, parsed: JSON) -> str:
        """An event's data: learn from its JSON (when it is JSON) and its text, then replace in the text as sent."""
        if parsed is not None:
            self._learn_json(parsed)
        return self.text(text)

    def headers(self, pairs: typing.Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Header pairs: the rules' headers learned whole (a scheme such as ``Bearer`` kept in front), then every
        value replaced."""
        pairs = list(pairs)
        for name, value in pairs:
            kind = self.rules.headers.get(name.lower())
            if kind is None:
                self._learn_text(value)
                continue
            scheme = _SCHEME.match(value)
            self.learn(scheme.group(3) if scheme else value, kind)
        return tuple((name, self._replace(value)) for name, value in pairs)

    def scan(self, text: str) -> list[str]:
        """What is wrong with a written text: each line still holding a learned secret or a token-like value
        (named by its placeholder or kind, never by itself). Empty when it is clean."""
        found: list[str] = []
        originals = sorted(self._originals.items(), key=lambda item: len(item[1]), reverse=True)
        checks = [
            (re.compile(rf"(?<![{_WORD}]){re.escape(value)}(?![{_WORD}])"), f"the value of {placeholder}")
            for placeholder, value in originals
        ]
        checks += [(pattern, f"a value that looks like a {kind}") for pattern, kind in self.rules.patterns[:2]]
        for number, line in enumerate(text.split("\n"), 1):
            for pattern, what in checks:
                if pattern.search(line):
                    found.append(f"line {number} holds {what}")
                    break
        return found
