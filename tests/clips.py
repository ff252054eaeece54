"""Tiny real media files for the tests, made with PyAV (no fixtures checked into the repository)."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

__all__ = [
    "make_audio",
    "make_gif",
    "make_jpg",
    "make_mov",
    "make_mp4",
    "make_mp4_bytes",
    "make_png",
    "make_video",
    "make_wav",
    "make_webp",
    "png_bomb",
]

# Container format and encoder for each video extension the tests exercise.
_VIDEO_FORMATS: dict[str, tuple[str, str, str]] = {
    # extension: (muxer, encoder, pixel format)
    "mp4": ("mp4", "libx264", "yuv420p"),
    "mov": ("mov", "mpeg4", "yuv420p"),
    "mkv": ("matroska", "libx264", "yuv420p"),
    "webm": ("webm", "libvpx", "yuv420p"),
    "avi": ("avi", "mpeg4", "yuv420p"),
}


def _fill(frame: VideoFrame, index: int) -> None:
    """Paint frame ``index`` a flat shade that changes over time, so the encoder has something to encode."""
    for plane_no, plane in enumerate(frame.planes):
        value = (40 + 7 * index + 50 * plane_no) % 220 + 16
        plane.update(bytes([value]) * plane.buffer_size)


def make_video(path: Path, *, width: int = 64, height: int = 48, duration: float = 1.0, fps: int = 25) -> Path:
    """Write a ``duration``-second clip of ``width`` x ``height`` at ``fps``; the container follows the suffix."""
    import av

    muxer, encoder, pix_fmt = _VIDEO_FORMATS[path.suffix.lstrip(".").lower()]
    frames = max(1, round(duration * fps))
    with av.open(str(path), "w", format=muxer) as out:
        stream = out.add_stream(encoder, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width = width
        stream.height = height
        stream.pix_fmt = pix_fmt
        stream.codec_context.time_base = Fraction(1, fps)
        if encoder == "libx264":
            stream.codec_context.options = {"preset": "ultrafast"}
        for index in range(frames):
            frame = av.VideoFrame(width, height, pix_fmt)
            _fill(frame, index)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def make_mp4(path: Path, *, width: int = 64, height: int = 48, duration: float = 1.0, fps: int = 25) -> Path:
    """An H.264 MP4 (moov at the end, as a plain encode writes it)."""
    return make_video(path.with_suffix(".mp4"), width=width, height=height, duration=duration, fps=fps)


def make_mp4_bytes(*, width: int = 64, height: int = 48, duration: float = 0.5) -> bytes:
    """The bytes of a small H.264 MP4 (made in a temporary folder)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return make_mp4(Path(folder) / "clip", width=width, height=height, duration=duration).read_bytes()


def make_mov(path: Path, *, width: int = 64, height: int = 48, duration: float = 1.0, fps: int = 25) -> Path:
    """A QuickTime MOV with MPEG-4 part 2 video."""
    return make_video(path.with_suffix(".mov"), width=width, height=height, duration=duration, fps=fps)


def make_wav(path: Path, *, duration: float = 1.0, sample_rate: int = 16000) -> Path:
    """A mono 16-bit PCM WAV of silence."""
    return make_audio(path.with_suffix(".wav"), duration=duration, sample_rate=sample_rate)


def _still(path: Path, encoder: str, pix_fmt: str, width: int, height: int) -> Path:
    """Encode one picture with an image codec and write the packet as the whole file."""
    import av

    context = av.CodecContext.create(encoder, "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width = width
    context.height = height
    context.pix_fmt = pix_fmt
    context.time_base = Fraction(1, 25)
    frame = av.VideoFrame(width, height, pix_fmt)
    _fill(frame, 0)
    frame.pts = 0
    packets = context.encode(frame) + context.encode(None)
    path.write_bytes(b"".join(bytes(packet) for packet in packets))
    return path


def make_png(path: Path, *, width: int = 32, height: int = 24) -> Path:
    return _still(path.with_suffix(".png"), "png", "rgb24", width, height)


def make_jpg(path: Path, *, width: int = 32, height: int = 24) -> Path:
    return _still(path.with_suffix(".jpg"), "mjpeg", "yuvj420p", width, height)


def make_gif(path: Path, *, width: int = 32, height: int = 24) -> Path:
    """A single-frame GIF, written through the gif muxer so it has a proper trailer."""
    import av

    path = path.with_suffix(".gif")
    with av.open(str(path), "w", format="gif") as out:
        stream = out.add_stream("gif", rate=10)
        assert isinstance(stream, av.VideoStream)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "rgb8"
        frame = av.VideoFrame(width, height, "rgb24").reformat(format="rgb8")
        frame.pts = 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def make_webp(path: Path, *, width: int = 32, height: int = 24, lossless: bool = False, frames: int = 1) -> Path:
    """A WebP written by libwebp: lossy (a VP8 chunk), lossless (VP8L), or animated (a VP8X header)."""
    import av

    path = path.with_suffix(".webp")
    encoder = "libwebp_anim" if frames > 1 else "libwebp"
    with av.open(str(path), "w", format="webp") as out:
        stream = out.add_stream(encoder, rate=10)
        assert isinstance(stream, av.VideoStream)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p" if not lossless else "bgra"
        if lossless:
            stream.codec_context.options = {"lossless": "1"}
        for index in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            _fill(frame, index)
            frame = frame.reformat(format=stream.pix_fmt)
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


#: Audio files by extension: (muxer, encoder, sample format).
_AUDIO_FORMATS: dict[str, tuple[str, str, str]] = {
    "mp3": ("mp3", "libmp3lame", "s16p"),
    "aac": ("adts", "aac", "fltp"),
    "m4a": ("ipod", "aac", "fltp"),
    "wav": ("wav", "pcm_s16le", "s16"),
}


def make_audio(path: Path, *, duration: float = 1.0, sample_rate: int = 44100) -> Path:
    """A mono tone-free audio file; the container and codec follow the suffix (mp3, aac, m4a, wav)."""
    import av

    muxer, encoder, sample_format = _AUDIO_FORMATS[path.suffix.lstrip(".").lower()]
    total = round(duration * sample_rate)
    with av.open(str(path), "w", format=muxer) as out:
        stream = out.add_stream(encoder, rate=sample_rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        chunk = stream.codec_context.frame_size or 1024
        done = 0
        while done < total:
            count = min(chunk, total - done)
            frame = av.AudioFrame(format=sample_format, layout="mono", samples=count)
            frame.planes[0].update(bytes(frame.planes[0].buffer_size))
            frame.sample_rate = sample_rate
            frame.pts = done
            frame.time_base = Fraction(1, sample_rate)
            out.mux(stream.encode(frame))
            done += count
        out.mux(stream.encode(None))
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 16000, height: int = 16000) -> bytes:
    """A valid RGBA PNG of ``width`` x ``height`` black pixels: about 1 KB per MB it decodes to (1 GB at the default
    size, from under 1 MB of file), made in milliseconds.

    The image data is all zeros (filter byte and pixels). Deflate, after a full flush, encodes each further MiB of
    zeros to the same bytes, so one MiB is compressed and its encoding repeated; the zlib checksum of n zero bytes
    is computed directly (Adler-32: a stays 1, b is n mod 65521).
    """
    raw = (1 + 4 * width) * height
    block = 1 << 20
    compressor = zlib.compressobj(9)
    blocks = raw // block
    data = b""
    if blocks:
        data = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)  # with the zlib header
    if blocks > 1:
        data += (compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)) * (blocks - 1)
    tail = compressor.compress(bytes(raw % block)) + compressor.flush()
    data += tail[:-4] + struct.pack(">I", (raw % 65521) << 16 | 1)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
