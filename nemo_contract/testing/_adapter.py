"""What ``ClientMachine`` needs of a client: five actions and what the user saw of each (``ClientAdapter``).

An adapter wraps one client of the NemoVideo API, whatever its language, behind five methods that each do what
a user asks (``upload``, ``say``, ``state``, ``credits``, ``export``) and return an ``Outcome``: whether the
client reported success, everything it showed the user (messages, errors and their advice), and for
``credits`` the balance it showed. The machine gives the adapter a ``Wiring``: the emulator's base URL, a
streaming httpx transport to it, and the emulator's clock and a sleep on it (waits cost no real time).

``ReferenceAdapter`` drives this package's own ``Client``; an adapter of another Python client is as short.
The machine runs its emulator in this process, so the client under test is a Python one; a client in another
language is tested against ``Served`` (the ``nemo_server`` fixture) by tests of its own.
"""

from __future__ import annotations

import dataclasses
import pathlib
import typing

if typing.TYPE_CHECKING:
    import httpx

    from .. import Client

__all__ = ["ClientAdapter", "Outcome", "ReferenceAdapter", "Wiring"]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one action showed the user."""

    #: The client reported success (False: it told the user the action failed).
    ok: bool
    #: Everything the user was shown, in order: messages, errors and their advice.
    shown: str = ""
    #: After ``credits``: the balance shown, as (available, frozen, total).
    balance: tuple[int, int, int] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Wiring:
    """How an adapter reaches the machine's emulator."""

    base_url: str
    #: A synchronous httpx transport to the emulator that streams (``Emulated.sync_transport()``).
    transport: httpx.BaseTransport
    #: The emulator's virtual clock (epoch seconds): give it to the client as its clock.
    clock: typing.Callable[[], float]
    #: Waits on that clock (it moves the clock on): give it to the client as its sleep.
    sleep: typing.Callable[[float], None]
    #: A fresh folder of the machine's, for the client's downloads.
    folder: pathlib.Path


@typing.runtime_checkable
class ClientAdapter(typing.Protocol):
    """A client as the machine drives it: each method is what a user asks for, and returns what they saw."""

    def upload(self, path: pathlib.Path) -> Outcome:
        """Upload the local file ``path`` to the session."""
        ...

    def say(self, text: str) -> Outcome:
        """Send ``text`` to the agent (a turn) and relay what comes back."""
        ...

    def state(self) -> Outcome:
        """Show the session's timeline."""
        ...

    def credits(self) -> Outcome:
        """Show the balance; ``Outcome.balance`` holds what was shown."""
        ...

    def export(self) -> Outcome:
        """Render the timeline and download the video."""
        ...

    def close(self) -> None: ...


class ReferenceAdapter:
    """``ClientAdapter`` of this package's ``nemo_contract.Client`` (``options`` go to the client).

    The client's automatic export after a turn is off unless ``auto_export=True`` is passed: the machine asks
    for exports itself.
    """

    def __init__(self, wiring: Wiring, **options: typing.Any) -> None:
        from .. import Client

        self._shown: list[str] = []
        settings: dict[str, typing.Any] = {
            "base_url": wiring.base_url,
            "transport": wiring.transport,
            "clock": wiring.clock,
            "sleep": wiring.sleep,
            "download_dir": wiring.folder,
            "auto_export": False,
            "on_message": lambda message: self._shown.append(message.text),
            **options,
        }
        self.client: Client = Client(**settings)

    def _outcome(self, run: typing.Callable[[], typing.Iterable[str]]) -> Outcome:
        from .. import NemoError

        self._shown.clear()
        try:
            for text in run():
                self._shown.append(text)
        except NemoError as error:
            return Outcome(False, "\n".join([*self._shown, error.user_text()]))
        return Outcome(True, "\n".join(self._shown))

    def upload(self, path: pathlib.Path) -> Outcome:
        return self._outcome(lambda: [item.text for item in self.client.upload(path)])

    def say(self, text: str) -> Outcome:
        return self._outcome(lambda: (message.text for message in self.client.iter_turn(text)))

    def state(self) -> Outcome:
        return self._outcome(lambda: [self.client.state().text])

    def credits(self) -> Outcome:
        shown: list[tuple[int, int, int]] = []

        def run() -> list[str]:
            balance = self.client.credits()
            shown.append((balance.available, balance.frozen, balance.total))
            return [balance.text]

        outcome = self._outcome(run)
        return dataclasses.replace(outcome, balance=shown[0]) if shown else outcome

    def export(self) -> Outcome:
        return self._outcome(lambda: [self.client.export().text])

    def close(self) -> None:
        self.client.close()
