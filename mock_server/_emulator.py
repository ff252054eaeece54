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
from ._disk import Disk
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
        #: The emulator's own files, in a folder of its own under data_dir (see _disk).
        self.disk = Disk(self.data_dir, max_bytes=self.initial_config.max_disk)
        #: How many resets this emulator has been through: identifiers are drawn per epoch, never repeated.
        self.epoch = 0
        self.journal = Journal(self.initial_config.journal_size)
        self._install(self.initial_config, Store(seed))

    def _install(self, config: Config, store: Store) -> None:
        # Everything that could fail is done before anything is assigned: a refused config changes nothing.
        faults = Faults(config.faults, store.ids)
        self.journal.resize(config.journal_size)
        self.config = config
        self.store = store
        self.faults = faults
        self.disk.set_cap(config.max_disk)

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
            self.journal.resize(config.journal_size)
            self.config = config
            self.disk.set_cap(config.max_disk)

    def reset(self) -> None:
        """Back to the state of a fresh start: no tokens, sessions or renders, the start-up config and clock.

        Identifiers are not: the new epoch draws tokens, user, session and file ids that were never issued before.
        Only the emulator's own files are deleted (the data directory may hold other things).
        """
        self.clock.reset(start=self._clock_start)
        self.journal = Journal(self.initial_config.journal_size)
        self.epoch += 1
        self._install(self.initial_config, Store(self.seed, epoch=self.epoch))
        self.disk.renew()

    def expire_sessions(self) -> None:
        """Drop every session that no request has used for ``token_lifetime`` virtual seconds, with the files of
        its uploads and renders (a render output shared with a render of a live session stays)."""
        now, lifetime, store = self.clock.now(), self.config.token_lifetime, self.store
        gone = {sid for sid, session in store.sessions.items() if now - session.last_used >= lifetime}
        if not gone:
            return
        for sid in gone:
            del store.sessions[sid]
        area = self.disk.area
        for file_id, upload in list(store.uploads.items()):
            if upload.session_id in gone:
                del store.uploads[file_id]
                area.delete(upload.path)
        dropped = [key for key, render in store.renders.items() if render.session_id in gone]
        outputs = set()
        for key in dropped:
            render = store.renders.pop(key)
            store.render_urls.pop(render.url_key, None)
            outputs.add(render.output)
        for output in outputs - {render.output for render in store.renders.values()}:
            if output:
                area.delete(area.renders / output)

    def close(self) -> None:
        self.disk.close()
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
        now = self.clock.now()
        if now - session.last_used >= self.config.token_lifetime:
            self.expire_sessions()  # this one and every other idle one: their files are deleted
            raise ProtocolError(Code.SESSION_NOT_FOUND, "session expired")
        session.last_used = now
        return session


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.scope[EMULATOR_KEY]
    return emulator
