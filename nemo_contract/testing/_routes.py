"""``nemo_routes``: a respx router that sends the real API's requests to an in-process emulator, streams intact.

respx's own ASGI handler reads a whole answer before handing it over, so a turn's events would all arrive at
its end. This router's side effect calls the emulator through the streaming transports instead and returns
their response, whose body respx passes on unread (it only pre-reads ``httpx.ByteStream`` bodies; respx 0.23
awaits a side effect's awaitable on the async path). Which transport depends on the caller: async code (an
event loop running in this thread) gets ``StreamingASGITransport``, sync code ``PortalTransport``. A sync httpx
client called from inside a running event loop is blocking code in async code: call it in a worker thread.

Requests for any other host fail: the call raises ``NoNetwork`` (an ``AssertionError``, as respx's own
"not mocked" is), and the fixture fails the test at its end even if the code under test swallowed the error.
Loopback addresses pass through untouched: they are the test's own servers (``nemo_server``, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import typing

import httpx
import respx
from respx.models import AllMockedAssertionError

from ..protocol import DEFAULT_BASE_URL

if typing.TYPE_CHECKING:
    from ._emulated import Emulated

__all__ = ["LOOPBACK", "NoNetwork", "RoutedAPI", "api_bases"]

#: Hosts that are this machine: requests to them are let through.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_BASE_URL_ENV = "NEMO_API_URL"  # the client's setting (nemo_contract._session.BASE_URL_ENV), spelled here too


class NoNetwork(AllMockedAssertionError):
    """A request under ``nemo_routes`` for a host that is neither the API nor this machine."""


def api_bases() -> list[str]:
    """The base URLs routed to the emulator: the real service's, and ``NEMO_API_URL``'s when it is set."""
    bases = [DEFAULT_BASE_URL]
    configured = os.environ.get(_BASE_URL_ENV, "").strip().rstrip("/")
    if configured and configured not in bases:
        bases.append(configured)
    return bases


class RoutedAPI(respx.MockRouter):
    """The router ``nemo_routes`` yields: the API's hosts go to ``emulated``; add routes of your own with
    ``route(...)`` as with any respx router (they are tried after the API's and the loopback one)."""

    def __init__(self, emulated: Emulated) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self.emulated = emulated
        #: The requests refused because they would have left the machine ("GET https://host/path").
        self.strays: list[str] = []
        self.bases = api_bases()
        self._async_transport = emulated.transport()
        for base in self.bases:
            url = httpx.URL(base)
            where: dict[str, typing.Any] = {"scheme": url.scheme, "host": url.host}
            if url.port is not None:
                where["port"] = url.port
            self.route(name=f"nemo api {base}", **where).mock(side_effect=self._forward)
        self.route(host__in=LOOPBACK, name="loopback").pass_through()

    def _forward(self, request: httpx.Request) -> httpx.Response | typing.Awaitable[httpx.Response]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.emulated.sync_transport().handle_request(request)
        return self._async_transport.handle_async_request(request)

    @contextlib.contextmanager
    def resolver(self, request: httpx.Request) -> typing.Iterator[typing.Any]:
        try:
            with super().resolver(request) as resolved:
                yield resolved
        except AllMockedAssertionError:
            shown = f"{request.method} {request.url.copy_with(query=None)}"
            self.strays.append(shown)
            raise NoNetwork(
                f"nemo_routes: {shown} is not the NemoVideo API ({', '.join(self.bases)}): tests have no network"
            ) from None
