"""Continuity between runs and the user's language: the environment, the small state file, language detection.

The one-shot commands of ``nemo-contract`` keep their token and session in a JSON file in the user's config
directory (``$XDG_CONFIG_HOME/nemo-contract/state.json``, else ``~/.config/nemo-contract/state.json``; the
``NEMO_CONTRACT_STATE`` variable or ``--state-file`` point elsewhere), one entry per service URL and skill, so
``upload``, ``say`` and ``export`` run in one session as the documents' agent does. The file holds a token, so
it is written with owner-only permissions; a token that came from ``NEMO_TOKEN`` is never written to it. A file
that cannot be read as JSON is kept beside it as ``state.json.bak`` (and said so) before a new one is started.

This module is light on purpose: the command line imports it before httpx.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import tempfile
import typing
import urllib.parse

from ._exceptions import InvalidBaseURL, LocalFileError
from ._models import Credentials
from .protocol import DEFAULT_LANGUAGE

__all__ = [
    "BASE_URL_ENV",
    "STATE_ENV",
    "TOKEN_ENV",
    "StateFile",
    "bad_base_url",
    "check_base_url",
    "default_state_path",
    "detect_language",
]

#: The service's base URL, and a token to use instead of an anonymous one (both skill documents).
BASE_URL_ENV = "NEMO_API_URL"
TOKEN_ENV = "NEMO_TOKEN"
STATE_ENV = "NEMO_CONTRACT_STATE"

_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[_-]([A-Za-z]{2}))?")


def _shown(url: str) -> str:
    """A URL fit to print: no user:password part, no query (either may hold a secret), at most 80 characters."""
    shown = re.sub(r"\?.*", "?...", re.sub(r"(?<=://)[^/@]*@", "***@", url))
    return shown if len(shown) <= 80 else shown[:77] + "..."


def bad_base_url(url: str, reason: str, *, source: str | None = None) -> InvalidBaseURL:
    """The error for a base URL that cannot be used, in one sentence."""
    origin = f" (from {source})" if source else ""
    return InvalidBaseURL(f"The service URL {_shown(url)!r}{origin} is not valid: {reason}")


def check_base_url(url: str, *, source: str | None = None) -> str:
    """``url`` without a trailing slash when it can be the service's base URL, else ``InvalidBaseURL``.

    ``source`` names where it came from (``NEMO_API_URL``), for the message.
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        reason = "it cannot be read as a URL"
    else:
        if parts.scheme.lower() not in ("http", "https"):
            reason = "it must start with http:// or https://"
        elif not parts.hostname:
            reason = "it has no host name"
        elif parts.query or parts.fragment:
            reason = "a base URL has no query or fragment"
        else:
            return url.strip().rstrip("/")
    raise bad_base_url(url, reason, source=source)


def detect_language(text: str | None = None, environ: typing.Mapping[str, str] | None = None) -> str:
    """The language of the user, for the session: from the script of their words, else the locale, else ``en``.

    Chinese text gives ``zh-CN`` (the code the documents' examples use), kana ``ja``, hangul ``ko``.
    """
    if text:
        if _KANA.search(text):
            return "ja"
        if _HANGUL.search(text):
            return "ko"
        if _HAN.search(text):
            return "zh-CN"
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        match = _LOCALE.match(value)
        if match and value not in ("C", "POSIX"):
            language, region = match.groups()
            if language == "zh":
                return f"zh-{(region or 'CN').upper()}"
            return language
    return DEFAULT_LANGUAGE


def default_state_path(environ: typing.Mapping[str, str] | None = None) -> pathlib.Path:
    env = os.environ if environ is None else environ
    if env.get(STATE_ENV):
        return pathlib.Path(env[STATE_ENV]).expanduser()
    config_home = env.get("XDG_CONFIG_HOME")
    base = pathlib.Path(config_home).expanduser() if config_home else pathlib.Path.home() / ".config"
    return base / "nemo-contract" / "state.json"


class StateFile:
    """Saved credentials, one entry per (service URL, skill source).

    ``warn`` receives one sentence when a damaged file is set aside.
    """

    def __init__(self, path: str | os.PathLike[str], *, warn: typing.Callable[[str], object] | None = None) -> None:
        self.path = pathlib.Path(path)
        self._warn = warn

    @staticmethod
    def _key(base_url: str, source: str) -> str:
        return f"{base_url.rstrip('/')} {source}"

    def _read_all(self) -> dict[str, typing.Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise LocalFileError(f"cannot read the state file {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
        self._set_aside()  # a new token and session are made, and the damaged file is kept for a look
        return {}

    def _set_aside(self) -> None:
        backup = self.path.with_name(self.path.name + ".bak")
        try:
            os.replace(self.path, backup)
        except OSError:
            note = f"the state file {self.path} is damaged and will be replaced"
        else:
            note = f"the state file {self.path} was damaged; it was kept as {backup} and a new one started"
        if self._warn is not None:
            self._warn(note)

    def load(self, base_url: str, source: str) -> Credentials:
        entry = self._read_all().get(self._key(base_url, source))
        return Credentials.from_dict(entry) if isinstance(entry, dict) else Credentials()

    def save(self, base_url: str, source: str, credentials: Credentials) -> None:
        data = self._read_all()
        data[self._key(base_url, source)] = credentials.to_dict()
        self._write(data)

    def forget(self, base_url: str, source: str) -> None:
        data = self._read_all()
        if data.pop(self._key(base_url, source), None) is not None:
            self._write(data)

    def _write(self, data: dict[str, typing.Any]) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=folder)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(data, stream, indent=2, sort_keys=True)
                os.chmod(temp, 0o600)
                os.replace(temp, self.path)
            except BaseException:
                pathlib.Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise LocalFileError(f"cannot write the state file {self.path}: {exc.strerror}") from None
