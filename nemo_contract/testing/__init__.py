"""Test tools for Python integrations of the NemoVideo agent API (the starlette.testclient / respx model).

* ``Emulated``: a fresh emulator in this process, with httpx clients wired to it (no network); ``Served``: the
  same behind a real uvicorn on a free loopback port, for code that opens its own connections or is not Python.
  Both carry the emulator's typed control API as ``.emulator``. ``serve(app)`` runs any ASGI app that way.
* ``StreamingASGITransport`` (async) and ``PortalTransport`` (sync): httpx transports that run an ASGI app
  in-process with bodies streamed as the app sends them, so a ``/run_sse`` turn arrives event by event.
* The pytest plugin (``nemo_contract.testing.plugin``, registered by the package's ``pytest11`` entry point): the
  fixtures ``nemo_emulator``, ``nemo_server`` and ``nemo_routes``, the ``nemo`` marker, ``--nemo-seed``.
* ``nemo_contract.testing.strategies``: Hypothesis strategies for what integrators generate.
* ``ClientMachine``: a Hypothesis state machine that drives any client through a small adapter
  (``ClientAdapter``, made from a ``Wiring``, answering with ``Outcome``s; ``ReferenceAdapter`` drives this
  package's own client) and checks it against a model of the protocol.

Names load on first use, so importing this package (as pytest does with the plugin, in every run) costs neither
httpx, starlette, uvicorn nor Hypothesis: the emulator loads when one is made, Hypothesis when ``ClientMachine``
or the strategies are.
"""

from __future__ import annotations

import typing

from .. import _lazy

if typing.TYPE_CHECKING:  # the names, for type checkers and editors; at run time they load on first use
    from ._adapter import ClientAdapter, Outcome, ReferenceAdapter, Wiring
    from ._emulated import BASE_URL, START, Clock, Emulated, Served, serve
    from ._machine import ClientMachine
    from ._transport import PortalTransport, StreamingASGITransport

#: Where each public name lives (tests/toolkit/testing/test_package.py proves this table, the names for type
#: checkers above and ``__all__`` agree).
_LOCATIONS: dict[str, str] = {
    "BASE_URL": "._emulated",
    "ClientAdapter": "._adapter",
    "ClientMachine": "._machine",
    "Clock": "._emulated",
    "Emulated": "._emulated",
    "Outcome": "._adapter",
    "PortalTransport": "._transport",
    "ReferenceAdapter": "._adapter",
    "START": "._emulated",
    "Served": "._emulated",
    "StreamingASGITransport": "._transport",
    "Wiring": "._adapter",
    "serve": "._emulated",
}

__all__ = [
    "BASE_URL",
    "START",
    "ClientAdapter",
    "ClientMachine",
    "Clock",
    "Emulated",
    "Outcome",
    "PortalTransport",
    "ReferenceAdapter",
    "Served",
    "StreamingASGITransport",
    "Wiring",
    "serve",
]

__getattr__, __dir__ = _lazy.lazy_names(globals(), _LOCATIONS)
