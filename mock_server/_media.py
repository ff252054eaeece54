"""Real media for the emulator: render outputs (and, from ``_probe``, what an uploaded file says about itself).

``render_mp4`` writes a genuine H.264 MP4 of a still picture quickly enough to do on request: one closed GOP is
encoded once (and cached), then the file is built by muxing copies of those packets with shifted timestamps, so
a 30-minute file costs no encoding. The draft's audio tracks become an AAC track the same way: a steady tone
(one encoded frame per loudness, cached) where a segment plays, an encoded silence elsewhere. ``av`` is imported
inside the functions that use it, to keep the package's import time low.
"""

from __future__ import annotations

import array
import contextlib
import functools
import heapq
import math
import os
import typing
import uuid
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

from ._probe import MediaInfo, probe

__all__ = ["AudioSpan", "MediaInfo", "probe", "render_mp3", "render_mp4"]

_MIN_SIDE, _MAX_SIDE = 16, 4096
_MIN_DURATION_MS, _MAX_DURATION_MS = 100, 30 * 60 * 1000
_MIN_FPS, _MAX_FPS = 1, 120
#: Frames per encoded GOP at most: a keyframe about every second, without the first render of a large
#: high-frame-rate picture encoding hundreds of frames.
_MAX_GOP_FRAMES = 30
#: Timestamps are counted in 1/(fps * _TICKS) seconds, so the last frame can be cut to land the duration
#: on the exact millisecond while every other frame lasts exactly _TICKS ticks.
_TICKS = 1000
#: The audio track: mono AAC at 48 kHz, 1024 samples a frame; the tone (375 Hz) fits a frame exactly, so every
#: frame of it encodes alike and one encoded frame can stand for all.
_RATE, _FRAME, _TONE_HZ = 48000, 1024, 375
#: Loudness is kept in steps of 5 %: a handful of encoded frames serve every volume.
_VOLUME_STEPS = 20
#: (start ms, duration ms, volume 0..1) of a sound in the render.
AudioSpan = tuple[int, int, float]


# --------------------------------------------------------------------------------------------------- rendering


def render_mp4(
    path: Path,
    *,
    width: int,
    height: int,
    duration_ms: int,
    fps: int = 30,
    color: tuple[int, int, int] = (24, 24, 32),
    audio: Sequence[AudioSpan] = (),
) -> int:
    """Write an H.264 (yuv420p) MP4 of a still ``color`` picture at ``path`` and return its size in bytes.

    The file appears atomically (written beside ``path``, then renamed). Its duration is ``duration_ms`` to
    the millisecond; the moov box is at the front so players can start from a partial (Range) download. With
    ``audio`` spans it has an AAC track too: a tone at each span's volume while it plays (the loudest where
    spans overlap), silence elsewhere.
    """
    _check_render_args(width, height, duration_ms, fps, color)
    import av

    # Normalised to a plain tuple: it is a cache key, and a caller may have passed a list.
    gop = _encoded_gop(width, height, fps, (int(color[0]), int(color[1]), int(color[2])))
    time_base = Fraction(1, fps * _TICKS)
    end = duration_ms * fps  # in ticks: duration_ms / 1000 s * (fps * _TICKS) ticks/s
    frame_count = -(-end // _TICKS)

    options = {"movflags": "+faststart"}
    with _written_atomically(path) as temp, av.open(str(temp), "w", format="mp4", container_options=options) as out:
        stream = out.add_mux_stream("h264", rate=fps, width=width, height=height, time_base=time_base)
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=_RATE, layout="mono")
            sound.codec_context.format = "fltp"

        def pictures() -> Iterator[tuple[Fraction, typing.Any]]:
            for index in range(frame_count):
                # A trailing partial GOP is just its first frames: P-frames only refer backwards.
                data, keyframe = gop[index % len(gop)]
                packet = av.Packet(data)
                packet.stream = stream
                packet.time_base = time_base
                packet.pts = packet.dts = index * _TICKS
                packet.duration = min(_TICKS, end - index * _TICKS)
                packet.is_keyframe = keyframe
                yield Fraction(index, fps), packet

        def sounds(track: typing.Any) -> Iterator[tuple[Fraction, typing.Any]]:
            for index, data in enumerate(_audio_frames(audio, duration_ms)):
                packet = av.Packet(data)
                packet.stream = track
                packet.time_base = Fraction(1, _RATE)
                packet.pts = packet.dts = index * _FRAME
                packet.duration = _FRAME
                yield Fraction(index * _FRAME, _RATE), packet

        # Interleaved by time, so the muxer never holds one track while it waits for the other.
        merged = heapq.merge(pictures(), sounds(sound), key=lambda item: item[0]) if sound is not None else pictures()
        for _, packet in merged:
            out.mux_one(packet)
    return path.stat().st_size


def _audio_frames(spans: Sequence[AudioSpan], duration_ms: int) -> Iterator[bytes]:
    """The encoded AAC frames of the track: per frame, the tone at the loudest span playing then, else silence."""
    for volume in _loudness(spans, duration_ms):
        yield _tone_frame(round(min(max(volume, 0.0), 1.0) * _VOLUME_STEPS))


def _loudness(spans: Sequence[AudioSpan], duration_ms: int) -> Iterator[float]:
    """Per frame, the volume of the loudest span playing at its start (0 when none is).

    One sweep over the frames with the spans in start order and a heap of those begun, so a draft with many
    segments costs (frames + spans) log spans, not frames x spans.
    """
    waiting = sorted(spans, key=lambda span: span[0])
    playing: list[tuple[float, float]] = []  # (-volume, end)
    next_span = 0
    for index in range(-(-duration_ms * _RATE // (1000 * _FRAME))):
        at = index * _FRAME * 1000 / _RATE
        while next_span < len(waiting) and waiting[next_span][0] <= at:
            start, length, volume = waiting[next_span]
            heapq.heappush(playing, (-volume, start + length))
            next_span += 1
        while playing and playing[0][1] <= at:  # the loudest has ended: the next loudest may still play
            heapq.heappop(playing)
        yield -playing[0][0] if playing else 0.0


@functools.lru_cache(maxsize=_VOLUME_STEPS + 1)
def _tone_frame(step: int) -> bytes:
    """One steady encoded frame of the tone at ``step`` / 20 of its full loudness (0: silence)."""
    import av

    encoder = av.CodecContext.create("aac", "w")
    encoder.sample_rate = _RATE
    encoder.layout = "mono"
    encoder.format = "fltp"
    encoder.time_base = Fraction(1, _RATE)
    amplitude = 0.5 * step / _VOLUME_STEPS
    tone = array.array("f", (amplitude * math.sin(2 * math.pi * _TONE_HZ * i / _RATE) for i in range(_FRAME)))
    packets = []
    for index in range(10):  # past the encoder's start-up: its later frames are the steady ones
        frame = av.AudioFrame(format="fltp", layout="mono", samples=_FRAME)
        frame.planes[0].update(tone.tobytes())
        frame.sample_rate = _RATE
        frame.pts = index * _FRAME
        packets.extend(encoder.encode(frame))
    return bytes(packets[-1])


@contextlib.contextmanager
def _written_atomically(path: Path) -> Iterator[Path]:
    """A temp path beside ``path`` to write; renamed onto ``path`` when the block ends well, removed if not,
    so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique temp name (not from the seed: never on the wire) lets two writers race without clobbering.
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _check_render_args(width: int, height: int, duration_ms: int, fps: int, color: tuple[int, int, int]) -> None:
    for name, side in (("width", width), ("height", height)):
        if not isinstance(side, int) or not _MIN_SIDE <= side <= _MAX_SIDE or side % 2:
            raise ValueError(f"{name} must be an even number of pixels from {_MIN_SIDE} to {_MAX_SIDE}, not {side!r}.")
    if not isinstance(duration_ms, int) or not _MIN_DURATION_MS <= duration_ms <= _MAX_DURATION_MS:
        raise ValueError(
            f"duration_ms must be from {_MIN_DURATION_MS} to {_MAX_DURATION_MS} (30 minutes), not {duration_ms!r}."
        )
    if not isinstance(fps, int) or not _MIN_FPS <= fps <= _MAX_FPS:
        raise ValueError(f"fps must be a whole number from {_MIN_FPS} to {_MAX_FPS}, not {fps!r}.")
    if not isinstance(color, tuple | list) or len(color) != 3 or not all(_is_byte(c) for c in color):
        raise ValueError(f"color must be three integers from 0 to 255 (red, green, blue), not {color!r}.")


def _is_byte(value: object) -> bool:
    return isinstance(value, int) and 0 <= value <= 255


def _yuv(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited-range Y'CbCr of an sRGB colour: what decoders assume for an untagged stream."""
    r, g, b = (c / 255 for c in color)
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return round(y), round(cb), round(cr)


@functools.lru_cache(maxsize=8)
def _encoded_gop(width: int, height: int, fps: int, color: tuple[int, int, int]) -> tuple[tuple[bytes, bool], ...]:
    """One closed GOP of the still picture as (Annex B packet bytes, is keyframe), in decode order.

    No B-frames, so decode order is presentation order and the packets can be laid end to end. The first
    packet is an IDR carrying SPS/PPS in-band; the muxer lifts them into the avcC box.
    """
    import av

    frames = min(fps, _MAX_GOP_FRAMES)
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, fps)
    encoder.framerate = Fraction(fps, 1)
    encoder.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "x264-params": f"keyint={frames}:min-keyint={frames}:scenecut=0:bframes=0:open-gop=0",
    }
    picture = av.VideoFrame(width, height, "yuv420p")
    for plane, value in zip(picture.planes, _yuv(color), strict=True):
        plane.update(bytes([value]) * plane.buffer_size)

    packets = []
    for index in range(frames):
        picture.pts = index
        packets.extend(encoder.encode(picture))
    packets.extend(encoder.encode(None))
    if len(packets) != frames or not packets[0].is_keyframe or any(p.is_keyframe for p in packets[1:]):
        raise RuntimeError(f"libx264 produced an unexpected GOP ({len(packets)} packets for {frames} frames).")
    return tuple((bytes(p), bool(p.is_keyframe)) for p in packets)


def render_mp3(path: Path, *, duration_ms: int, sample_rate: int = 22050) -> int:
    """Write a quiet-tone MP3 of ``duration_ms`` (the emulator's stand-in for generated music); returns its size."""
    if not _MIN_DURATION_MS <= duration_ms <= _MAX_DURATION_MS:
        raise ValueError(f"duration must be {_MIN_DURATION_MS} ms to {_MAX_DURATION_MS} ms, not {duration_ms}")
    import array

    import av

    samples = duration_ms * sample_rate // 1000
    chunk = 1152  # one MP3 frame of samples
    # One period-aligned block of a soft 220 Hz tone, reused for every frame.
    tone = array.array("h", (int(1600 * math.sin(2 * math.pi * 220 * i / sample_rate)) for i in range(chunk)))
    with _written_atomically(path) as temp, av.open(str(temp), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=sample_rate, layout="mono")
        for start in range(0, samples, chunk):
            count = min(chunk, samples - start)
            frame = av.AudioFrame(format="s16p", layout="mono", samples=count)
            frame.planes[0].update(tone[:count].tobytes())
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path.stat().st_size
