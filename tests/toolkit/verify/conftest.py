"""Servers for verify to check: the emulator under a real uvicorn, plain or wrapped in a broken server.

The emulator's clock runs in real time, a hundred times fast, and its turns and renders are short: a generation
takes 0.2-0.4 s of real time with a heartbeat every 20 ms, a render 0.1-0.2 s. Real time, because the streaming
check times when each event arrives (on an auto-jumping clock a whole turn plays in a millisecond); short, so
that a verify run takes a second or two.
"""

from __future__ import annotations

import contextlib
import typing

from nemo_contract.testing import Emulated, Served, serve

from .broken import Broken

__all__ = ["FAST", "TIME_SCALE", "broken_server", "emulator_server"]

TIME_SCALE = 100.0
FAST: dict[str, typing.Any] = {
    "turn_durations": {"text": [2, 4], "edit": [4, 8], "generation": [20, 40]},
    "render_duration": [10, 20],
    "heartbeat_interval": 2,
}


@contextlib.contextmanager
def emulator_server(**knobs: typing.Any) -> typing.Iterator[str]:
    """The emulator behind a real uvicorn (``nemo_contract.testing.Served``), its knobs ``FAST`` and ``knobs``."""
    with Served(seed=5, clock="real", time_scale=TIME_SCALE, config={**FAST, **knobs}) as served:
        yield served.url


@contextlib.contextmanager
def broken_server(kind: type[Broken], **knobs: typing.Any) -> typing.Iterator[str]:
    """The emulator wrapped in ``kind``, behind a real uvicorn."""
    emulated = Emulated(seed=5, clock="real", time_scale=TIME_SCALE, config={**FAST, **knobs})
    try:
        with serve(kind(emulated.app)) as url:
            yield url
    finally:
        emulated.close()
