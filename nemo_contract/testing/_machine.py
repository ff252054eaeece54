"""``ClientMachine``: a Hypothesis state machine that drives a client against the emulator and checks the protocol.

Rules are what a user does (upload, say, state, credits, export, through a ``ClientAdapter``) and what the
protocol allows to happen at any moment between two of them: the token expires, the session is lost, both
(a week idle), the server forgets everything (reset), 429 with Retry-After, a silent close, a mid-stream error,
a cut stream, no credits left, a plan that blocks export, any knob switch. After each user action the action's
requests (the journal) and what the user saw are held to the model of ``_model`` (its docstring lists the rules).

A failure shows the steps that led to it (the emulator's seed is the first step's argument), the broken rule, and
the requests of the failing action; with the project's Hypothesis profile (``print_blob=True``) also the
``@reproduce_failure`` line that replays it. Subclass it to drive your own client::

    class MyClientMachine(ClientMachine):
        def make_adapter(self, wiring: Wiring) -> ClientAdapter:
            return MyAdapter(base_url=wiring.base_url, transport=wiring.transport, sleep=wiring.sleep)

    TestMyClient = MyClientMachine.TestCase
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import struct
import tempfile
import typing
import zlib

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from ._adapter import ClientAdapter, Outcome, ReferenceAdapter, Wiring
from ._model import check_action
from ._report import journal_text
from .strategies import knob_sets, user_messages

if typing.TYPE_CHECKING:
    from mock_server import Entry

    from ._emulated import Emulated

__all__ = ["ClientMachine", "ProtocolViolation", "png_bytes"]


class ProtocolViolation(AssertionError):
    """A client broke a rule of the documents; the message names the rule and shows the action's requests."""


def png_bytes(width: int = 64, height: int = 36) -> bytes:
    """A small, valid, grey PNG: an upload the emulator accepts (as an image), made without any library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


#: The files ``upload`` draws from: a picture the API accepts, a text file it refuses by name, and a fake (text
#: named like a video) it refuses by content.
_FILES = {"picture": ("still.png", png_bytes()), "text": ("notes.txt", b"not a video\n"), "fake": ("fake.mp4", b"x")}
_RATE_LIMITED = ("/api/state/*", "/run_sse", "/api/credits/*", "/api/upload-video/*", "/api/render/*")


def _defaults() -> settings:
    """25 examples of at most 20 steps, no deadline (a turn takes a few milliseconds, an export tens), and the
    ``@reproduce_failure`` line printed with a failure."""
    return settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


class ClientMachine(RuleBasedStateMachine):
    """Drives the reference client (override ``make_adapter`` for another) against a fresh emulator per example.

    Every subclass's ``TestCase`` starts with the defaults of ``_defaults`` (Hypothesis would give it 100
    examples of 50 steps); assign ``MyMachine.TestCase.settings``, or put ``@settings(...)`` on the subclass,
    to change them.
    """

    def __init_subclass__(cls, **kwargs: typing.Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TestCase.settings = _defaults()

    def make_adapter(self, wiring: Wiring) -> ClientAdapter:
        """The client under test; the default is the reference client."""
        return ReferenceAdapter(wiring)

    # -- life -----------------------------------------------------------------------------------------------------

    @initialize(seed=st.integers(0, 2**32 - 1))
    def start(self, seed: int) -> None:
        from ._emulated import Emulated

        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="nemo-machine-"))
        self.emulated: Emulated = Emulated(seed=seed, clock="auto", data_dir=self.folder / "emulator")
        emulator = self.emulated.emulator
        wiring = Wiring(
            base_url=self.emulated.base_url,
            transport=self.emulated.sync_transport(),
            clock=emulator.clock.now,
            sleep=self.sleep,
            folder=self.folder,
        )
        self.adapter = self.make_adapter(wiring)
        #: Every token the client sent: none may ever be shown to the user.
        self.tokens: set[str] = set()
        #: The client's user, as the journal names it (None until it has one, and after a reset).
        self.user_id: str | None = None

    def teardown(self) -> None:
        adapter = getattr(self, "adapter", None)
        if adapter is not None:
            adapter.close()
        emulated = getattr(self, "emulated", None)
        if emulated is not None:
            emulated.close()
        folder = getattr(self, "folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def sleep(self, seconds: float) -> None:
        """The client's sleep: moves the emulator's clock on (no real time passes)."""
        self.emulated.call(self.emulated.emulator.advance, max(0.0, seconds))

    # -- the user's actions ---------------------------------------------------------------------------------------

    def _act(self, name: str, run: typing.Callable[[], Outcome]) -> Outcome:
        emulator = self.emulated.emulator
        since = self.emulated.call(lambda: emulator.journal.next_seq)
        outcome = run()
        entries: list[Entry] = self.emulated.call(emulator.entries, since=since)
        self.tokens |= {e.token for e in entries if e.token}
        users = [e.user_id for e in entries if e.user_id]
        if users:
            self.user_id = users[-1]
        problems = check_action(entries, outcome, tokens=self.tokens)
        if problems:
            shown = "\n  ".join(outcome.shown.splitlines()) or "(nothing)"
            text = "\n".join(
                [
                    f"{name}: the client broke the protocol:",
                    *(f"- {problem}" for problem in problems),
                    f"The user saw ({'success' if outcome.ok else 'failure'}):\n  {shown}",
                    f"The action's requests:\n{journal_text(entries)}",
                ]
            )
            raise ProtocolViolation(text)
        return outcome

    def _say(self, text: str) -> None:
        self._act(f"say {text!r}", lambda: self.adapter.say(text))

    @rule(text=user_messages(routing=False, kind="generation"))
    def generate(self, text: str) -> None:
        self._say(text)

    @rule(text=user_messages(routing=False, kind="edit"))
    def edit(self, text: str) -> None:
        self._say(text)

    @rule(text=user_messages(routing=False, kind="chat"))
    def chat(self, text: str) -> None:
        self._say(text)

    @rule(kind=st.sampled_from(sorted(_FILES)))
    def upload(self, kind: str) -> None:
        name, content = _FILES[kind]
        path = self.folder / name
        path.write_bytes(content)
        self._act(f"upload {name}", lambda: self.adapter.upload(path))

    @rule()
    def state(self) -> None:
        self._act("state", self.adapter.state)

    @rule()
    def credits(self) -> None:
        self._act("credits", self.adapter.credits)

    @rule()
    def export(self) -> None:
        self._act("export", self.adapter.export)

    # -- what the protocol allows to happen between them ----------------------------------------------------------

    def _account(self, **changes: typing.Any) -> None:
        user_id = self.user_id
        assert user_id is not None

        def change() -> None:
            with contextlib.suppress(KeyError):  # the user is gone (a reset happened since): nothing to change
                self.emulated.emulator.set_account(user_id, **changes)

        self.emulated.call(change)

    @precondition(lambda self: self.user_id is not None)
    @rule()
    def expire_token(self) -> None:
        """The token expires (the same client id gets a new one for the same user)."""
        self._account(expires_at=self.emulated.emulator.clock.now())

    @precondition(lambda self: self.user_id is not None)
    @rule()
    def lose_session(self) -> None:
        """The session expires, unused for the token lifetime, while the token stays valid."""
        emulator = self.emulated.emulator
        lifetime = emulator.config.token_lifetime
        self._account(expires_at=emulator.clock.now() + 10 * lifetime)
        self.sleep(lifetime)

    @rule()
    def idle_for_the_token_lifetime(self) -> None:
        """Nothing happens for the token lifetime (7 days): token and session both expire."""
        self.sleep(self.emulated.emulator.config.token_lifetime)

    @rule()
    def forget_everything(self) -> None:
        """``POST /__mock__/reset``: no tokens, users, sessions or renders any more."""
        self.emulated.call(self.emulated.emulator.reset)
        self.user_id = None

    @rule(path=st.sampled_from(_RATE_LIMITED), times=st.integers(1, 2))
    def rate_limit(self, path: str, times: int) -> None:
        """The next ``times`` requests to ``path`` are answered 429 with Retry-After."""
        self.emulated.call(self.emulated.emulator.add_faults, {"path": path, "code": 429, "times": times})

    @rule(after=st.integers(0, 4))
    def cut_next_stream(self, after: int) -> None:
        """The next turn's stream closes after ``after`` events, without an error."""
        self.emulated.call(self.emulated.emulator.add_faults, {"path": "/run_sse", "cut_after": after, "times": 1})

    @rule(after=st.integers(0, 3))
    def fail_next_stream(self, after: int) -> None:
        """The next turn's stream ends with ``data: {"error": ...}`` after ``after`` events."""
        self.emulated.call(self.emulated.emulator.add_faults, {"path": "/run_sse", "error_after": after, "times": 1})

    @rule(rate=st.sampled_from((0.0, 1.0)))
    def silent_edits(self, rate: float) -> None:
        """Edits close their stream without any text (rate 1), or always say something (rate 0)."""
        self.emulated.call(lambda: self.emulated.emulator.configure(silent_close_rate=rate))

    @precondition(lambda self: self.user_id is not None)
    @rule()
    def run_out_of_credits(self) -> None:
        self._account(available=0)

    @precondition(lambda self: self.user_id is not None)
    @rule(allowed=st.booleans())
    def plan_allows_export(self, allowed: bool) -> None:
        """The user's plan blocks export (402), or allows it again."""
        self._account(export_allowed=allowed)

    @rule(knobs=knob_sets())
    def switch_knobs(self, knobs: dict[str, typing.Any]) -> None:
        self.emulated.call(lambda: self.emulated.emulator.configure(**knobs))


ClientMachine.TestCase.settings = _defaults()
