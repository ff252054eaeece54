"""One running emulator: its configuration, clock, state, journal and faults, and the typed control API.

The control API (``configure``, ``add_faults``, ``clear_faults``, ``set_account``, ``advance``, ``reset``,
``entries``, ``wait_for``) is what the ``/__mock__`` handlers go through, and what the toolkit (the pytest plugin,
``audit``) uses in-process: one way to drive the emulator, whether over HTTP or from Python.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import pathlib
import shutil
import tempfile
import typing

from starlette.requests import Request

from nemo_contract.__version__ import __version__
from nemo_contract.protocol import ME, Code

from ._clock import VirtualClock, iso8601
from ._config import Config, FaultRule
from ._disk import Disk
from ._errors import ProtocolError
from ._faults import Faults
from ._journal import Entry, Journal, Query
from ._store import Account, Session, Store, Token

__all__ = ["BEARER_KEY", "EMULATOR_KEY", "AccountView", "Emulator", "emulator_of"]

#: What EmulatorMiddleware leaves in every request's ASGI scope for the handlers, so the work is done once per
#: request: the emulator, and the bearer token sent (None without an Authorization header, "" when the header
#: holds no bearer token).
EMULATOR_KEY = "nemo_mock.emulator"
BEARER_KEY = "nemo_mock.bearer"


class AccountView(typing.TypedDict):
    """An account as the control plane shows it."""

    user_id: str
    available: int
    frozen: int
    total: int
    export_allowed: bool
    registered: bool
    expires_at: str | None


class Emulator:
    def __init__(
        self,
        *,
        seed: int = 0,
        config: Config | None = None,
        clock: VirtualClock | None = None,
        data_dir: pathlib.Path | None = None,
        seed_shown: bool = True,
    ) -> None:
        self.seed = seed
        #: Whether health tells the seed: not when it was drawn at random, since ids follow from it (a server
        #: shared by several users must not let one compute another's token).
        self.seed_shown = seed_shown
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
        self._stopping = False
        #: Turns that go on without their client (knob on_disconnect=continue), so they are not collected.
        self._detached: set[asyncio.Task[None]] = set()
        self._install(self.initial_config, Store(seed))

    def _install(self, config: Config, store: Store) -> None:
        # Everything that could fail is done before anything is assigned: a refused config changes nothing.
        faults = Faults(config.faults, store.ids)
        self.journal.resize(config.journal_size)
        self.config = config
        self.store = store
        self.faults = faults
        self.disk.set_cap(config.max_disk)

    # -- the control API ------------------------------------------------------------------------------------------

    def current_config(self) -> Config:
        """The configuration in force: fault rules whose ``times`` are used up are gone from it."""
        active = self.faults.active()
        return self.config if active == self.config.faults else dataclasses.replace(self.config, faults=active)

    def configure(self, **knobs: typing.Any) -> Config:
        """Change knobs (as ``PUT /__mock__/config`` does): named knobs replace, the two tables merge by key.

        ``faults=[...]`` replaces the rules, which then count afresh; without it, the rules in force keep what they
        have used up. A bad value raises ``ConfigError`` and changes nothing.
        """
        config = self.current_config().merged(knobs)
        self.set_config(config, new_faults="faults" in knobs)
        return self.current_config()

    def set_config(self, config: Config, *, new_faults: bool = True) -> None:
        """Apply a whole configuration (fault rules count afresh unless ``new_faults=False``)."""
        if new_faults:
            self._install(config, self.store)
        else:
            self.journal.resize(config.journal_size)
            self.config = config
            self.disk.set_cap(config.max_disk)

    def add_faults(self, *rules: FaultRule | typing.Mapping[str, typing.Any]) -> None:
        """Add fault rules after those in force (which keep what they have used up); new ones count afresh."""
        kept = [rule.to_dict() for rule in self.current_config().faults]
        added = [rule.to_dict() if isinstance(rule, FaultRule) else dict(rule) for rule in rules]
        self.configure(faults=[*kept, *added])

    def clear_faults(self) -> None:
        self.configure(faults=[])

    def set_account(
        self,
        user_id: str,
        *,
        available: int | None = None,
        frozen: int | None = None,
        export_allowed: bool | None = None,
        registered: bool | None = None,
        expires_at: float | None = None,
    ) -> AccountView:
        """Change an existing account (and when its tokens expire); returns it. Unknown users: ``KeyError``."""
        account = self.store.accounts[user_id]
        for name, value in (
            ("available", available),
            ("frozen", frozen),
            ("export_allowed", export_allowed),
            ("registered", registered),
        ):
            if value is not None:
                setattr(account, name, value)
        tokens = [t for t in self.store.tokens.values() if t.user_id == user_id]
        if expires_at is not None:
            for token in tokens:
                token.expires_at = expires_at
        latest = max((t.expires_at for t in tokens), default=None)
        return AccountView(
            user_id=user_id,
            **account.to_dict(),
            export_allowed=account.export_allowed,
            registered=account.registered,
            expires_at=None if latest is None else iso8601(latest),
        )

    def advance(self, seconds: float) -> float:
        """Move virtual time forward (``ValueError`` for a negative or infinite amount); returns the new time."""
        return self.clock.advance(seconds)

    def reset(self) -> None:
        """Back to the state of a fresh start: no tokens, sessions or renders, the start-up config and clock.

        Identifiers are not: the new epoch draws tokens, user, session and file ids that were never issued before.
        Only the emulator's own files are deleted (the data directory may hold other things).
        """
        for task in list(self._detached):
            task.cancel()
        self.clock.reset(start=self._clock_start)
        self.journal.clear()
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

    def entries(self, **query: typing.Unpack[Query]) -> list[Entry]:
        """Journal entries, oldest first (``Query`` says what each key selects)."""
        return self.journal.find(**query)

    async def wait_for(self, seconds: float, **query: typing.Unpack[Query]) -> list[Entry]:
        """The entries ``entries(**query)`` finds, waiting up to ``seconds`` (real) for a first one; the server
        stopping ends the wait with what there is."""
        return await self.journal.wait_for(seconds, stop=self.stopping, **query)

    def health(self) -> dict[str, typing.Any]:
        return dict(
            status="ok",
            version=self.version,
            seed=self.seed if self.seed_shown else None,
            time_scale=self.clock.time_scale,
            now=iso8601(self.clock.now()),
        )

    # -- life ---------------------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """The server is stopping: long-polls and fault latencies end at once (each answers as it can)."""
        self._stopping = True
        self.clock.wake()
        self.journal.notify_all()

    def stopping(self) -> bool:
        return self._stopping

    def detach(self, task: asyncio.Task[None]) -> None:
        """Keep a turn that goes on without its client until it ends."""
        self._detached.add(task)
        task.add_done_callback(self._detached.discard)

    def close(self, *, files: bool = True) -> None:
        """Stop the turns that go on without a client and delete the emulator's files; with ``files=False`` they
        stay under ``data_dir`` for its owner to delete (the pytest plugin does it off the test's path)."""
        for task in list(self._detached):
            task.cancel()
        if not files:
            self.disk.release()
            return
        self.disk.close()
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- helpers every handler needs ------------------------------------------------------------------------------

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
        if segment not in (None, ME, token.user_id):
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


def parse_time(value: str) -> float:
    """An ISO-8601 time (``Z`` or an offset; UTC when it has none) as epoch seconds; ``ValueError`` if not one."""
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()
