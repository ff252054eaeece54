"""Test tools for Python integrations of the NemoVideo agent API (the starlette.testclient / respx model).

* ``Emulated``: a fresh emulator in this process, with httpx clients wired to it (no network); ``Served``: the
  same behind a real uvicorn on a free loopback port, for code that opens its own connections or is not Python.
  Both carry the emulator's typed control API as ``.emulator``. ``serve(app)`` runs any ASGI app that way.
* ``StreamingASGITransport`` (async) and ``PortalTransport`` (sync): httpx transports that run an ASGI app
  in-process with bodies streamed as the app sends them, so a ``/run_sse`` turn arrives event by event.

Importing this package costs no starlette or uvicorn: they load when an emulator is made.
"""

from __future__ import annotations

from ._emulated import BASE_URL, START, Clock, Emulated, Served, serve
from ._transport import PortalTransport, StreamingASGITransport

__all__ = [
    "BASE_URL",
    "START",
    "Clock",
    "Emulated",
    "PortalTransport",
    "Served",
    "StreamingASGITransport",
    "serve",
]
