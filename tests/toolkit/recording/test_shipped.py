"""The shipped recordings (issue 13, line 6): both skill documents' workflows recorded from the emulator (upload, a
generation whose export polls, an edit that closes silently, a 429 recovery, an export), inside the package, made
again byte for byte by ``make cassettes``'s script from the same seed, and replayed to the reference client."""

from __future__ import annotations

import itertools
import pathlib
import re

import pytest

from nemo_contract import AsyncClient, Message, SkillSource
from nemo_contract.recording import SHIPPED, AsyncReplayTransport, cassette_path, load

from .workflows import EDIT, PROMPTS, record_workflow

pytestmark = pytest.mark.anyio

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _said(messages: list[Message]) -> list[str]:
    """What the client said, with the download folder and the render's own id left out (both are the run's)."""
    return [re.sub(r"saved to \S+", "saved to ...", message.text) for message in messages]


@pytest.mark.parametrize("source", list(SkillSource))
async def test_the_shipped_cassette_is_what_the_workflow_records_from_the_same_seed(
    source: SkillSource, tmp_path: pathlib.Path
) -> None:
    fresh = tmp_path / f"{source.value}.jsonl"
    recorded = await record_workflow(source, fresh)
    shipped = cassette_path(source.value)
    assert fresh.read_bytes() == shipped.read_bytes(), f"{shipped} is stale: run `make cassettes`"
    # ... and it replays to the reference client, on a clock of its own (its render ids are new), as recorded.
    clip = tmp_path / "city_timelapse.mp4"
    clip.write_bytes(b"the replay does not read it")
    replay = AsyncReplayTransport(load(shipped))
    messages: list[Message] = []
    async with AsyncClient(
        base_url="http://replayed.test",
        transport=replay,
        skill=source,
        language="en" if source is SkillSource.VIDEO_TO_GENERATOR else None,
        sleep=lambda seconds: None,
        download_dir=tmp_path,
    ) as client:
        messages += await client.handle("upload", [clip])
        messages += await client.handle(PROMPTS[source])
        messages += await client.handle(EDIT)
        messages += await client.handle("credits")
        messages += await client.handle("export")
    assert _said(messages) == _said(recorded)
    assert replay.unused() == []


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_cassette_holds_the_whole_workflow(name: str) -> None:
    cassette = load(cassette_path(name))
    exchanges = cassette.exchanges
    ops = [exchange.request.op for exchange in exchanges]
    assert ops[:5] == ["anonymousToken", "createSession", "upload", "getState", "runSse"]
    for exchange in exchanges:
        if exchange.request.op not in ("getRenderFile",):
            assert ("X-Skill-Source", name) in exchange.request.headers
    turns = [exchange for exchange in exchanges if exchange.is_stream]
    assert [turn.end.outcome if turn.end else None for turn in turns] == ["complete", "silent_close"]
    renders = [exchange for exchange in exchanges if exchange.request.op == "startRender"]
    assert len(renders) == 2  # the export "click Export" ran, and the one asked for
    polls = [exchange for exchange in exchanges if exchange.request.op == "getRender"]
    assert len(polls) >= 4 and all(
        b.request.at - a.request.at == 30_000 for a, b in itertools.pairwise(polls) if a.request.path == b.request.path
    )
    statuses = [
        exchange.response.status for exchange in exchanges if exchange.request.op == "getCredits" and exchange.response
    ]
    assert statuses == [429, 200]  # the 429, then its retry after Retry-After
    refused = next(exchange for exchange in exchanges if exchange.response and exchange.response.status == 429)
    assert ("retry-after", "30") in refused.response.headers  # type: ignore[union-attr]
    assert "nmv_usr_" not in cassette_path(name).read_text(encoding="utf-8")


def test_the_make_target_runs_the_workflows_into_the_package() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\ncassettes:", 1)[1].split("\n\n", 1)[0]
    assert "-m tests.toolkit.recording.workflows --out nemo_contract/recording/cassettes" in target
    for name in SHIPPED:
        assert cassette_path(name).parent == ROOT / "nemo_contract" / "recording" / "cassettes"
