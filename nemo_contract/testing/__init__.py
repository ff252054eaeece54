"""Test tools for Python integrations of the NemoVideo agent API (the starlette.testclient / respx model).

``StreamingASGITransport`` runs an ASGI app (the emulator) in-process behind an ``httpx.AsyncClient`` with bodies
streamed as the app sends them, so a ``/run_sse`` turn arrives event by event.
"""

from __future__ import annotations

from ._transport import StreamingASGITransport

__all__ = ["StreamingASGITransport"]
