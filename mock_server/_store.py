"""The emulator's state: accounts and credits, tokens, sessions, renders, and seeded identifiers.

Every random choice is drawn from a ``random.Random`` derived from the one seed and a key naming what it is for
(``ids.rng("turn", session_id, 3)``), so the draws of one session never depend on how requests of other sessions
interleave with it.

Identifiers (tokens, user, session, task and file ids, render URL keys) come from a stream keyed by the seed *and*
the epoch: the number of resets the emulator has been through. Two emulators with the same seed issue the same
identifiers, so a seeded test repeats exactly, but a reset never issues again an identifier issued before it.
With a known seed the identifiers are predictable (which is what a repeatable test wants); ``nemo-mock serve``
without ``--seed`` draws a fresh random seed, so nobody can guess another user's token, session or file.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import pathlib
import random
import string
import typing

from nemo_contract.protocol import Code, register_url
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import Balance, balance, empty_state

from ._errors import ProtocolError

__all__ = ["Account", "Ids", "Render", "Session", "Store", "Token", "Upload"]

_ALNUM = string.ascii_letters + string.digits


class Ids:
    """Random draws that follow from the seed alone, and identifiers that follow from the seed and the epoch."""

    def __init__(self, seed: int, epoch: int = 0) -> None:
        self.seed = seed
        self.epoch = epoch
        self._counters: dict[str, int] = {}

    def rng(self, *key: object) -> random.Random:
        digest = hashlib.sha256(repr((self.seed, *key)).encode()).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    def _next(self, kind: str) -> random.Random:
        n = self._counters.get(kind, 0)
        self._counters[kind] = n + 1
        # The first epoch keeps the key it always had, so seeded runs keep their identifiers.
        return self.rng("id", kind, n) if self.epoch == 0 else self.rng("id", self.epoch, kind, n)

    def token(self) -> str:
        rng = self._next("token")
        return "nmv_usr_" + "".join(rng.choices(_ALNUM + "-_", k=40))

    def claim_token(self) -> str:
        rng = self._next("claim")
        return "clm_" + "".join(rng.choices(_ALNUM, k=32))

    def user_id(self) -> str:
        return f"anon_{self._next('user').getrandbits(64):016x}"

    def session_id(self) -> str:
        return str(self._next("session").randrange(10**18, 10**19))

    def task_id(self) -> str:
        return f"task_{self._next('task').getrandbits(64):016x}"

    def file_id(self) -> str:
        return f"f_{self._next('file').getrandbits(128):032x}"

    def render_key(self) -> str:
        """The unguessable part of a render's public result URL."""
        return f"{self._next('render').getrandbits(128):032x}"


@dataclasses.dataclass(slots=True)
class Account:
    user_id: str
    available: int
    frozen: int = 0
    export_allowed: bool = True
    registered: bool = False

    def to_dict(self) -> Balance:
        return balance(self.available, self.frozen)

    def freeze(self, cost: int) -> None:
        """Reserve a turn's cost, or refuse with 2001 (with the register link for anonymous users)."""
        if cost > self.available:
            data = None if self.registered else {f.REGISTER_URL: register_url(self.user_id)}
            raise ProtocolError(Code.INSUFFICIENT_CREDITS, data=data)
        self.available -= cost
        self.frozen += cost

    def consume(self, cost: int) -> None:
        self.frozen -= min(cost, self.frozen)

    def refund(self, cost: int) -> None:
        cost = min(cost, self.frozen)
        self.frozen -= cost
        self.available += cost


@dataclasses.dataclass(slots=True)
class Token:
    value: str
    user_id: str
    client_id: str
    issued_at: float
    expires_at: float


@dataclasses.dataclass(slots=True)
class Session:
    session_id: str
    task_id: str
    task_name: str
    language: str | None
    user_id: str
    state: dict[str, typing.Any] = dataclasses.field(default_factory=lambda: dict(empty_state()))
    turns: int = 0
    busy: bool = False
    last_used: float = 0.0  # virtual time of the last request that used the session (it expires after that)


@dataclasses.dataclass(slots=True)
class Render:
    render_id: str
    user_id: str
    session_id: str
    draft: dict[str, typing.Any]
    created_at: float
    duration: float  # virtual seconds from start to completion
    failure: str | None = None  # "invalid draft" or an injected error: fails shortly after the start
    cancelled_at: float | None = None
    output_size: int | None = None
    url_key: str = ""  # the unguessable path segment of the public result URL
    output: str = ""  # the name of the output file (shared by renders of the same content)


@dataclasses.dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded file the emulator serves at its cdn_url."""

    path: pathlib.Path
    filename: str
    session_id: str


class Store:
    """All mutable state of one emulator; ``reset`` is replacing it with a new one."""

    def __init__(self, seed: int, *, epoch: int = 0) -> None:
        self.ids = Ids(seed, epoch)
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, Token] = {}
        #: Each token's number in the order issued, for the journal to name it without showing it.
        self.token_numbers: dict[str, int] = {}
        self.client_tokens: dict[str, Token] = {}
        self.sessions: dict[str, Session] = {}
        self.renders: dict[tuple[str, str], Render] = {}  # (user id, render id) -> render
        self.render_urls: dict[str, Render] = {}  # url key -> render
        self.issued_by_ip: dict[str, list[float]] = {}
        self.asked_by_client: dict[str, list[float]] = {}
        self.requests_by_token: dict[str, list[float]] = {}
        self.uploads: dict[str, Upload] = {}  # file id -> the stored file
        self.generated: dict[str, dict[str, typing.Any]] = {}  # generated media id -> its state entry

    def apply(self, session: Session, delta: typing.Mapping[str, typing.Any]) -> None:
        """A turn's state change lands: the keys it names replace the session's, new media become servable."""
        session.state.update(copy.deepcopy(dict(delta)))
        for media in delta.get(f.GENERATED_MEDIA, []):
            self.generated[media[f.ID]] = media
