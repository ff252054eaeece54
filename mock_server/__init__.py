"""nemo-mock: a protocol-faithful emulator of the NemoVideo agent API.

``create_app()`` builds the ASGI application; ``nemo-mock serve`` runs it under uvicorn. ``app.state.emulator``
is the ``Emulator``, whose typed control API (``configure``, ``add_faults``, ``set_account``, ``advance``,
``reset``, ``entries``, ``wait_for``) the ``/__mock__`` handlers and the toolkit both use; its journal holds an
``Entry`` per request, and listeners hear of each ``Change``. ``server_config(app)`` is uvicorn's configuration
with the emulator's limits on heads, bodies and idle connections (loaded on first use: uvicorn's protocols are
not needed to build an app).
"""

from __future__ import annotations

import typing

from ._app import create_app
from ._clock import VirtualClock
from ._config import Config, ConfigError, FaultRule, load_config_file, load_preset
from ._emulator import AccountView, Emulator
from ._journal import Change, Entry, StreamEvent

__all__ = [
    "AccountView",
    "Change",
    "Config",
    "ConfigError",
    "Emulator",
    "Entry",
    "FaultRule",
    "StreamEvent",
    "VirtualClock",
    "create_app",
    "load_config_file",
    "load_preset",
    "server_config",
]


def __getattr__(name: str) -> typing.Any:
    if name == "server_config":
        from ._server import server_config

        return server_config
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
