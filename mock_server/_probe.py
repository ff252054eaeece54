"""What an uploaded file says about itself, read without decoding what is not needed.

A file is first recognised by its leading bytes (its signature), never by its name. Pictures (PNG, JPEG, GIF,
WebP) are then described from their header alone: width and height are a few bytes near the start, so a
"decompression bomb" (a small PNG that inflates to gigabytes) costs nothing to describe and is refused for its
size. The four headers are parsed here by hand because they are small, fixed and documented, and because a
picture library (Pillow) would add a large native dependency to read four integers; FFmpeg is not used for them
because its stream-info pass decodes the first frame to learn the pixel format.

Audio and video containers (ISO BMFF/QuickTime, Matroska/WebM, AVI, WAV, MP3, ADTS/ADIF AAC) are opened with
PyAV, with the demuxer chosen from the signature (so FFmpeg never guesses an image format inside them) and with
decoders limited to pictures of at most ``MAX_VIDEO_PIXELS`` (FFmpeg's ``max_pixels``): a container that declares
a larger picture cannot make its stream-info pass allocate more than that, at most ``MAX_CONCURRENT_PROBES`` at a
time (see ``probe_upload``).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar

from nemo_contract.protocol import FileType

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.stream import Stream

__all__ = [
    "MAX_CONCURRENT_PROBES",
    "MAX_SIDE",
    "MAX_VIDEO_PIXELS",
    "MediaInfo",
    "NotMedia",
    "check_media",
    "probe",
    "probe_upload",
]

#: The largest picture an upload may declare, per side (images and videos). Drafts render at most 1920 per
#: side; uploads in the wild are larger (a 48-megapixel photo is 8000x6000), so the limit is generous.
MAX_SIDE = 8192
#: The most pixels a video frame may have (8K, 8192x4320): the bound of what a probe may decode.
MAX_VIDEO_PIXELS = 8192 * 4320
#: Probes that may run at once, whatever the number of uploads arriving together.
MAX_CONCURRENT_PROBES = 2

#: The first box of an ISO BMFF / QuickTime file (old QuickTime files start with something other than ftyp).
_BMFF_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
_PICTURES = frozenset({"png", "jpeg", "gif", "webp"})
#: FFmpeg demuxer options: a handful of streams is plenty for an upload, and each one costs a decoder.
_CONTAINER_OPTIONS = {"max_streams": "16"}
#: JPEG segments skipped at most while looking for the frame header (each is at most 64 KiB).
_MAX_JPEG_SEGMENTS = 1024


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a media file says about itself; None wherever it does not say (or could not be read)."""

    duration: float | None
    width: int | None
    height: int | None
    fps: float | None


_UNKNOWN = MediaInfo(None, None, None, None)


_A = {FileType.VIDEO: "a", FileType.IMAGE: "an", FileType.AUDIO: "an"}


class NotMedia(ValueError):
    """A file whose bytes are not the media its name says, or whose picture is beyond the limits."""


def probe(path: Path) -> MediaInfo:
    """Duration (s), width, height and fps of the media file at ``path``; all None when it is not readable media.

    Images have no duration or fps, audio has no width, height or fps. Never raises.
    """
    try:
        return _examine(path)[1]
    except (OSError, ValueError, struct.error):
        return _UNKNOWN


def check_media(path: Path, filename: str, file_type: FileType) -> MediaInfo:
    """The metadata of an upload named ``filename``, or NotMedia (with a message naming the file) when its
    bytes are not ``file_type`` media or its picture is larger than the limits."""
    try:
        kinds, info = _examine(path)
    except (OSError, ValueError, struct.error):
        kinds, info = frozenset(), _UNKNOWN
    if file_type not in kinds:
        if _is_empty(path):
            raise NotMedia(f"{filename!r} is empty.")
        what = f"not {_A[file_type]} {file_type.value} file the emulator can read"
        if kinds:
            what += f" (its bytes are {' and '.join(_A[k] + ' ' + k.value for k in sorted(kinds))})"
        elif file_type is FileType.VIDEO:
            what += f" (or its picture is larger than {_limit_text(video=True)})"
        raise NotMedia(f"{filename!r} is {what}.")
    if info.width is not None and info.height is not None and file_type is not FileType.AUDIO:
        too_large = max(info.width, info.height) > MAX_SIDE
        if file_type is FileType.VIDEO:
            too_large = too_large or info.width * info.height > MAX_VIDEO_PIXELS
        if too_large:
            raise NotMedia(
                f"{filename!r} is {info.width}x{info.height} pixels; "
                f"the limit is {_limit_text(video=file_type is FileType.VIDEO)}."
            )
    return info


async def probe_upload(path: Path, filename: str, file_type: FileType) -> MediaInfo:
    """``check_media`` in a worker thread, at most ``MAX_CONCURRENT_PROBES`` at a time in this event loop."""
    return await anyio.to_thread.run_sync(check_media, path, filename, file_type, limiter=_limiter())


_LIMITER: RunVar[CapacityLimiter] = RunVar("nemo_mock_probe_limiter")


def _limiter() -> CapacityLimiter:
    # A RunVar holds one limiter per event loop: an emulator may be driven from several loops (tests do).
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = CapacityLimiter(MAX_CONCURRENT_PROBES)
        _LIMITER.set(limiter)
        return limiter


def _limit_text(*, video: bool) -> str:
    side = f"{MAX_SIDE} pixels on each side"
    return f"{side} and 8192x4320 pixels in all" if video else side


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


# ------------------------------------------------------------------------------------------------ recognising


def _examine(path: Path) -> tuple[frozenset[FileType], MediaInfo]:
    """(the kinds of media the file holds, its metadata), from its signature and headers."""
    with path.open("rb") as file:
        head = file.read(32)
        container = _sniff(file, head)
        if container in _PICTURES:
            width, height = _picture_size(file, head, container)
            if width <= 0 or height <= 0:
                return frozenset(), _UNKNOWN
            return frozenset({FileType.IMAGE}), MediaInfo(None, width, height, None)
    if container is None:
        return frozenset(), _UNKNOWN
    return _av_examine(path, container)


def _sniff(file: BinaryIO, head: bytes) -> str | None:
    """The format of a file from its first bytes: a picture name, an FFmpeg demuxer name, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[4:8] in _BMFF_BOXES:
        return "mov"
    if head[:4] == b"ADIF":
        return "aac"
    if head[:3] == b"ID3" and len(head) >= 10:
        # An ID3v2 tag (syncsafe size, 7 bits a byte) may precede MP3 or AAC frames; look past it.
        size = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F))
        file.seek(size + (10 if head[5] & 0x10 else 0))
        head = file.read(4)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # Frame sync: ADTS (AAC) has layer bits 00 and a 12-bit sync; MPEG audio layers are 01 to 11.
        if head[1] & 0x06 == 0:
            return "aac" if head[1] & 0xF0 == 0xF0 else None
        return "mp3"
    return None


def _picture_size(file: BinaryIO, head: bytes, kind: str) -> tuple[int, int]:
    """Width and height from the first 32 bytes of a PNG, GIF or WebP, or from the frame header of a JPEG."""
    if kind == "png":  # signature, then the IHDR chunk: length, "IHDR", width, height (big-endian)
        if head[12:16] != b"IHDR":
            return 0, 0
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if kind == "gif":  # the logical screen size (little-endian)
        width, height = struct.unpack("<HH", head[6:10])
        return width, height
    if kind == "webp":
        return _webp_size(head)
    file.seek(2)
    return _jpeg_size(file)


def _webp_size(head: bytes) -> tuple[int, int]:
    chunk, payload = head[12:16], head[20:30]
    if chunk == b"VP8 " and payload[3:6] == b"\x9d\x01\x2a":  # lossy: a key frame's start code, 14-bit sizes
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and payload[:1] == b"\x2f":  # lossless: 14 bits of width - 1, then of height - 1
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width - 1 and height - 1 after flags and reserved bytes
        return int.from_bytes(payload[4:7], "little") + 1, int.from_bytes(payload[7:10], "little") + 1
    return 0, 0


def _jpeg_size(file: BinaryIO) -> tuple[int, int]:
    """The size in the first frame header (SOF0-SOF15 but DHT, JPG and DAC), skipping other segments."""
    for _ in range(_MAX_JPEG_SEGMENTS):
        byte = file.read(1)
        while byte == b"\xff":  # fill bytes before a marker
            byte = file.read(1)
        if not byte:
            return 0, 0
        marker = byte[0]
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        length = struct.unpack(">H", file.read(2))[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            _precision, height, width = struct.unpack(">BHH", file.read(5))
            return width, height
        if marker == 0xD9 or length < 2:  # end of image, or a broken length
            return 0, 0
        file.seek(length - 2, 1)
        if file.read(1) != b"\xff":
            return 0, 0
    return 0, 0


# ------------------------------------------------------------------------------------------------ containers


def _av_examine(path: Path, container_format: str) -> tuple[frozenset[FileType], MediaInfo]:
    import av

    options = {"max_pixels": str(MAX_VIDEO_PIXELS)}
    try:
        with av.open(
            str(path), "r", format=container_format, options=options, container_options=_CONTAINER_OPTIONS
        ) as container:
            return _describe(container)
    except Exception:  # any failure to open or read the file just means "not media we understand"
        return frozenset(), _UNKNOWN


def _describe(container: InputContainer) -> tuple[frozenset[FileType], MediaInfo]:
    from av.stream import Disposition

    # An MP3's cover art is a video stream too; it says nothing about the picture of the media.
    videos = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    audios = list(container.streams.audio)
    video = next((s for s in videos if s.codec_context.width > 0 and s.codec_context.height > 0), None)
    kinds = {FileType.VIDEO} if video is not None else set()
    if audios:
        kinds.add(FileType.AUDIO)
    if not kinds:
        return frozenset(), _UNKNOWN

    width = video.codec_context.width if video is not None else None
    height = video.codec_context.height if video is not None else None

    duration = _seconds(container.duration, Fraction(1, 1_000_000))
    if duration is None:
        # Some demuxers only know per-stream durations.
        candidates = [_seconds(s.duration, s.time_base) for s in (*videos, *audios)]
        duration = max((d for d in candidates if d is not None), default=None)
    fps = _rate(video) if video is not None else None
    if video is None and duration is None:
        return frozenset(), _UNKNOWN
    return frozenset(kinds), MediaInfo(duration, width, height, fps)


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None or value <= 0:
        return None
    seconds = float(value * time_base)
    return round(seconds, 3) if math.isfinite(seconds) else None


def _rate(stream: Stream) -> float | None:
    for rate in (getattr(stream, "average_rate", None), getattr(stream, "guessed_rate", None)):
        if rate:
            value = float(rate)
            if math.isfinite(value) and 0 < value <= 1000:
                return round(value, 3)
    return None
