"""The emulator in a test: in-process (``Emulated``), or behind a real uvicorn on a free loopback port (``Served``).

Both carry the emulator's typed control API (``.emulator``: ``configure``, ``add_faults``, ``set_account``,
``advance``, ``reset``, ``entries``, ``wait_for``) and a base URL. The in-process one also makes httpx clients wired
to the app through the streaming transports, so a turn arrives event by event with no network at all. Nothing of
the emulator (starlette, uvicorn) is imported until one is made.
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
import threading
import time
import types
import typing

import httpx

from ._transport import PortalTransport, StreamingASGITransport

if typing.TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal
    from starlette.applications import Starlette

    from mock_server import Emulator

__all__ = ["BASE_URL", "START", "Clock", "Emulated", "Served"]

#: The in-process emulator's base URL: a name no real service has.
BASE_URL = "http://emulator.test"
#: Where an emulator's virtual clock starts by default: 2026-03-13T00:00:00Z (a fixed time, so runs repeat).
START = 1773360000.0
#: ``auto``: virtual time jumps to the next deadline whenever everyone waits (a 5-minute turn takes
#: milliseconds, every virtual time exact); ``manual``: it moves only when the test advances it; ``real``: it
#: runs at ``time_scale`` virtual seconds per real second.
Clock = typing.Literal["auto", "manual", "real"]
T = typing.TypeVar("T")
_HEADERS = {"X-Skill-Source": "video-to-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}


def _app(
    *,
    seed: int,
    clock: Clock,
    time_scale: float,
    config: typing.Mapping[str, typing.Any] | None,
    clock_start: float | None,
    data_dir: pathlib.Path | None,
) -> Starlette:
    from mock_server import VirtualClock, create_app

    if clock not in ("auto", "manual", "real"):
        raise ValueError(f"clock must be 'auto', 'manual' or 'real', not {clock!r}")
    virtual = VirtualClock(
        time_scale=time_scale if clock == "real" else 0.0,
        start=clock_start,
        autojump=0.0 if clock == "auto" else None,
    )
    return create_app(seed=seed, config=config, clock=virtual, data_dir=data_dir)


class Emulated:
    """A fresh emulator in this process.

    ``Emulated(seed=7, clock="auto", config={"render_shape": "wrapped"})``; then ``async with
    emulated.async_client() as http: ...`` or ``with emulated.client() as http: ...`` (the attribution headers
    are set; pass ``headers=`` to change them). Use one kind of client per emulator: the sync one runs the app on
    an event loop of its own, in a thread.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock = "auto",
        time_scale: float = 1.0,
        config: typing.Mapping[str, typing.Any] | None = None,
        clock_start: float | None = START,
        data_dir: pathlib.Path | None = None,
    ) -> None:
        self.app = _app(
            seed=seed, clock=clock, time_scale=time_scale, config=config, clock_start=clock_start, data_dir=data_dir
        )
        self.emulator: Emulator = self.app.state.emulator
        self.base_url = BASE_URL
        self.seed = seed
        self.clock: Clock = clock
        self._portal: BlockingPortal | None = None
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None

    def transport(self) -> StreamingASGITransport:
        """The async streaming transport to the emulator, for an ``httpx.AsyncClient`` made elsewhere."""
        return StreamingASGITransport(self.app)

    def sync_transport(self) -> PortalTransport:
        """The sync streaming transport to the emulator (its app then runs on an event loop in a thread)."""
        if self._portal is None:
            from anyio.from_thread import start_blocking_portal

            self._portal_cm = start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
        return PortalTransport(self.app, self._portal)

    def async_client(self, **options: typing.Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on the emulator (``options`` go to httpx)."""
        settings = {"base_url": self.base_url, "headers": _HEADERS, "timeout": 30.0, **options}
        return httpx.AsyncClient(transport=self.transport(), **settings)

    def client(self, **options: typing.Any) -> httpx.Client:
        """An ``httpx.Client`` on the emulator: the app runs on an event loop in a thread of its own."""
        settings = {"base_url": self.base_url, "headers": _HEADERS, "timeout": 30.0, **options}
        return httpx.Client(transport=self.sync_transport(), **settings)

    def call(self, function: typing.Callable[..., T], *args: typing.Any, **kwargs: typing.Any) -> T:
        """``function(*args, **kwargs)`` where the emulator runs: on its thread's event loop once a sync client
        exists (the control API is not thread-safe), else right here: ``emulated.call(emulator.advance, 30)``."""
        if self._portal is None:
            return function(*args, **kwargs)
        return self._portal.call(functools.partial(function, *args, **kwargs))

    def close(self, *, files: bool = True) -> None:
        """Stop the emulator (and the thread of the sync clients). ``files=False`` leaves its files under
        ``data_dir`` for the caller to delete (the pytest plugin deletes them off the test's path)."""
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal = self._portal_cm = None
        self.emulator.close(files=files)

    def __enter__(self) -> Emulated:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        self.close()


@contextlib.contextmanager
def serve(
    app: typing.Any,
    *,
    host: str = "127.0.0.1",
    startup_timeout: float = 10.0,
    config: typing.Callable[..., typing.Any] | None = None,
) -> typing.Iterator[str]:
    """Run any ASGI app under a real uvicorn on a free loopback port, in a thread; yields its base URL.

    The port is chosen by the system (port 0), so servers can run side by side (pytest-xdist). ``config`` makes
    uvicorn's configuration (``config(app, host=..., port=0)``); by default uvicorn's own, quiet.
    """
    import uvicorn

    made = (
        config(app, host=host, port=0)
        if config
        else uvicorn.Config(app, host=host, port=0, log_level="error", lifespan="on")
    )
    server = uvicorn.Server(made)
    thread = threading.Thread(target=server.run, name="nemo-serve", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the server did not start listening")
            time.sleep(0.005)
        bound, port = server.servers[0].sockets[0].getsockname()[:2]
        yield f"http://{f'[{bound}]' if ':' in bound else bound}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Served:
    """An emulator behind a real uvicorn on a free loopback port, in a thread: for code that opens its own
    connections, or is not Python. ``url`` is its base URL once started.

    ``with Served(seed=7, clock="real", time_scale=1000) as served: run(["my-client"], env={"NEMO_API_URL":
    served.url})``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock = "real",
        time_scale: float = 1.0,
        config: typing.Mapping[str, typing.Any] | None = None,
        clock_start: float | None = None,
        data_dir: pathlib.Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.app = _app(
            seed=seed, clock=clock, time_scale=time_scale, config=config, clock_start=clock_start, data_dir=data_dir
        )
        self.emulator: Emulator = self.app.state.emulator
        self.seed = seed
        self.clock: Clock = clock
        self.host = host
        self.url = ""
        self._serving: contextlib.AbstractContextManager[str] | None = None

    def start(self) -> str:
        from mock_server import server_config

        # As nemo-mock serve runs it: heads, bodies and idle connections are held to the emulator's limits.
        self._serving = serve(self.app, host=self.host, config=functools.partial(server_config, log_level="error"))
        try:
            self.url = self._serving.__enter__()
        except BaseException:
            self.emulator.close()
            raise
        return self.url

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.__exit__(None, None, None)
            self._serving = None
        self.emulator.close()

    def __enter__(self) -> Served:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        self.stop()
