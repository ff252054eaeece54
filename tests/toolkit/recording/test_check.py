"""``cassette check`` (issue 13, line 4): a recording made against the emulator checks clean against the same knobs
(another seed too: ids are mapped), and reports exactly what differs under ``render_shape=wrapped``,
``event_format=typed`` and ``status_mode=always200``; the command does the same against a served emulator."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import typing

import pytest

from nemo_contract import AsyncClient, SkillSource
from nemo_contract.protocol import PATHS
from nemo_contract.recording import AsyncRecordingTransport, Recorder, check, load
from nemo_contract.testing import Emulated, Served, StreamingASGITransport

from ...clips import make_mp4
from .workflows import EDIT, PROMPTS, REAL_TIME_HEADERS

pytestmark = pytest.mark.anyio

#: The knobs of the recording and of every check: a 429 on the first balance read, renders of a fixed length (the
#: emulator draws a render's length from its seed, and another seed is checked too).
KNOBS: dict[str, typing.Any] = {
    "render_duration": [45, 45],
    "faults": [{"method": "GET", "path": PATHS.credits, "code": 429, "times": 1}],
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path]:
    """(the cassette, the folder of its clip): upload, a generation and its export, an edit, a 429 recovered from,
    an export, recorded from the emulator under ``KNOBS`` (which no step changes)."""
    folder = tmp_path_factory.mktemp("check")
    path = folder / "session.jsonl"

    async def session() -> None:
        with Emulated(seed=7, config=KNOBS) as emulated:
            clip = make_mp4(folder / "city_timelapse", width=320, height=180, duration=2.0)
            clock = emulated.emulator.clock
            recorder = Recorder(path, target=emulated.base_url, clock=clock.now, skip_headers=REAL_TIME_HEADERS)
            transport = AsyncRecordingTransport(StreamingASGITransport(emulated.app), recorder=recorder)
            async with AsyncClient(
                base_url=emulated.base_url,
                transport=transport,
                language="en",
                clock=clock.now,
                sleep=clock.advance,
                download_dir=folder,
            ) as client:
                await client.handle("upload", [clip])
                await client.handle(PROMPTS[SkillSource.VIDEO_TO_GENERATOR])
                await client.handle(EDIT)
                await client.handle("credits")
                await client.handle("export")
            recorder.close()

    import anyio

    anyio.run(session)
    return path, folder


async def _check(recorded: tuple[pathlib.Path, pathlib.Path], seed: int, **knobs: typing.Any) -> list[str]:
    path, folder = recorded
    with Emulated(seed=seed, config={**KNOBS, **knobs}) as emulated:
        report = await check(
            load(path),
            base_url=emulated.base_url,
            transport=StreamingASGITransport(emulated.app),
            sleep=emulated.emulator.clock.advance,
            files=[folder],
        )
    assert report.checked == len(load(path).exchanges) and report.notes == []
    return report.lines()


@pytest.mark.parametrize("seed", [7, 8])
async def test_a_recording_checks_clean_against_the_same_knobs(
    recorded: tuple[pathlib.Path, pathlib.Path], seed: int
) -> None:
    assert await _check(recorded, seed) == []


def _render_exchanges(path: pathlib.Path, op: str, *, completed: bool | None = None) -> str:
    found = []
    for exchange in load(path).exchanges:
        if exchange.request.op != op:
            continue
        body = exchange.response.body if exchange.response is not None else None
        done = body is not None and body.is_json and "output" in body.json
        if completed is None or completed == done:
            found.append(f"#{exchange.x}")
    return ", ".join(found)


async def test_the_wrapped_render_shape_is_reported_field_by_field(recorded: tuple[pathlib.Path, pathlib.Path]) -> None:
    path, _ = recorded
    starts, polls = _render_exchanges(path, "startRender"), _render_exchanges(path, "getRender")
    done = _render_exchanges(path, "getRender", completed=True)
    top = ["code: missing (recorded number)", "data: new (object)", "id: missing (recorded string)"]
    top += ["progress: missing (recorded number)", "status: missing (recorded string)", "success: new (boolean)"]
    expected = [f"{starts} startRender: shape: $.{line}" for line in top]
    expected += [f"{polls} getRender: shape: $.{line}" for line in top]
    expected.append(f"{done} getRender: shape: $.output: missing (recorded object)")  # first found at a later poll
    assert await _check(recorded, 7, render_shape="wrapped") == expected


async def test_the_typed_event_format_is_reported_event_shape_by_event_shape(
    recorded: tuple[pathlib.Path, pathlib.Path],
) -> None:
    path, _ = recorded
    turns = ", ".join(f"#{e.x}" for e in load(path).exchanges if e.request.op == "runSse")
    lines = await _check(recorded, 7, event_format="typed")
    assert all(line.startswith(f"{turns} runSse: event shape: $.") for line in lines), lines  # kinds and order agree
    fields = {line.split("$.", 1)[1] for line in lines}
    assert fields == {
        "actions: missing (recorded object)",
        "author: missing (recorded string)",
        "content: recorded object, got string",  # a text event: ADK's content object, the typed content string
        "content.parts: missing (recorded array)",
        "content.role: missing (recorded string)",
        "content: missing (recorded object)",  # a tool call: ADK's content, the typed name and args
        "id: missing (recorded string)",
        "invocationId: missing (recorded string)",
        "timestamp: missing (recorded number)",
        "longRunningToolIds: missing (recorded array)",
        "type: new (string)",
        "name: new (string)",
        "args: new (object)",
        "result: new (object)",
    }


async def test_always200_is_reported_where_an_error_was_sent_with_its_status(
    recorded: tuple[pathlib.Path, pathlib.Path],
) -> None:
    path, _ = recorded
    refused = next(e for e in load(path).exchanges if e.response is not None and e.response.status == 429)
    assert await _check(recorded, 7, status_mode="always200") == [
        f"#{refused.x} getCredits: status: recorded 429, got 200"
    ]


@pytest.mark.live
def test_the_command_checks_a_served_emulator_and_exits_1_on_differences(
    recorded: tuple[pathlib.Path, pathlib.Path],
) -> None:
    path, folder = recorded
    outcomes = []
    for knobs in ({}, {"status_mode": "always200"}):
        with Served(seed=7, clock="auto", config={**KNOBS, **knobs}) as served:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nemo_contract._cli",
                    "cassette",
                    "check",
                    str(path),
                    "--url",
                    served.url,
                    "--files",
                    str(folder),
                    "--advance-clock",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
        outcomes.append((done.returncode, done.stdout, done.stderr))
    (clean, said, err), (differs, lines, _) = outcomes
    assert clean == 0, err
    assert said.startswith(f"checked {len(load(path).exchanges)} exchanges of {path} against http://127.0.0.1:")
    assert said.rstrip().endswith(": no differences")
    assert differs == 1 and "getCredits: status: recorded 429, got 200\n1 differences in" in lines


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        (["--url", "ftp://x"], 2, "not an http(s) URL"),
        (["--url", "http://127.0.0.1:9"], 6, "http://127.0.0.1:9 answered none of the requests"),
    ],
)
def test_bad_input_to_check_is_one_line(
    recorded: tuple[pathlib.Path, pathlib.Path], args: list[str], status: int, said: str
) -> None:
    path, _ = recorded
    done = subprocess.run(
        [sys.executable, "-m", "nemo_contract._cli", "cassette", "check", str(path), "--speed", "instant", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == status and said in done.stderr, done.stderr
    assert len([line for line in done.stderr.splitlines() if "error" in line]) == 1


async def test_slower_renders_and_silent_turns_show_as_status_sequences_and_event_kinds(
    recorded: tuple[pathlib.Path, pathlib.Path],
) -> None:
    lines = await _check(recorded, 7, render_duration=[600, 600], silent_close_rate=1.0)
    sequences = [line for line in lines if ": render status: " in line]
    assert sequences and all(
        line.endswith("recorded pending > processing > completed; got pending > processing") for line in sequences
    )
    kinds = [line for line in lines if ": event kinds: " in line]
    assert kinds and all(line.split("; got ")[0].endswith(", text") for line in kinds)  # the words went missing
    assert any(line.endswith("stream end: recorded complete, got silent_close") for line in lines)
