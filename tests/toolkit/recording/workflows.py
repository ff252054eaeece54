"""The shipped cassettes' sessions: both skill documents' workflows, driven by the reference client against an
in-process emulator and recorded through ``AsyncRecordingTransport``.

    python -m tests.toolkit.recording.workflows [--out nemo_contract/recording/cassettes] [--seed 7]

(``make cassettes``). Every offset is the emulator's virtual time (its clock jumps straight to each deadline), the
clip is made by the same encoder settings, the client's sleeps advance the virtual clock, and random values (the
client id, a form's boundary) are redacted or not kept: the same seed writes the same bytes.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import typing

import anyio

from nemo_contract import AsyncClient, Message, SkillSource
from nemo_contract.protocol import PATHS
from nemo_contract.recording import AsyncRecordingTransport, Recorder
from nemo_contract.testing import Emulated, StreamingASGITransport

from ...clips import make_mp4

__all__ = ["PROMPTS", "SEED", "record_workflow", "record_workflows"]

SEED = 7
PROMPTS = {
    SkillSource.VIDEO_TO_GENERATOR: "turn this video into a new short promotional clip with music and transitions",
    SkillSource.AUTO_GENERATOR: "automatically generate a polished video with cuts, transitions, and music",
}
EDIT = "make the music louder"
#: What the emulator's file answers take from the file's real modification time.
REAL_TIME_HEADERS = ("last-modified", "etag")
SHIPPED = pathlib.Path(__file__).resolve().parents[3] / "nemo_contract" / "recording" / "cassettes"


async def record_workflow(
    source: SkillSource,
    out: pathlib.Path,
    *,
    seed: int = SEED,
    config: typing.Mapping[str, typing.Any] | None = None,
    overwrite: bool = True,
) -> list[Message]:
    """Record one skill document's workflow into ``out``; returns the messages the client gave."""
    with tempfile.TemporaryDirectory() as folder, Emulated(seed=seed, clock="auto", config=config) as emulated:
        clip = make_mp4(pathlib.Path(folder) / "city_timelapse", width=320, height=180, duration=2.0)
        emulator = emulated.emulator
        recorder = Recorder(
            out,
            target=emulated.base_url,
            clock=emulator.clock.now,
            overwrite=overwrite,
            skip_headers=REAL_TIME_HEADERS,
        )
        transport = AsyncRecordingTransport(StreamingASGITransport(emulated.app), recorder=recorder)
        language = "en" if source is SkillSource.VIDEO_TO_GENERATOR else None
        messages: list[Message] = []
        try:
            async with AsyncClient(
                base_url=emulated.base_url,
                transport=transport,
                skill=source,
                language=language,
                clock=emulator.clock.now,
                sleep=emulator.clock.advance,
                download_dir=folder,
            ) as client:
                messages += await client.handle("upload", [clip])
                messages += await client.handle(PROMPTS[source])  # its "click Export" runs an export, with polls
                emulator.configure(silent_close_rate=1.0)
                messages += await client.handle(EDIT)  # the backend says nothing; the client reads the state
                emulator.configure(silent_close_rate=0.0)
                emulator.add_faults({"method": "GET", "path": PATHS.credits, "code": 429, "times": 1})
                messages += await client.handle("credits")  # 429 with Retry-After, a wait, then the balance
                messages += await client.handle("export")
        finally:
            recorder.close()
        return messages


def record_workflows(folder: pathlib.Path, *, seed: int = SEED) -> list[pathlib.Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in SkillSource:
        path = folder / f"{source.value}.jsonl"
        anyio.run(lambda: record_workflow(source, path, seed=seed))  # noqa: B023 - run at once
        written.append(path)
    return written


def main(argv: typing.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.toolkit.recording.workflows", description=__doc__)
    parser.add_argument("--out", type=pathlib.Path, default=SHIPPED, help="folder to write into")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for path in record_workflows(args.out, seed=args.seed):
        lines = path.read_text(encoding="utf-8").count("\n")
        print(f"wrote {path} ({lines} lines)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
