"""A body as a cassette keeps it, summed up while its chunks pass (nothing waits for the whole body).

JSON and text bodies are kept (redacted) up to ``TEXT_LIMIT``; a ``multipart/form-data`` body is kept part by
part (a small text field's text, a file's name, media type, size and digest), read with python-multipart's
streaming parser; any other body is kept as its SHA-256, size and media type, and its bytes in base64 too when the
recording was asked to keep bodies. A form's boundary is random for every request, so it is not kept: the parts
are.
"""

from __future__ import annotations

import base64
import hashlib
import json
import typing
import zlib

from ._cassette import Body, Part

if typing.TYPE_CHECKING:
    from ._redact import Redactor

__all__ = ["TEXT_LIMIT", "BodyReader", "header", "media_type"]

#: JSON and text longer than this are kept as a digest instead.
TEXT_LIMIT = 8 * 1024 * 1024
#: A form field without a file name is kept as text up to this length.
FIELD_LIMIT = 64 * 1024


def header(headers: typing.Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of a header (names compared without case)."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_text(kind: str) -> bool:
    return (
        kind.startswith("text/")
        or kind in ("application/json", "application/x-www-form-urlencoded", "application/xml")
        or kind.endswith(("+json", "+xml"))
    )


class _Parts:
    """The parts of a form as python-multipart's parser finds them."""

    def __init__(self, boundary: str, keep: bool) -> None:
        from python_multipart.multipart import MultipartParser

        self.keep = keep
        self.parts: list[dict[str, typing.Any]] = []
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._data: list[bytes] = []
        self._digest = hashlib.sha256()
        self._size = 0
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _begin(self) -> None:
        self._headers, self._data, self._digest, self._size = {}, [], hashlib.sha256(), 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        self._digest.update(chunk)
        self._size += len(chunk)
        if self.keep or self._size <= FIELD_LIMIT:
            self._data.append(chunk)

    def _part_end(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        filename = options.get(b"filename")
        content = b"".join(self._data)
        part: dict[str, typing.Any] = dict(
            name=options.get(b"name", b"").decode("utf-8", "replace"),
            size=self._size,
            filename=None if filename is None else filename.decode("utf-8", "replace"),
            type=self._headers.get(b"content-type", b"").decode("latin-1") or None,
        )
        text = None
        if filename is None and self._size <= FIELD_LIMIT:
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is not None:
            part.update(text=text)
        else:
            part.update(sha256=self._digest.hexdigest())
            if self.keep:
                part.update(b64=base64.b64encode(content).decode("ascii"))
        self.parts.append(part)


class BodyReader:
    """Sums up one body as ``feed`` is given its chunks; ``finish`` gives the ``Body`` (None when empty)."""

    def __init__(self, headers: typing.Sequence[tuple[str, str]], *, redactor: Redactor, keep: bool = False) -> None:
        self.redactor = redactor
        self.keep = keep
        content_type = header(headers, "content-type")
        self.type = content_type
        kind = media_type(content_type)
        self.size = 0
        self._digest = hashlib.sha256()
        self._kept: list[bytes] | None = [] if (keep or _is_text(kind)) else None
        self._text = _is_text(kind)
        self._json = kind == "application/json" or kind.endswith("+json")
        encoding = (header(headers, "content-encoding") or "").strip().lower()
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        self._encoded = encoding in ("gzip", "deflate")
        if encoding and not self._encoded and encoding != "identity":
            self._text = self._json = False  # a coding we cannot undo: kept as its digest
        self._parts: _Parts | None = None
        boundary = _boundary(content_type) if kind == "multipart/form-data" else None
        if boundary:
            self._parts = _Parts(boundary, keep)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        self._digest.update(chunk)
        if self._parts is not None:
            try:
                self._parts.parser.write(chunk)
            except Exception:  # not a well-formed form after all: kept as its digest
                self._parts = None
        if self._kept is not None:
            self._kept.append(chunk)
            if self._text and not self.keep and self.size > TEXT_LIMIT:
                self._kept = None  # too long to keep as text

    def _decoded(self, raw: bytes) -> bytes | None:
        if not self._encoded:
            return raw
        try:
            return self._inflate.decompress(raw) + self._inflate.flush()
        except zlib.error:
            return None

    def finish(self) -> Body | None:
        if self.size == 0:
            return None
        kind = self.type
        if self._parts is not None:
            try:
                self._parts.parser.finalize()
            except Exception:
                self._parts = None
        if self._parts is not None and self._parts.parts:
            redact = self.redactor.text
            parts = tuple(
                Part(**{**part, **{key: redact(part[key]) for key in ("filename", "text") if part.get(key)}})
                for part in self._parts.parts
            )
            return Body(size=self.size, type=_no_boundary(kind), parts=parts)
        raw = b"".join(self._kept) if self._kept is not None else None
        if self._text and raw is not None:
            decoded = self._decoded(raw)
            text = None
            if decoded is not None:
                try:
                    text = decoded.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
            if text is not None and self._json:
                try:
                    value = json.loads(text)
                except ValueError:
                    pass
                else:
                    return Body(size=self.size, type=kind, json=self.redactor.json(value))
            if text is not None:
                return Body(size=self.size, type=kind, text=self.redactor.text(text))
        b64 = base64.b64encode(raw).decode("ascii") if self.keep and raw is not None else None
        return Body(size=self.size, type=kind, sha256=self._digest.hexdigest(), b64=b64)


def _boundary(content_type: str | None) -> str | None:
    for piece in (content_type or "").split(";")[1:]:
        name, _, value = piece.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"')
    return None


def _no_boundary(content_type: str | None) -> str | None:
    """The media type without its random boundary (see the module's docstring)."""
    if content_type is None:
        return None
    kept = [piece.strip() for piece in content_type.split(";") if not piece.strip().lower().startswith("boundary=")]
    return "; ".join(kept)
