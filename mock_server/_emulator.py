"""One running emulator: its configuration, clock, state, journal and faults, shared by every handler."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import tempfile

from starlette.requests import Request

from nemo_contract.__version__ import __version__
from nemo_contract.protocol import Code

from ._clock import VirtualClock
from ._config import Config
from ._errors import ProtocolError
from ._faults import Faults
from ._journal import Journal
from ._store import Account, Session, Store, Token

__all__ = ["BEARER_KEY", "EMULATOR_KEY", "Emulator", "emulator_of"]


#: What EmulatorMiddleware leaves in every request's ASGI scope for the handlers, so the work is done once per
#: request: the emulator, and the bearer token sent (None without an Authorization header, "" when the header
#: holds no bearer token).
EMULATOR_KEY = "nemo_mock.emulator"
BEARER_KEY = "nemo_mock.bearer"


class Emulator:
    def __init__(
        self,
        *,
        seed: int = 0,
        config: Config | None = None,
        clock: VirtualClock | None = None,
        data_dir: pathlib.Path | None = None,
    ) -> None:
        self.seed = seed
        self.version = __version__
        self.clock = clock or VirtualClock()
        self._clock_start = self.clock.now()
        self.initial_config = config or Config()
        self._own_data_dir = data_dir is None
        self.data_dir = pathlib.Path(tempfile.mkdtemp(prefix="nemo-mock-")) if data_dir is None else data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.initial_config.journal_size)
        self._install(self.initial_config, Store(seed))

    def _install(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.faults = Faults(config.faults, store.ids)
        self.journal.resize(config.journal_size)

    def current_config(self) -> Config:
        """The configuration in force: fault rules whose ``times`` are used up are gone from it."""
        active = self.faults.active()
        return self.config if active == self.config.faults else dataclasses.replace(self.config, faults=active)

    def set_config(self, config: Config, *, new_faults: bool = True) -> None:
        """Apply a new configuration. New fault rules start counting afresh; with ``new_faults=False`` the
        rules in force keep what they have used up."""
        if new_faults:
            self._install(config, self.store)
        else:
            self.config = config
            self.journal.resize(config.journal_size)

    def reset(self) -> None:
        """Back to the state of a fresh start: no tokens, sessions or renders, the start-up config and clock."""
        self.clock.reset(start=self._clock_start)
        self.journal = Journal(self.initial_config.journal_size)
        self._install(self.initial_config, Store(self.seed))
        for child in ("uploads", "renders", "generated"):
            shutil.rmtree(self.data_dir / child, ignore_errors=True)

    def close(self) -> None:
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- helpers every handler needs ---------------------------------------------------------------------------

    def authenticate(self, request: Request) -> tuple[Token, Account]:
        """The caller's token and account, or 1001."""
        value: str | None = request.scope.get(BEARER_KEY)
        token = self.store.tokens.get(value) if value else None
        if token is None:
            raise ProtocolError(Code.TOKEN_INVALID, "token missing or invalid" if value is None else None)
        if self.clock.now() >= token.expires_at:
            raise ProtocolError(Code.TOKEN_INVALID, "token expired")
        return token, self.store.accounts[token.user_id]

    def own_user(self, token: Token, segment: str | None) -> None:
        """``me`` or the token's own user id; any other user -> 1002, as the documents' session errors."""
        if segment not in (None, "me", token.user_id):
            raise ProtocolError(Code.SESSION_NOT_FOUND, "session not found for this user")

    def session_of(self, token: Token, session_id: str) -> Session:
        session = self.store.sessions.get(session_id)
        if session is None or session.user_id != token.user_id:
            raise ProtocolError(Code.SESSION_NOT_FOUND)
        return session


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.scope[EMULATOR_KEY]
    return emulator
