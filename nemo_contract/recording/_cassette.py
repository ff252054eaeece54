"""The cassette: a recorded session as JSON Lines (``specs/cassette.schema.json``), its records, and reading and
writing it.

One object per line, written and flushed as things happen, so a crash costs at most the torn last line. The first
line is ``meta`` (the format's name and integer version, when and by what it was recorded, the service it was
recorded from); then one ``req`` per request, one ``res`` per answer, one ``ev`` per stream event and one ``end``
per stream, each with ``x`` (the exchange it belongs to, numbered as requests start) and ``at`` (milliseconds since
the recording started, on a clock that only moves forward). Exchanges that overlap interleave their lines.

A record is a dataclass whose fields are named as its keys on the line, so encoding and decoding go through the
field names (``dataclasses.fields``) and no key is spelled twice. Bodies (``Body``) are kept as JSON, as text, as
the parts of a form, or, when binary, as digest, size and media type (the bytes too, in base64, when asked).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import typing
import warnings

from ..__version__ import __version__
from ._errors import CassetteError, CassetteVersionError, CassetteWarning
from ._versions import TAG, VERSION, upgrade, validate

__all__ = [
    "FORMAT",
    "NO_JSON",
    "VERSION",
    "Body",
    "Cassette",
    "End",
    "Event",
    "Exchange",
    "Meta",
    "Part",
    "Record",
    "Repeat",
    "Request",
    "Response",
    "decode",
    "encode",
    "iso_time",
    "load",
    "loads",
]

FORMAT = "nemo-cassette"
#: Keys of the format read by name (the rest go through the records' field names).
_FORMAT_KEY, _VERSION_KEY, _PARTS = "format", "v", "parts"

JSON = typing.Any


class _NoJSON:
    """A body that is not JSON (distinct from the JSON value ``null``)."""

    def __repr__(self) -> str:
        return "NO_JSON"


NO_JSON: typing.Final = _NoJSON()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """One part of a ``multipart/form-data`` body: its field name, file name and media type, and its content as
    text (a small text field) or as digest and size (a file), in base64 too when bodies are kept."""

    name: str
    size: int
    filename: str | None = None
    type: str | None = None
    text: str | None = None
    sha256: str | None = None
    b64: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Body:
    """A request's or an answer's body: exactly one of ``json``, ``text``, ``parts`` or ``sha256`` says what it
    is; ``size`` is its length in bytes as sent, before redaction."""

    size: int
    type: str | None = None
    json: JSON = NO_JSON
    text: str | None = None
    parts: tuple[Part, ...] | None = None
    sha256: str | None = None
    b64: str | None = None

    @property
    def is_json(self) -> bool:
        return self.json is not NO_JSON


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Repeat:
    """Written by ``cassette compact``: this answer stands for ``count`` identical ones, ``every_ms`` apart."""

    count: int
    every_ms: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Meta:
    format: str = FORMAT
    v: int
    recorded_at: str
    recorder: str
    target: str | None = None
    redaction: str = "default"
    note: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """``op`` is the operationId of the recorded spec (None off the spec); ``origin`` is set only when the request
    went to another host than the meta's ``target``."""

    x: int
    at: int
    method: str
    path: str
    op: str | None = None
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: Body | None = None
    origin: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """An answer's head, and its body unless it is a stream (``stream: "sse"``); ``error`` instead of a status when
    no answer came (the connection failed)."""

    x: int
    at: int
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: Body | None = None
    stream: str | None = None
    error: str | None = None
    repeat: Repeat | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One event block of a stream with its SSE fields; ``raw`` only when the block's bytes are not what writing
    the fields back gives (a malformed frame, other line ends)."""

    x: int
    at: int
    n: int
    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None
    raw: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class End:
    """How a stream ended: ``by`` server, client or recorder; ``reason`` eof, client_disconnect, reset or
    recording_interrupted; ``outcome`` what the events said (complete, silent_close, error_event), ``rest`` the
    bytes of an unfinished last block."""

    x: int
    at: int
    by: str
    reason: str
    events: int
    outcome: str | None = None
    rest: str | None = None


Record = Meta | Request | Response | Event | End

_TAGS: dict[type, str] = {Meta: "meta", Request: "req", Response: "res", Event: "ev", End: "end"}
_TYPES: dict[str, type] = {tag: kind for kind, tag in _TAGS.items()}
_NESTED = {"body": Body, "repeat": Repeat}
_DATACLASSES = frozenset({Meta, Request, Response, Event, End, Body, Part, Repeat})
#: What ``_plain`` must look into: records, and the tuples that hold headers and parts (JSON values pass as they are).
_NESTED_TYPES = _DATACLASSES | {tuple}
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def iso_time(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_FIELDS: dict[type, tuple[tuple[str, typing.Any], ...]] = {}


def _fields(kind: type) -> tuple[tuple[str, typing.Any], ...]:
    """(name, default) of a record type's fields, in their declared order."""
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple((field.name, field.default) for field in dataclasses.fields(kind))
    return found


def _plain(value: typing.Any) -> JSON:
    """A record's field as JSON: records as objects without their empty defaults, tuples as arrays."""
    kind = type(value)
    if kind in _DATACLASSES:
        found: dict[str, JSON] = {}
        for name, default in _fields(kind):
            item = getattr(value, name)
            if item is NO_JSON or (item is None and default is None) or (item == "" and default == ""):
                continue
            found[name] = _plain(item) if type(item) in _NESTED_TYPES else item
        return found
    if kind is tuple or kind is list:
        return [_plain(item) if type(item) in _NESTED_TYPES else item for item in value]
    return value


def encode(record: Record) -> str:
    """One line (without its newline): the tag first, then the fields in their declared order."""
    return _ENCODER.encode({TAG: _TAGS[type(record)], **_plain(record)})


def _body(value: dict[str, JSON]) -> Body:
    fields = dict(value)
    parts = fields.pop(_PARTS, None)
    if parts is not None:
        fields[_PARTS] = tuple(Part(**part) for part in parts)
    return Body(**fields)


def decode(line: dict[str, JSON]) -> Record:
    """A record from a line already checked against the schema (``_versions.validate``)."""
    fields = {key: value for key, value in line.items() if key != TAG}
    kind = _TYPES[line[TAG]]
    for key, nested in _NESTED.items():
        if isinstance(fields.get(key), dict):
            fields[key] = _body(fields[key]) if nested is Body else nested(**fields[key])
    for key in ("headers",):
        if key in fields:
            fields[key] = tuple((name, value) for name, value in fields[key])
    record: Record = kind(**fields)
    return record


@dataclasses.dataclass(slots=True)
class Exchange:
    """A request with what came back: its answer, a stream's events and how the stream ended (None until known)."""

    request: Request
    response: Response | None = None
    events: list[Event] = dataclasses.field(default_factory=list)
    end: End | None = None

    @property
    def x(self) -> int:
        return self.request.x

    @property
    def is_stream(self) -> bool:
        return self.response is not None and self.response.stream is not None


@dataclasses.dataclass(slots=True)
class Cassette:
    """A loaded cassette: its meta line, its records in file order, its exchanges by number, and the warnings
    loading gave (a torn last line)."""

    meta: Meta
    records: list[Record]
    source: str = "<cassette>"
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def exchanges(self) -> list[Exchange]:
        """Every exchange whose request was recorded, in the order of their numbers."""
        found: dict[int, Exchange] = {}
        for record in self.records:
            if isinstance(record, Request):
                found[record.x] = Exchange(record)
            elif isinstance(record, Response | Event | End) and record.x in found:
                exchange = found[record.x]
                if isinstance(record, Response):
                    exchange.response = record
                elif isinstance(record, Event):
                    exchange.events.append(record)
                else:
                    exchange.end = record
        return [found[x] for x in sorted(found)]

    def dumps(self) -> str:
        """The cassette as it would be written: the meta line, then every record, one per line."""
        return "".join(encode(record) + "\n" for record in (self.meta, *self.records))


def _parse(text: str, source: str) -> tuple[list[tuple[int, dict[str, JSON]]], list[str]]:
    lines = text.split("\n")
    complete = text.endswith("\n")
    if complete:
        lines.pop()
    parsed: list[tuple[int, dict[str, JSON]]] = []
    warned: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        last = number == len(lines) and not complete  # a line still being written has no newline yet
        try:
            value = json.loads(line)
        except ValueError:
            if last and parsed:  # a crash while writing: the rest is intact
                warned.append(f"{source}: line {number} is torn (a recording cut short?); dropped it")
                break
            if not parsed:
                raise CassetteError(f"{source}: not a {FORMAT} (its first line is not JSON)") from None
            raise CassetteError(f"{source}: line {number} is not JSON") from None
        if not isinstance(value, dict):
            raise CassetteError(f"{source}: line {number} is not a JSON object")
        parsed.append((number, value))
    return parsed, warned


def loads(text: str, *, source: str = "<cassette>") -> Cassette:
    """A cassette from its text; raises ``CassetteError`` (a ``ValueError``) naming the line at fault."""
    parsed, warned = _parse(text, source)
    if not parsed:
        raise CassetteError(f"{source}: empty, not a cassette")
    number, first = parsed[0]
    if first.get(TAG) != "meta" or first.get(_FORMAT_KEY) != FORMAT:
        raise CassetteError(f"{source}: not a {FORMAT} (its first line is not a {FORMAT} meta line)")
    version = first.get(_VERSION_KEY)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CassetteError(f"{source}: line {number}: the version must be a whole number")
    if version > VERSION:
        raise CassetteVersionError(
            f"{source} is {FORMAT} version {version}, and this nemo-contract ({__version__}) reads versions up to "
            f"{VERSION}: upgrade nemo-contract to read it"
        )
    records: list[Record] = []
    for number, line in parsed:
        for upgraded in upgrade(line, version):
            problem = validate(upgraded)
            if problem is not None:
                raise CassetteError(f"{source}: line {number}: {problem}")
            records.append(decode(upgraded))
    meta = records.pop(0)
    if not isinstance(meta, Meta) or any(isinstance(record, Meta) for record in records):
        raise CassetteError(f"{source}: a cassette has exactly one meta line, its first")
    for message in warned:
        warnings.warn(message, CassetteWarning, stacklevel=3)
    return Cassette(meta=meta, records=records, source=source, warnings=warned)


def load(path: str | pathlib.Path) -> Cassette:
    """A cassette from a file; ``CassetteError`` for a file that is not one (``OSError`` if it cannot be read)."""
    path = pathlib.Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CassetteError(f"{path}: not UTF-8 text, so not a cassette") from None
    return loads(text, source=str(path))
