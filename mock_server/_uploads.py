"""Multipart uploads streamed straight to disk.

The body is read from ``request.stream()`` and fed to python-multipart's streaming parser, so neither the body
nor a file is ever held in memory, the size limit is enforced while the bytes arrive, and parts are named by
this module (``request.form()`` would spool whole files before any of that could happen). Parsing, hashing and
writing run in a worker thread, a batch of chunks at a time, so disk I/O never stalls the event loop.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from mock_server._disk import Area, DiskFull
from mock_server._errors import ProtocolError
from nemo_contract.protocol import ACCEPTED_FORMATS_TEXT, MAX_UPLOAD_BYTES, Code, FileType, file_type_for

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks
    from starlette.requests import Request

__all__ = [
    "MAX_FILES_PER_UPLOAD",
    "MAX_PARTS",
    "MULTIPART_ALLOWANCE",
    "StoredFile",
    "clean_filename",
    "receive_multipart",
]

#: The most file parts one request may carry, and the most parts of any field: past either the request is
#: refused (400) as soon as the part begins, and the files it had written are deleted.
MAX_FILES_PER_UPLOAD = 100
MAX_PARTS = 2 * MAX_FILES_PER_UPLOAD

#: Part names whose contents are files; every other part is skipped unread.
_FILE_FIELDS = frozenset({"files", "file"})
#: Room for boundaries and part headers on top of the file bytes when judging a declared Content-Length.
MULTIPART_ALLOWANCE = 1024 * 1024
_MAX_FILENAME = 255
#: Chunks are handed to the worker thread once this many bytes have arrived (bounds memory and thread hops).
_BATCH_BYTES = 256 * 1024
_WRITE_BUFFER = 1024 * 1024
_DIGITS = re.compile(r"[0-9]+")
#: python-multipart refuses longer boundaries (RFC 2046 asks for at most 70).
_MAX_BOUNDARY = 256


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One uploaded file, written under the destination directory with a generated name."""

    filename: str  # the client's basename, sanitised (never used to build a path)
    path: Path
    size: int
    sha256: str
    file_type: FileType


async def receive_multipart(
    request: Request,
    dest: Path,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    area: Area | None = None,
    max_files: int = MAX_FILES_PER_UPLOAD,
    too_many: str | None = None,
) -> list[StoredFile]:
    """Store every file part (field ``files``, repeatable, or ``file``) of a multipart/form-data request.

    Raises ``ProtocolError``: 400 for a missing or wrong Content-Type, a malformed or truncated body, no file
    part, more than ``max_files`` file parts (the message is ``too_many`` when given) or more than MAX_PARTS
    parts; 4002 when the declared length or the file bytes exceed ``max_bytes``, or when ``area`` (the
    emulator's files, which count every byte written) reaches its cap; 4001 for a file whose extension is not
    accepted. Whatever goes wrong (a client disconnect included), the files this call wrote are deleted.
    """
    boundary = _boundary(request.headers.get("content-type"))
    declared = _declared_length(request.headers.get("content-length"))
    if declared is not None and declared > max_bytes + MULTIPART_ALLOWANCE:
        raise ProtocolError(Code.FILE_TOO_LARGE, _too_large(max_bytes))

    receiver = _Receiver(dest, max_bytes, area, max_files, too_many)
    try:
        parser = MultipartParser(boundary, receiver.callbacks())
        received = await _pump(request, parser, receiver, limit=max_bytes + MULTIPART_ALLOWANCE)
        if received == 0:
            raise ProtocolError(Code.BAD_REQUEST, "The request body is empty.")
        if not receiver.finished:
            raise ProtocolError(Code.BAD_REQUEST, "The multipart body ended before its closing boundary.")
        if not receiver.stored:
            raise ProtocolError(Code.BAD_REQUEST, "The request has no file part (field 'files' or 'file').")
    except FormParserError as exc:
        receiver.discard()
        raise ProtocolError(Code.BAD_REQUEST, "The multipart body is malformed.") from exc
    except BaseException:
        receiver.discard()
        raise
    return list(receiver.stored)


async def _pump(request: Request, parser: MultipartParser, receiver: _Receiver, *, limit: int) -> int:
    """Feed the body to the parser in batches; return how many body bytes arrived."""
    received = 0
    batch: list[bytes] = []
    pending = 0
    async with aclosing(request.stream()) as chunks:
        async for chunk in chunks:
            if not chunk:
                continue
            received += len(chunk)
            if received > limit:
                # A body this long cannot be within the limit whatever its framing; stop reading now.
                raise ProtocolError(Code.FILE_TOO_LARGE, _too_large(receiver.max_bytes))
            batch.append(chunk)
            pending += len(chunk)
            if pending >= _BATCH_BYTES:
                await anyio.to_thread.run_sync(receiver.feed, parser, batch)
                batch, pending = [], 0
    if batch:
        await anyio.to_thread.run_sync(receiver.feed, parser, batch)
    return received


def _boundary(content_type: str | None) -> bytes:
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary", b"")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > _MAX_BOUNDARY:
        raise ProtocolError(Code.BAD_REQUEST, "The Content-Type must be multipart/form-data with a boundary.")
    return boundary


def _declared_length(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        raise ProtocolError(Code.BAD_REQUEST, "The Content-Length header is not a number.")
    # Past 30 digits it is over any limit; int() of a huge digit string is slow (and capped by Python).
    return int(text) if len(text) <= 30 else 10**30


def _too_large(max_bytes: int) -> str:
    mib = 1024 * 1024
    limit = f"{max_bytes // mib} MB" if max_bytes % mib == 0 else f"{max_bytes} bytes"
    return f"The upload is larger than the {limit} limit."


def clean_filename(raw: str) -> str:
    """The client's filename reduced to a harmless basename: no directories, no control or format characters,
    at most 255 characters (keeping the extension), and ``upload`` when nothing is left."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: NUL, newlines, DEL...; Cf: bidi overrides that disguise an extension; Zl/Zp: line separators.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"}).strip()
    if name in {"", ".", ".."}:
        return "upload"
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= 16:
            name = f"{stem[: _MAX_FILENAME - len(ext) - 1]}.{ext}"
        else:
            name = name[:_MAX_FILENAME]
    return name


class _Sink:
    """A file being written, with its running size and digest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.digest = hashlib.sha256()
        # "x": a generated name that already exists is a bug, never something to overwrite.
        self.file: BinaryIO = open(path, "xb", buffering=_WRITE_BUFFER)  # noqa: SIM115 - closed by _Receiver

    def write(self, data: memoryview) -> None:
        self.file.write(data)
        self.digest.update(data)
        self.size += len(data)


class _Receiver:
    """The parser's callbacks: collects part headers, routes file parts to disk, tracks what was written."""

    def __init__(
        self,
        dest: Path,
        max_bytes: int,
        area: Area | None = None,
        max_files: int = MAX_FILES_PER_UPLOAD,
        too_many: str | None = None,
    ) -> None:
        self.dest = dest
        self.max_bytes = max_bytes
        self.area = area
        self._charged = 0
        self.max_files = max_files
        self.too_many = too_many or f"The upload has more than {max_files} files, the most one upload may hold."
        self._parts = 0
        self.stored: list[StoredFile] = []
        self.finished = False
        self._written: list[Path] = []
        self._file_bytes = 0
        self._headers: dict[str, str] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._sink: _Sink | None = None
        self._filename = ""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def feed(self, parser: MultipartParser, chunks: list[bytes]) -> None:
        for chunk in chunks:
            parser.write(chunk)

    def discard(self) -> None:
        """Delete every file this request wrote (the one being written included)."""
        if self._sink is not None:
            self._sink.file.close()
            self._sink = None
        for path in self._written:
            path.unlink(missing_ok=True)
        if self.area is not None:
            self.area.release(self._charged)
        self._charged = 0
        self._written.clear()
        self.stored.clear()

    # -- parser callbacks (called from inside ``parser.write``) --

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise ProtocolError(Code.BAD_REQUEST, f"The multipart body has more than {MAX_PARTS} parts.")
        self._headers.clear()
        self._field.clear()
        self._value.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        # Header bytes are latin-1 on the wire; parse_options_header hands the raw bytes back for decoding.
        self._headers[self._field.decode("latin-1").strip().lower()] = self._value.decode("latin-1")
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        kind, params = parse_options_header(self._headers.get("content-disposition"))
        name = params.get(b"name")
        if kind != b"form-data" or name is None:
            raise ProtocolError(Code.BAD_REQUEST, "A multipart part lacks a 'Content-Disposition: form-data' name.")
        if name.decode("utf-8", "replace") not in _FILE_FIELDS:
            return
        filename = clean_filename(params.get(b"filename", b"").decode("utf-8", "replace"))
        if file_type_for(filename) is None:
            raise ProtocolError(
                Code.UNSUPPORTED_FILE_TYPE,
                f"The file type of {filename!r} is not supported; accepted formats: {ACCEPTED_FORMATS_TEXT}.",
            )
        if len(self._written) >= self.max_files:
            raise ProtocolError(Code.BAD_REQUEST, self.too_many)
        extension = filename.rpartition(".")[2].lower()
        # Not from the seed on purpose: a disk name is never on the wire, and it must not collide with the
        # files of another emulator (or an earlier run) sharing the data directory.
        path = self.dest / f"{uuid.uuid4().hex}.{extension}"
        self.dest.mkdir(parents=True, exist_ok=True)
        self._sink = _Sink(path)
        self._written.append(path)
        self._filename = filename

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._sink is None:
            return  # not a file part: its bytes are skipped, never kept
        self._file_bytes += end - start
        if self._file_bytes > self.max_bytes:
            raise ProtocolError(Code.FILE_TOO_LARGE, _too_large(self.max_bytes))
        if self.area is not None:
            try:
                self.area.charge(end - start)
            except DiskFull as exc:
                raise ProtocolError(Code.FILE_TOO_LARGE, str(exc)) from None
            self._charged += end - start
        self._sink.write(memoryview(data)[start:end])

    def _part_end(self) -> None:
        sink, self._sink = self._sink, None
        if sink is None:
            return
        sink.file.close()
        file_type = file_type_for(self._filename)
        assert file_type is not None  # checked when the part's headers arrived
        self.stored.append(StoredFile(self._filename, sink.path, sink.size, sink.digest.hexdigest(), file_type))

    def _end(self) -> None:
        self.finished = True
