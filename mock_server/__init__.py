"""nemo-mock: a protocol-faithful emulator of the NemoVideo agent API.

``create_app()`` builds the ASGI application; ``nemo-mock serve`` runs it under uvicorn.
"""

from __future__ import annotations

from ._app import create_app
from ._clock import VirtualClock
from ._config import Config, ConfigError, FaultRule, load_config_file
from ._emulator import Emulator

__all__ = ["Config", "ConfigError", "Emulator", "FaultRule", "VirtualClock", "create_app", "load_config_file"]
