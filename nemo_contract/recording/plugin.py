"""The pytest plugin of recordings: ``@pytest.mark.nemo_cassette`` and the ``nemo_cassette`` fixture.

    @pytest.mark.nemo_cassette("export-flow")            # cassettes/export-flow.jsonl, beside the test file
    async def test_export(nemo_cassette):
        client = AsyncClient(base_url=nemo_cassette.base_url, transport=nemo_cassette.transport)
        ...

``nemo_cassette(name, mode=..., speed=..., tail=..., strict=..., upstream=...)``:

* ``name``: a cassette in the ``cassettes`` folder beside the test file (``.jsonl`` added), or a path (relative to
  that folder, or absolute: ``str(cassette_path("video-to-generator"))`` for a shipped one);
* ``mode``: ``none`` replays only, and nothing reaches the network (the default when ``CI`` is set); ``once``
  replays the cassette if it exists, else records it (the default elsewhere); ``new`` replays, and sends what the
  cassette has no answer for to the upstream, recorded at the cassette's end; ``all`` records afresh. The option
  ``--nemo-record-mode`` overrides every marker;
* ``speed``: ``"instant"`` (the default: no waits), ``1`` (as recorded) or N times faster; ``tail``: ``"error"``
  (the default) or ``"repeat-last"``; ``strict=True``: fail the test if a recorded exchange was never asked for;
* ``upstream``: where recording sends requests (default ``$NEMO_API_URL``, else the real service).

The fixture (``_session.CassetteSession``) gives ``base_url``, ``transport`` (httpx, async), ``sync_transport``,
and ``async_client(**options)`` / ``client(**options)``. A request the cassette has no answer for raises
``CassetteMiss`` (an ``AssertionError`` carrying the diff); the test fails with it at teardown even if the code
under test caught it.

This module imports pytest alone: the rest loads when a test asks for the fixture.
"""

from __future__ import annotations

import os
import pathlib
import typing

import pytest

if typing.TYPE_CHECKING:
    from ._session import CassetteSession

__all__ = ["MODES", "nemo_cassette", "pytest_addoption", "pytest_configure", "pytest_runtest_makereport"]

MODES = ("none", "once", "new", "all")
_OPTIONS = frozenset({"mode", "speed", "tail", "strict", "upstream"})
#: Whether a test's call failed: a miss it raised is not raised again at teardown.
_CALL_FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("nemo_cassette").addoption(
        "--nemo-record-mode",
        choices=MODES,
        default=None,
        help="the record mode of every nemo_cassette marker (default: none under CI, else once)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "nemo_cassette(name, mode=None, speed='instant', tail='error', strict=False, upstream=None): replay (or "
        "record) a NemoVideo session in cassettes/<name>.jsonl; the nemo_cassette fixture gives its transport",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> typing.Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def _path(test_file: pathlib.Path, name: str) -> pathlib.Path:
    candidate = pathlib.Path(name)
    if candidate.suffix != ".jsonl":
        candidate = candidate.with_name(candidate.name + ".jsonl")
    return candidate if candidate.is_absolute() else test_file.parent / "cassettes" / candidate


@pytest.fixture
def nemo_cassette(request: pytest.FixtureRequest) -> typing.Iterator[CassetteSession]:
    """The cassette of the test's ``nemo_cassette`` marker (see the module's docstring)."""
    marker = request.node.get_closest_marker("nemo_cassette")
    if marker is None or len(marker.args) != 1:
        pytest.fail("the nemo_cassette fixture needs @pytest.mark.nemo_cassette('name') on the test", pytrace=False)
    unknown = set(marker.kwargs) - _OPTIONS
    if unknown:
        pytest.fail(f"nemo_cassette takes no {', '.join(sorted(unknown))}", pytrace=False)
    from ..protocol import DEFAULT_BASE_URL
    from ._session import CassetteSession

    options = marker.kwargs
    mode = request.config.getoption("--nemo-record-mode") or options.get("mode")
    if mode is None:
        mode = "none" if os.environ.get("CI") else "once"
    try:
        session = CassetteSession(
            _path(pathlib.Path(str(request.node.path)), str(marker.args[0])),
            mode=mode,
            speed=options.get("speed", "instant"),
            tail=options.get("tail", "error"),
            strict=bool(options.get("strict", False)),
            upstream=options.get("upstream") or os.environ.get("NEMO_API_URL") or DEFAULT_BASE_URL,
        )
    except (ValueError, FileNotFoundError) as exc:
        pytest.fail(f"nemo_cassette: {exc}", pytrace=False)
    yield session
    session.finish(raise_miss=not request.node.stash.get(_CALL_FAILED, False))
