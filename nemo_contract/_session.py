"""Continuity between runs and the user's language: the small state file, and language detection.

The one-shot commands of ``nemo-contract`` keep their token and session in a JSON file in the user's config
directory (``$XDG_CONFIG_HOME/nemo-contract/state.json``, else ``~/.config/nemo-contract/state.json``; the
``NEMO_CONTRACT_STATE`` variable or ``--state-file`` point elsewhere), one entry per service URL and skill, so
``upload``, ``say`` and ``export`` run in one session as the documents' agent does. The file holds a token, so
it is written with owner-only permissions.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import tempfile
import typing

from ._exceptions import LocalFileError
from ._models import Credentials
from ._protocol import DEFAULT_LANGUAGE

__all__ = ["STATE_ENV", "StateFile", "default_state_path", "detect_language"]

STATE_ENV = "NEMO_CONTRACT_STATE"

_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[_-]([A-Za-z]{2}))?")


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
    """Saved credentials, one entry per (service URL, skill source)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)

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
            return {}  # a damaged file is as good as none: a new token and session are made
        return data if isinstance(data, dict) else {}

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
