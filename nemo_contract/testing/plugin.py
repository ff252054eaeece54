"""The pytest plugin of nemo-contract, registered by ``pip install nemo-contract`` (entry point ``pytest11``).

Fixtures (each test gets its own emulator, made when the fixture is used):

* ``nemo_emulator``: an in-process emulator (``Emulated``): the typed control API as ``.emulator``
  (``configure``, ``add_faults``, ``set_account``, ``advance``, ``reset``, ``entries``), ``.base_url``, and
  ``.client()`` / ``.async_client()`` httpx clients on the streaming transports.
* ``nemo_server``: an emulator behind a real uvicorn on a free loopback port (``Served``: ``.url``,
  ``.emulator``), for code that opens its own connections or is not Python; port 0, so safe under xdist.
* ``nemo_routes``: a respx router that sends every request for the real API (and ``NEMO_API_URL``) to the
  ``nemo_emulator`` of the test, streams intact; any other host fails the test (loopback passes through).

``@pytest.mark.nemo(seed=..., clock=..., time_scale=..., faults=[...], **knobs)`` sets up a test's emulators:
``knobs`` are the emulator's (``configure``), ``faults`` its fault rules (the admin spec's ``FaultRule``).
``clock``: ``"auto"`` (the default in-process: virtual time jumps to the next deadline whenever everyone
waits), ``"manual"`` (it moves only when the test advances it) or ``"real"`` (``time_scale`` virtual seconds a
real second; the default of ``nemo_server``, whose clients wait in real time). A ``time_scale`` given without a
``clock`` means ``"real"``. ``--nemo-time-scale`` sets the scale of every real clock (default 1000: a
5-minute generation takes 0.3 s).

The seed: every emulator of a run gets the run's seed, ``--nemo-seed N``, else one drawn at random when the
run starts (as Hypothesis does), shown in the report header; the marker's ``seed`` overrides it for one test.
A failed test's report carries each of its emulators' seed and journal (section "nemo journal"), so rerunning
with ``--nemo-seed N`` repeats it exactly.

Loading this module costs no starlette, uvicorn, httpx, respx or Hypothesis: they load inside the fixtures.
"""

from __future__ import annotations

import concurrent.futures
import gc
import pathlib
import secrets
import shutil
import tempfile
import threading
import time
import typing

import pytest

if typing.TYPE_CHECKING:
    from ._emulated import Clock, Emulated, Served
    from ._routes import RoutedAPI

__all__ = [
    "DEFAULT_TIME_SCALE",
    "nemo_emulator",
    "nemo_routes",
    "nemo_server",
    "pytest_addoption",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_unconfigure",
]

#: Virtual seconds per real second of a real clock unless ``--nemo-time-scale`` or the marker says otherwise.
DEFAULT_TIME_SCALE = 1000.0
#: Real seconds an emulator's folder waits before it is deleted.
_FILES_AGE = 1.0
_MARKER = (
    "nemo(seed=None, clock=None, time_scale=None, faults=(), **knobs): the emulator of this test "
    "(nemo_emulator, nemo_server, nemo_routes): its seed, clock ('auto', 'manual' or 'real'), time scale, "
    "fault rules and knobs"
)
_WORKER_KEY = "nemo_seed"


class _Run:
    """What one pytest run (or xdist worker) keeps: its seed, and where its emulators' files go.

    Each emulator writes under a folder of its own inside one temporary folder of the run; a test's teardown
    leaves its files to a background thread, which deletes them off the test's path a second later (on ext4 a
    folder made a moment ago takes a millisecond to remove, ten times what an older one takes), and the whole
    folder goes when the run ends.

    After the first test with an emulator, the objects alive (the modules of the run, the emulator's specs and
    tables, now loaded) are moved out of the garbage collector's sight (``gc.freeze()``, once): otherwise every
    full collection walks them again, and pauses a test for 30-60 ms now and then (bench section 7). Those objects
    are never collected afterwards; they live as long as the run anyway.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._root: pathlib.Path | None = None
        self._count = 0
        self._janitor: concurrent.futures.ThreadPoolExecutor | None = None
        self._frozen = False
        self._closing = threading.Event()

    def settle(self) -> None:
        if not self._frozen:
            self._frozen = True
            gc.collect()
            gc.freeze()

    def data_dir(self) -> pathlib.Path:
        if self._root is None:
            self._root = pathlib.Path(tempfile.mkdtemp(prefix="nemo-pytest-"))
        self._count += 1
        return self._root / str(self._count)

    def discard(self, folder: pathlib.Path) -> None:
        if self._janitor is None:
            self._janitor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="nemo-files")
        self._janitor.submit(self._delete, folder, time.monotonic() + _FILES_AGE)

    def _delete(self, folder: pathlib.Path, due: float) -> None:
        self._closing.wait(max(0.0, due - time.monotonic()))
        shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self._closing.set()
        if self._janitor is not None:
            self._janitor.shutdown(wait=True, cancel_futures=True)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


_RUN = pytest.StashKey[_Run]()
#: The emulators a test made, with the name of the fixture, for its failure report.
_USED = pytest.StashKey[list[tuple[str, typing.Any, str]]]()
_REPORTED = pytest.StashKey[bool]()
_CALL_FAILED = pytest.StashKey[bool]()


# -- options, marker, seed -------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nemo", "nemo-contract emulator")
    group.addoption(
        "--nemo-seed",
        type=int,
        default=None,
        metavar="N",
        help="the seed of every emulator of the run (default: drawn at random and shown in the header)",
    )
    group.addoption(
        "--nemo-time-scale",
        type=float,
        default=None,
        metavar="X",
        help=f"virtual seconds per real second of emulators on a real clock (default {DEFAULT_TIME_SCALE:g})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)
    seed = config.getoption("nemo_seed", None)
    worker = getattr(config, "workerinput", None)  # an xdist worker runs with its controller's seed
    if seed is None and worker is not None and _WORKER_KEY in worker:
        seed = int(worker[_WORKER_KEY])
    if seed is None:
        seed = secrets.randbelow(2**32)
    config.stash[_RUN] = _Run(seed)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: typing.Any) -> None:
    """pytest-xdist: every worker gets the controller's seed."""
    node.workerinput[_WORKER_KEY] = node.config.stash[_RUN].seed


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.close()


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.stash[_RUN].seed
    return f"nemo-contract: emulator seed {seed} (repeat this run with --nemo-seed {seed})"


class _Settings(typing.NamedTuple):
    seed: int
    seed_from: str
    clock: Clock
    time_scale: float
    config: dict[str, typing.Any]


def _settings(request: pytest.FixtureRequest, *, served: bool) -> _Settings:
    """The emulator a test asks for: its ``nemo`` marker, then the options, then the defaults."""
    run = request.config.stash[_RUN]
    marker = request.node.get_closest_marker("nemo")
    knobs = dict(marker.kwargs) if marker is not None else {}
    if marker is not None and marker.args:
        pytest.fail("@pytest.mark.nemo takes keyword arguments only", pytrace=False)
    seed = knobs.pop("seed", None)
    clock = knobs.pop("clock", None)
    time_scale = knobs.pop("time_scale", None)
    faults = knobs.pop("faults", None)
    if faults is not None:
        knobs["faults"] = [dict(rule) for rule in faults]
    if clock is None:
        clock = "real" if served or time_scale is not None else "auto"
    if time_scale is None:
        time_scale = request.config.getoption("nemo_time_scale", None) or DEFAULT_TIME_SCALE
    try:
        if seed is None:
            return _Settings(run.seed, "the run's seed", clock, float(time_scale), knobs)
        return _Settings(int(seed), "the nemo marker's seed", clock, float(time_scale), knobs)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"@pytest.mark.nemo: {exc}", pytrace=False)


def _remember(request: pytest.FixtureRequest, name: str, emulated: object, settings: _Settings) -> None:
    used = request.node.stash.setdefault(_USED, [])
    used.append((name, emulated, settings.seed_from))


# -- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture
def nemo_emulator(request: pytest.FixtureRequest) -> typing.Iterator[Emulated]:
    """A fresh in-process emulator (``nemo_contract.testing.Emulated``), set up by the test's ``nemo`` marker."""
    from ._emulated import Emulated

    settings = _settings(request, served=False)
    run = request.config.stash[_RUN]
    folder = run.data_dir()
    try:
        emulated = Emulated(
            seed=settings.seed,
            clock=settings.clock,
            time_scale=settings.time_scale,
            config=settings.config,
            data_dir=folder,
        )
    except (TypeError, ValueError) as exc:  # ConfigError is a ValueError
        pytest.fail(f"@pytest.mark.nemo: {exc}", pytrace=False)
    _remember(request, "nemo_emulator", emulated, settings)
    try:
        yield emulated
    finally:
        emulated.close(files=False)
        run.discard(folder)
        run.settle()


@pytest.fixture
def nemo_server(request: pytest.FixtureRequest) -> typing.Iterator[Served]:
    """The emulator behind a real uvicorn on a free loopback port (``nemo_contract.testing.Served``): ``.url``."""
    from ._emulated import Served

    settings = _settings(request, served=True)
    try:
        served = Served(
            seed=settings.seed, clock=settings.clock, time_scale=settings.time_scale, config=settings.config
        )
    except (TypeError, ValueError) as exc:
        pytest.fail(f"@pytest.mark.nemo: {exc}", pytrace=False)
    _remember(request, "nemo_server", served, settings)
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def nemo_routes(request: pytest.FixtureRequest, nemo_emulator: Emulated) -> typing.Iterator[RoutedAPI]:
    """A respx router that sends the real API's requests (and ``NEMO_API_URL``'s) to ``nemo_emulator``."""
    try:
        from ._routes import RoutedAPI
    except ImportError as exc:  # respx is in the "testing" extra, not a dependency of the package
        pytest.fail(f"nemo_routes needs respx ({exc}): pip install 'nemo-contract[testing]'", pytrace=False)
    router = RoutedAPI(nemo_emulator)
    with router:
        yield router
    # A stray request raised in the test; it fails here too unless the test already failed (the code under test
    # may have swallowed the error).
    if router.strays and not request.node.stash.get(_CALL_FAILED, False):
        listed = "\n  ".join(router.strays)
        pytest.fail(
            f"nemo_routes: the test sent requests that would have left this machine:\n  {listed}", pytrace=False
        )


# -- the report of a failed test ----------------------------------------------------------------------------------


def _entries(emulated: typing.Any) -> list[typing.Any]:
    """The journal, read where the emulator runs when its loop has a thread of its own."""
    emulator = emulated.emulator
    call = getattr(emulated, "call", None)
    for _ in range(3):  # a served emulator's loop may append while this thread copies
        try:
            found: list[typing.Any] = call(emulator.entries) if call is not None else emulator.entries()
        except RuntimeError:
            continue
        return found
    return []


def _section(seed: int, seed_from: str, emulated: typing.Any) -> str:
    from ._report import journal_text

    head = f"emulator seed {seed} ({seed_from}; repeat with --nemo-seed {seed}), clock {emulated.clock}"
    return head + "\n" + journal_text(_entries(emulated))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> typing.Generator[None, typing.Any, typing.Any]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    used = item.stash.get(_USED, None)
    if report.failed and used and not item.stash.get(_REPORTED, False):
        item.stash[_REPORTED] = True
        for name, emulated, seed_from in used:
            try:
                text = _section(emulated.seed, seed_from, emulated)
            except Exception as exc:  # the report must not hide the failure it is about
                text = f"the journal could not be read: {exc!r}"
            report.sections.append((f"nemo journal ({name})", text))
    if report.when == "teardown":  # the test is over: its emulators go (items live as long as the session)
        item.stash[_USED] = []
    return report
