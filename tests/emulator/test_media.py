"""mock_server._media: probing real files, and rendering real H.264 MP4s fast enough to do on request."""

from __future__ import annotations

import math
import os
import typing
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from mock_server import _media
from mock_server._media import MediaInfo, _loudness, probe, render_mp4

from .. import clips

UNKNOWN = MediaInfo(None, None, None, None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ------------------------------------------------------------------------------------------------- probe


@pytest.mark.parametrize(
    ("make", "width", "height", "duration", "fps"),
    [
        (clips.make_mp4, 64, 48, 2.0, 25),
        (clips.make_mp4, 320, 240, 1.5, 30),
        (clips.make_mov, 80, 60, 1.2, 24),
        (clips.make_mov, 32, 32, 3.0, 10),
    ],
)
def test_probe_reads_mp4_and_mov(
    tmp_path: Path, make: typing.Callable[..., Path], width: int, height: int, duration: float, fps: int
) -> None:
    path = make(tmp_path / "clip", width=width, height=height, duration=duration, fps=fps)
    info = probe(path)
    assert (info.width, info.height, info.fps) == (width, height, fps)
    assert info.duration is not None
    assert abs(info.duration - duration) <= 0.1


@pytest.mark.parametrize("suffix", ["mkv", "webm", "avi"])
def test_probe_reads_other_video_containers(tmp_path: Path, suffix: str) -> None:
    path = clips.make_video(tmp_path / f"clip.{suffix}", width=48, height=32, duration=1.6, fps=20)
    info = probe(path)
    assert (info.width, info.height, info.fps) == (48, 32, 20)
    assert info.duration is not None
    assert abs(info.duration - 1.6) <= 0.1


def test_probe_audio_has_a_duration_only(tmp_path: Path) -> None:
    info = probe(clips.make_wav(tmp_path / "voice", duration=1.25))
    assert info.duration is not None
    assert abs(info.duration - 1.25) <= 0.01
    assert (info.width, info.height, info.fps) == (None, None, None)


@pytest.mark.parametrize("make", [clips.make_png, clips.make_jpg, clips.make_gif])
def test_probe_images_have_a_size_only(tmp_path: Path, make: typing.Callable[..., Path]) -> None:
    info = probe(make(tmp_path / "picture", width=40, height=30))
    assert info == MediaInfo(None, 40, 30, None)


def test_probe_judges_content_not_the_extension(tmp_path: Path) -> None:
    png = clips.make_png(tmp_path / "picture", width=20, height=10)
    disguised = png.rename(tmp_path / "picture.mp4")
    assert probe(disguised) == MediaInfo(None, 20, 10, None)


GARBAGE: dict[str, bytes] = {
    "random.mp4": os.urandom(20_000),
    "zeros.mov": bytes(4096),
    "text.mp4": b"not a video at all\n" * 100,
    "empty.mp4": b"",
    "random.png": os.urandom(300),
    "random.wav": os.urandom(3000),
    "html.webm": b"<!doctype html><html><body>404</body></html>",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_probe_of_garbage_is_unknown(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(GARBAGE[name])
    assert probe(path) == UNKNOWN


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.1, 0.5, 0.9])
def test_probe_of_a_truncated_mp4_is_unknown(tmp_path: Path, keep: float) -> None:
    # clips writes the moov box at the end, so any cut loses the metadata.
    whole = clips.make_mp4(tmp_path / "whole", width=64, height=48, duration=2.0, fps=25).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    assert probe(cut) == UNKNOWN


def test_probe_of_a_truncated_wav_header_is_unknown(tmp_path: Path) -> None:
    whole = clips.make_wav(tmp_path / "whole").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:30])
    assert probe(cut) == UNKNOWN


def test_probe_of_what_is_not_a_file_is_unknown(tmp_path: Path) -> None:
    assert probe(tmp_path / "missing.mp4") == UNKNOWN
    assert probe(tmp_path) == UNKNOWN


# ------------------------------------------------------------------------------------------------- render


def _read_back(path: Path) -> dict[str, typing.Any]:
    """What an independent reader (PyAV's demuxer and decoder) finds in a rendered file."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keyframes = [p.is_keyframe for p in container.demux(stream) if p.size]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first = None
        count = 0
        for frame in container.decode(stream):  # every frame must decode; only the first is kept
            if first is None:
                first = frame
            count += 1
        assert first is not None
        assert container.duration is not None
        return {
            "codec": stream.codec_context.name,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "pix_fmt": first.format.name,
            "duration": container.duration / 1_000_000,
            "stream_duration": float((stream.duration or 0) * (stream.time_base or Fraction(0))),
            "frames": count,
            "keyframes": keyframes,
            "first_pixel": bytes(first.to_rgb().planes[0])[:3],
        }


@pytest.mark.parametrize(
    ("width", "height", "duration_ms", "fps"),
    [
        (1920, 1080, 4000, 30),
        (320, 240, 1550, 30),
        (16, 16, 100, 30),
        (640, 360, 2345, 25),
        (1080, 1920, 3000, 60),
        (4096, 16, 700, 24),
        (64, 64, 2500, 1),
    ],
)
def test_render_mp4_is_real_h264_of_the_asked_size_and_length(
    tmp_path: Path, width: int, height: int, duration_ms: int, fps: int
) -> None:
    path = tmp_path / "out.mp4"
    size = render_mp4(path, width=width, height=height, duration_ms=duration_ms, fps=fps)
    assert size == path.stat().st_size > 0
    found = _read_back(path)
    assert found["codec"] == "h264"
    assert (found["width"], found["height"]) == (width, height)
    assert found["pix_fmt"] == "yuv420p"
    assert abs(found["duration"] - duration_ms / 1000) < 0.1
    assert abs(found["stream_duration"] - duration_ms / 1000) < 0.1
    assert found["frames"] == math.ceil(duration_ms * fps / 1000)
    gop = min(fps, 30)
    assert found["keyframes"] == [i % gop == 0 for i in range(found["frames"])]
    info = probe(path)
    assert (info.duration, info.width, info.height) == (duration_ms / 1000, width, height)
    # The last frame is shortened to land on the exact millisecond, which nudges the average frame rate.
    expected_fps = fps if duration_ms * fps % 1000 == 0 else found["frames"] / (duration_ms / 1000)
    assert info.fps == pytest.approx(expected_fps, rel=0.001)


def test_render_mp4_paints_the_colour(tmp_path: Path) -> None:
    path = tmp_path / "red.mp4"
    render_mp4(path, width=64, height=64, duration_ms=200, color=(200, 30, 40))
    red, green, blue = _read_back(path)["first_pixel"]
    assert abs(red - 200) <= 6
    assert abs(green - 30) <= 6
    assert abs(blue - 40) <= 6


def test_render_mp4_puts_the_moov_box_first(tmp_path: Path) -> None:
    # A client fetching with Range can start playing without reading to the end.
    path = tmp_path / "fast.mp4"
    render_mp4(path, width=320, height=180, duration_ms=3000)
    head = path.read_bytes()
    assert 0 <= head.find(b"moov") < head.find(b"mdat")


def test_render_mp4_reuses_the_encoded_gop(tmp_path: Path) -> None:
    render_mp4(tmp_path / "a.mp4", width=96, height=54, duration_ms=1000, fps=12, color=(1, 2, 3))
    before = _media._encoded_gop.cache_info()
    size = render_mp4(tmp_path / "b.mp4", width=96, height=54, duration_ms=1000, fps=12, color=(1, 2, 3))
    after = _media._encoded_gop.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    assert size == (tmp_path / "a.mp4").stat().st_size
    assert _media._encoded_gop.cache_info().currsize <= 8


def test_render_mp4_replaces_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "out" / "render.mp4"
    render_mp4(path, width=32, height=32, duration_ms=5000)
    render_mp4(path, width=48, height=32, duration_ms=1000)
    assert [p.name for p in path.parent.iterdir()] == ["render.mp4"]
    assert _read_back(path)["width"] == 48


class _FailingGop:
    """A GOP whose fourth packet cannot be read: the render fails halfway through writing."""

    def __init__(self, real: typing.Sequence[tuple[bytes, bool]]) -> None:
        self.real = real

    def __len__(self) -> int:
        return len(self.real)

    def __getitem__(self, index: int) -> tuple[bytes, bool]:
        if index == 3:
            raise RuntimeError("disk on fire")
        return self.real[index]


def test_a_failed_render_leaves_the_old_file_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "render.mp4"
    path.write_bytes(b"previous")
    real = _media._encoded_gop
    monkeypatch.setattr(_media, "_encoded_gop", lambda *args: _FailingGop(real(*args)))
    with pytest.raises(RuntimeError, match="disk on fire"):
        render_mp4(path, width=32, height=32, duration_ms=1000)
    assert [p.name for p in tmp_path.iterdir()] == ["render.mp4"]
    assert path.read_bytes() == b"previous"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 15}, "width"),
        ({"width": 101}, "width"),
        ({"width": 14}, "width"),
        ({"width": 4098}, "width"),
        ({"height": 0}, "height"),
        ({"height": 640.0}, "height"),
        ({"duration_ms": 99}, "duration_ms"),
        ({"duration_ms": 30 * 60 * 1000 + 1}, "duration_ms"),
        ({"duration_ms": -1}, "duration_ms"),
        ({"fps": 0}, "fps"),
        ({"fps": 121}, "fps"),
        ({"color": (256, 0, 0)}, "color"),
        ({"color": (0, 0)}, "color"),
        ({"color": 7}, "color"),
        ({"color": (0.5, 0, 0)}, "color"),
    ],
)
def test_render_mp4_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, typing.Any], message: str) -> None:
    args: dict[str, typing.Any] = {"width": 640, "height": 360, "duration_ms": 1000, "fps": 30, **kwargs}
    with pytest.raises(ValueError, match=message) as caught:
        render_mp4(tmp_path / "bad.mp4", **args)
    text = str(caught.value)
    assert text.endswith(".")
    assert ". " not in text  # one sentence
    assert list(tmp_path.iterdir()) == []


def test_render_mp4_accepts_the_limits(tmp_path: Path) -> None:
    assert render_mp4(tmp_path / "small.mp4", width=16, height=4096, duration_ms=100, fps=120) > 0
    assert _read_back(tmp_path / "small.mp4")["height"] == 4096


# ------------------------------------------------------------------------------------------------- serving


@pytest.mark.anyio
async def test_a_rendered_file_is_served_with_ranges(tmp_path: Path) -> None:
    """Starlette's FileResponse answers Range requests; the download route relies on it."""
    path = tmp_path / "served.mp4"
    size = render_mp4(path, width=160, height=90, duration_ms=2000)
    whole = path.read_bytes()

    async def download(request: Request) -> FileResponse:
        return FileResponse(path, media_type="video/mp4")

    app = Starlette(routes=[Route("/r.mp4", download, methods=["GET", "HEAD"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://media.test") as http:
        full = await http.get("/r.mp4")
        first = await http.get("/r.mp4", headers={"Range": "bytes=0-99"})
        tail = await http.get("/r.mp4", headers={"Range": "bytes=-10"})
        beyond = await http.get("/r.mp4", headers={"Range": f"bytes={size}-"})
    assert full.status_code == 200
    assert full.content == whole
    assert full.headers["accept-ranges"] == "bytes"
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.content == whole[:100]
    assert tail.status_code == 206
    assert tail.content == whole[-10:]
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"


@given(
    spans=st.lists(
        st.tuples(st.integers(0, 3000), st.integers(1, 3000), st.floats(0, 1, allow_nan=False)), max_size=12
    ),
    duration_ms=st.integers(0, 4000),
)
@example(spans=[(0, 64, 0.5), (0, 200, 0.2)], duration_ms=200)  # the louder ends exactly at frame 3 (64 ms)
def test_the_loudness_sweep_is_the_loudest_span_playing_at_each_frame(
    spans: list[tuple[int, int, float]], duration_ms: int
) -> None:
    """The sweep gives what asking every span at every frame gives (the way it was first written)."""
    frames = -(-duration_ms * 48000 // (1000 * 1024))
    expected = [
        max((v for start, length, v in spans if start <= i * 1024 * 1000 / 48000 < start + length), default=0.0)
        for i in range(frames)
    ]
    assert list(_loudness(spans, duration_ms)) == expected
