"""mock_server._probe: uploads recognised by their bytes, pictures measured from their headers, probes bounded."""

from __future__ import annotations

import errno
import os
import time
import typing
from fractions import Fraction
from pathlib import Path

import anyio
import pytest

from mock_server import _probe
from mock_server._probe import MAX_CONCURRENT_PROBES, MediaInfo, NotMedia, check_media, probe, probe_upload
from nemo_contract.protocol import FileType

from .. import clips


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def forbid_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyAV's ``open`` made to fail the test from now on: what is probed next never reaches FFmpeg."""
    import av

    def refuse(*args: object, **kwargs: object) -> typing.NoReturn:
        raise AssertionError("FFmpeg was asked to open a picture")

    monkeypatch.setattr(av, "open", refuse)


# ------------------------------------------------------------------------------------------------- pictures


@pytest.mark.parametrize(
    "make",
    [
        clips.make_png,
        clips.make_jpg,
        clips.make_gif,
        clips.make_webp,
        lambda path, **size: clips.make_webp(path, lossless=True, **size),
        lambda path, **size: clips.make_webp(path, frames=3, **size),
    ],
    ids=["png", "jpeg", "gif", "webp-lossy", "webp-lossless", "webp-animated"],
)
def test_pictures_are_measured_from_their_header_without_ffmpeg(
    tmp_path: Path, make: typing.Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make(tmp_path / "picture", width=50, height=30)
    forbid_ffmpeg(monkeypatch)
    assert probe(path) == MediaInfo(None, 50, 30, None)
    assert check_media(path, path.name, FileType.IMAGE) == MediaInfo(None, 50, 30, None)


def test_a_jpeg_with_large_metadata_segments_is_still_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = clips.make_jpg(tmp_path / "plain", width=64, height=16).read_bytes()
    forbid_ffmpeg(monkeypatch)
    # Two 64 KiB APP1 segments (as EXIF and XMP are) and fill bytes before the frame header.
    app1 = b"\xff\xe1\xff\xff" + bytes(0xFFFD)
    padded = tmp_path / "exif.jpg"
    padded.write_bytes(plain[:2] + app1 + app1 + b"\xff\xff" + plain[2:])
    assert probe(padded) == MediaInfo(None, 64, 16, None)


def test_a_png_bomb_is_refused_from_its_header_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_ffmpeg(monkeypatch)
    # 16000x16000 RGBA: a 1 MB file that inflates to 1 GB. Only its IHDR is read.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(clips.png_bomb(16000, 16000))
    assert bomb.stat().st_size < 2_000_000
    assert probe(bomb) == MediaInfo(None, 16000, 16000, None)
    with pytest.raises(NotMedia, match=r"'bomb\.png' is 16000x16000 pixels; the limit is 8192 pixels on each side"):
        check_media(bomb, "bomb.png", FileType.IMAGE)


@pytest.mark.parametrize(("width", "height"), [(8193, 10), (10, 8193)])
def test_the_picture_limit_is_per_side(tmp_path: Path, width: int, height: int) -> None:
    path = tmp_path / "wide.png"
    path.write_bytes(clips.png_bomb(width, height))
    with pytest.raises(NotMedia, match=f"{width}x{height} pixels"):
        check_media(path, path.name, FileType.IMAGE)
    at_limit = tmp_path / "limit.png"
    at_limit.write_bytes(clips.png_bomb(8192, 8))
    assert check_media(at_limit, at_limit.name, FileType.IMAGE) == MediaInfo(None, 8192, 8, None)


def test_a_video_whose_frames_are_a_png_bomb_is_refused(tmp_path: Path) -> None:
    """A MOV whose video stream is PNG pictures of 16000x16000: FFmpeg's stream-info pass would decode one
    (1 GB); ``max_pixels`` stops the decoder, and the file is refused as a video it cannot read."""
    import av

    path = tmp_path / "bomb.mov"
    picture = clips.png_bomb(16000, 16000)
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_mux_stream("png", rate=25, width=16000, height=16000)
        for index in range(2):
            packet = av.Packet(picture)
            packet.stream = stream
            packet.time_base = Fraction(1, 25)
            packet.pts = packet.dts = index
            packet.duration = 1
            packet.is_keyframe = True
            out.mux_one(packet)
    with pytest.raises(NotMedia, match=r"'bomb\.mov' is not a video file the emulator can read \(or its picture"):
        check_media(path, "bomb.mov", FileType.VIDEO)


# ------------------------------------------------------------------------------------------------- kinds


@pytest.mark.parametrize("suffix", ["mp3", "aac", "m4a", "wav"])
def test_audio_files_still_give_their_duration(tmp_path: Path, suffix: str) -> None:
    path = clips.make_audio(tmp_path / f"voice.{suffix}", duration=1.5)
    info = check_media(path, path.name, FileType.AUDIO)
    assert info.duration is not None and abs(info.duration - 1.5) < 0.05
    assert (info.width, info.height, info.fps) == (None, None, None)


def test_videos_keep_their_metadata(tmp_path: Path) -> None:
    path = clips.make_mp4(tmp_path / "clip", width=320, height=180, duration=2.0, fps=25)
    info = check_media(path, "clip.mp4", FileType.VIDEO)
    assert (info.width, info.height, info.fps) == (320, 180, 25)
    assert info.duration is not None and abs(info.duration - 2.0) < 0.1


@pytest.mark.parametrize(
    ("name", "content", "file_type", "message"),
    [
        ("fake.mp4", b"hello world\n", FileType.VIDEO, "'fake.mp4' is not a video file the emulator can read"),
        ("empty.mp4", b"", FileType.VIDEO, "'empty.mp4' is empty."),
        ("empty.png", b"", FileType.IMAGE, "'empty.png' is empty."),
        ("page.webm", b"<!doctype html><html></html>", FileType.VIDEO, "not a video file"),
        ("noise.wav", os.urandom(3000), FileType.AUDIO, "'noise.wav' is not an audio file the emulator can read"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + bytes(40), FileType.IMAGE, "not an image file"),
    ],
)
def test_bytes_that_are_not_the_media_the_name_says_are_refused(
    tmp_path: Path, name: str, content: bytes, file_type: FileType, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NotMedia, match=message.replace(".", r"\.").replace("(", r"\(")):
        check_media(path, name, file_type)


def test_the_kind_is_judged_by_the_bytes_not_the_name(tmp_path: Path) -> None:
    picture = clips.make_png(tmp_path / "picture", width=20, height=10).rename(tmp_path / "picture.mp4")
    with pytest.raises(NotMedia, match=r"'picture\.mp4' is not a video file .* \(its bytes are an image\)"):
        check_media(picture, "picture.mp4", FileType.VIDEO)
    song = clips.make_audio(tmp_path / "song.mp3").rename(tmp_path / "song.mp4")
    with pytest.raises(NotMedia, match=r"its bytes are an audio"):
        check_media(song, "song.mp4", FileType.VIDEO)
    # A misnamed file of the right kind is fine: a PNG named .jpg is an image, a MOV named .mp4 a video.
    png = clips.make_png(tmp_path / "logo", width=20, height=10).rename(tmp_path / "logo.jpg")
    assert check_media(png, "logo.jpg", FileType.IMAGE) == MediaInfo(None, 20, 10, None)
    mov = clips.make_mov(tmp_path / "clip", width=32, height=32).rename(tmp_path / "clip.mp4")
    assert check_media(mov, "clip.mp4", FileType.VIDEO).width == 32


# ------------------------------------------------------------------------------------------------- bounded


@pytest.mark.anyio
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
async def test_at_most_two_probes_run_at_once(tmp_path: Path) -> None:
    """Three uploads probed together, as files that block on their first read (named pipes): two probes open
    theirs, the third waits until one of them ends. A write end opened without blocking shows which pipe a
    probe has opened (it fails with ENXIO while nobody reads) and keeps that probe waiting for its bytes."""
    assert MAX_CONCURRENT_PROBES == 2
    fifos = [tmp_path / f"upload{i}.png" for i in range(3)]
    for fifo in fifos:
        os.mkfifo(fifo)
    writers: dict[int, int] = {}
    fed: set[int] = set()  # a fed pipe's probe may still hold it open: never attach to it again
    results: dict[int, MediaInfo] = {}

    def attach() -> None:
        for index, fifo in enumerate(fifos):
            if index not in writers and index not in fed:
                try:
                    writers[index] = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as exc:
                    if exc.errno != errno.ENXIO:  # ENXIO: nobody reads it yet
                        raise

    def attach_until(count: int) -> None:
        deadline = time.monotonic() + 10
        while len(writers) < count:
            assert time.monotonic() < deadline, writers
            attach()
            time.sleep(0.01)

    def feed(index: int) -> None:
        fd = writers.pop(index)
        fed.add(index)
        os.write(fd, clips.png_bomb(10 + index, 10))
        os.close(fd)

    async def one(index: int) -> None:
        results[index] = await probe_upload(fifos[index], fifos[index].name, FileType.IMAGE)

    def release() -> None:
        """Whatever happened, no probe is left waiting: every pipe gets a writer that hangs up (end of file)."""
        for fd in writers.values():
            os.close(fd)
        writers.clear()
        attach()
        for fd in writers.values():
            os.close(fd)

    async with anyio.create_task_group() as group:
        for index in range(3):
            group.start_soon(one, index)
        try:
            await anyio.to_thread.run_sync(attach_until, 2)
            await anyio.sleep(0.2)  # room for a third probe to start, if it could
            await anyio.to_thread.run_sync(attach)
            assert len(writers) == 2
            await anyio.to_thread.run_sync(feed, min(writers))
            await anyio.to_thread.run_sync(attach_until, 2)  # the third probe has started
            for index in sorted(writers):
                await anyio.to_thread.run_sync(feed, index)
        finally:
            release()  # before the task group waits for the probes' threads
    assert {i: info.width for i, info in results.items()} == {0: 10, 1: 11, 2: 12}


def test_the_limiter_is_one_per_event_loop() -> None:
    async def limiter() -> object:
        return _probe._limiter()

    async def twice() -> tuple[object, object]:
        return _probe._limiter(), _probe._limiter()

    first, again = anyio.run(twice)
    assert first is again
    assert anyio.run(limiter) is not first
