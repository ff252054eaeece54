"""Continuity between runs and the user's language: the environment, the small state file, language detection.

The one-shot commands of ``nemo-contract`` keep their token and session in a JSON file in the user's config
directory (``$XDG_CONFIG_HOME/nemo-contract/state.json``, else ``~/.config/nemo-contract/state.json``; the
``NEMO_CONTRACT_STATE`` variable or ``--state-file`` point elsewhere), one entry per service URL and skill, so
``upload``, ``say`` and ``export`` run in one session as the documents' agent does. The file holds a token, so
it is written with owner-only permissions; a token that came from ``NEMO_TOKEN`` is never written to it. A file
that cannot be read as JSON is kept beside it as ``state.json.bak`` (and said so) before a new one is started.
An entry's service URL is normalised (``service_key``), so ``http://localhost:8000`` and ``http://127.0.0.1:8000/``
are one service; entries written under another spelling of the same URL are still read, and rewritten in the
normal one when saved.

Videos that no command line option places (``-o``) go to the download folder: ``--download-dir``, else
``NEMO_CONTRACT_DOWNLOADS``, else ``$XDG_DATA_HOME/nemo-contract/exports`` (``~/.local/share/...``).

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
    "DOWNLOADS_ENV",
    "STATE_ENV",
    "TOKEN_ENV",
    "StateFile",
    "bad_base_url",
    "check_base_url",
    "default_download_dir",
    "default_state_path",
    "detect_language",
    "service_key",
    "shown_url",
    "user_path",
]

#: The service's base URL, and a token to use instead of an anonymous one (both skill documents).
BASE_URL_ENV = "NEMO_API_URL"
TOKEN_ENV = "NEMO_TOKEN"
STATE_ENV = "NEMO_CONTRACT_STATE"
DOWNLOADS_ENV = "NEMO_CONTRACT_DOWNLOADS"

#: Names of this machine's loopback service: one service, whichever is written.
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[_-]([A-Za-z]{2}))?")


def shown_url(url: str) -> str:
    """A URL fit to print: no user:password part, no query (either may hold a secret), at most 80 characters."""
    shown = re.sub(r"\?.*", "?...", re.sub(r"(?<=://)[^/@]*@", "***@", url))
    return shown if len(shown) <= 80 else shown[:77] + "..."


def bad_base_url(url: str, reason: str, *, source: str | None = None) -> InvalidBaseURL:
    """The error for a base URL that cannot be used, in one sentence."""
    origin = f" (from {source})" if source else ""
    return InvalidBaseURL(f"The service URL {shown_url(url)!r}{origin} is not valid: {reason}")


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


def service_key(url: str) -> str:
    """One spelling of a service's base URL: scheme and host in lower case, ``localhost``, ``127.0.0.1`` and
    ``::1`` as ``127.0.0.1``, no default port, no user:password part, no trailing slash."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip().rstrip("/")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


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


def user_path(path: str | os.PathLike[str]) -> pathlib.Path:
    """``path`` with a leading ``~`` or ``~user`` expanded; one that names no known user is a ``LocalFileError``."""
    try:
        return pathlib.Path(path).expanduser()
    except RuntimeError:  # what pathlib raises for an unknown ~user
        raise LocalFileError(f"cannot find the home folder that {os.fspath(path)} starts with") from None


def default_state_path(environ: typing.Mapping[str, str] | None = None) -> pathlib.Path:
    env = os.environ if environ is None else environ
    if env.get(STATE_ENV):
        return user_path(env[STATE_ENV])
    config_home = env.get("XDG_CONFIG_HOME")
    base = user_path(config_home) if config_home else pathlib.Path.home() / ".config"
    return base / "nemo-contract" / "state.json"


def default_download_dir(environ: typing.Mapping[str, str] | None = None) -> pathlib.Path:
    """Where videos go when nothing says where: ``$XDG_DATA_HOME/nemo-contract/exports`` (or
    ``~/.local/share/nemo-contract/exports``). ``NEMO_CONTRACT_DOWNLOADS`` is read by the command line."""
    env = os.environ if environ is None else environ
    data_home = env.get("XDG_DATA_HOME")
    base = user_path(data_home) if data_home else pathlib.Path.home() / ".local" / "share"
    return base / "nemo-contract" / "exports"


class StateFile:
    """Saved credentials, one entry per (service URL, skill source).

    ``warn`` receives one sentence when a damaged file is set aside.
    """

    def __init__(self, path: str | os.PathLike[str], *, warn: typing.Callable[[str], object] | None = None) -> None:
        self.path = pathlib.Path(path)
        self._warn = warn

    @staticmethod
    def _key(base_url: str, source: str) -> str:
        return f"{service_key(base_url)} {source}"

    @staticmethod
    def _same(key: str, wanted: str) -> bool:
        """Whether an entry's key (perhaps written before keys were normalised) names the ``wanted`` one."""
        url, _, source = key.rpartition(" ")
        return StateFile._key(url, source) == wanted

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
        data, key = self._read_all(), self._key(base_url, source)
        entry = data.get(key)
        if entry is None:  # an entry saved under another spelling of the URL
            entry = next((value for old, value in data.items() if self._same(old, key)), None)
        return Credentials.from_dict(entry) if isinstance(entry, dict) else Credentials()

    def save(self, base_url: str, source: str, credentials: Credentials) -> None:
        data, key = self._read_all(), self._key(base_url, source)
        data = {old: value for old, value in data.items() if not self._same(old, key)}
        data[key] = credentials.to_dict()
        self._write(data)

    def forget(self, base_url: str, source: str) -> None:
        data, key = self._read_all(), self._key(base_url, source)
        kept = {old: value for old, value in data.items() if not self._same(old, key)}
        if kept != data:
            self._write(kept)

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
