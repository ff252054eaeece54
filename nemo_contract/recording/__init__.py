"""Record and replay sessions with the NemoVideo agent API, streams and their timing included.

* A cassette (``nemo-cassette``, JSON Lines, ``specs/cassette.schema.json``): ``load``, ``Cassette`` and its
  records. Recorded with ``Recorder``, through the reverse proxy ``RecordingProxy`` (``nemo-mock record``) or the
  httpx transports ``AsyncRecordingTransport`` / ``RecordingTransport``; secrets become placeholders before
  anything is written (``Rules``, ``DEFAULT_RULES``).
* Replayed by ``ReplayApp`` (``nemo-mock replay``) or in-process by ``AsyncReplayTransport`` / ``ReplayTransport``:
  the n-th request of a kind gets the n-th recorded answer, at the recorded pace divided by the speed; a miss is
  ``CassetteMiss`` (an ``AssertionError``) in-process, status 599 over HTTP.
* Looked at and compared: ``write_har`` (HAR 1.2), ``check`` (a server's answers against the recording's shapes),
  ``timeline`` (``cassette show``), ``compact`` (fold identical polls).
* ``cassette_path(name)``: the recordings shipped with the package (``video-to-generator``, ``auto-generator``).

This package never imports the emulator. Names load on first use, so ``import nemo_contract.recording.plugin``
(the pytest plugin) costs nothing until a test uses a cassette.
"""

from __future__ import annotations

import typing

from .. import _lazy

if typing.TYPE_CHECKING:
    from ._cassette import Body, Cassette, End, Event, Exchange, Meta, Request, Response, load, loads
    from ._check import Difference, check
    from ._errors import CassetteError, CassetteMiss, CassetteVersionError, CassetteWarning, RedactionError
    from ._har import write_har
    from ._match import Tail
    from ._proxy import RecordingProxy
    from ._recorder import Recorder
    from ._redact import DEFAULT_RULES, Redactor, Rules
    from ._replay import AsyncReplayTransport, ReplayApp, ReplayTransport, parse_speed
    from ._shipped import SHIPPED, cassette_path
    from ._timeline import compact, timeline
    from ._transport import AsyncRecordingTransport, RecordingTransport

_LOCATIONS: dict[str, str] = {
    "AsyncRecordingTransport": "._transport",
    "AsyncReplayTransport": "._replay",
    "Body": "._cassette",
    "Cassette": "._cassette",
    "CassetteError": "._errors",
    "CassetteMiss": "._errors",
    "CassetteVersionError": "._errors",
    "CassetteWarning": "._errors",
    "check": "._check",
    "compact": "._timeline",
    "cassette_path": "._shipped",
    "DEFAULT_RULES": "._redact",
    "Difference": "._check",
    "End": "._cassette",
    "Event": "._cassette",
    "Exchange": "._cassette",
    "load": "._cassette",
    "loads": "._cassette",
    "Meta": "._cassette",
    "parse_speed": "._replay",
    "Recorder": "._recorder",
    "RecordingProxy": "._proxy",
    "RecordingTransport": "._transport",
    "RedactionError": "._errors",
    "Redactor": "._redact",
    "ReplayApp": "._replay",
    "ReplayTransport": "._replay",
    "Request": "._cassette",
    "Response": "._cassette",
    "Rules": "._redact",
    "SHIPPED": "._shipped",
    "Tail": "._match",
    "timeline": "._timeline",
    "write_har": "._har",
}

__all__ = [  # noqa: RUF022 - sorted case-insensitively, as the root package sorts its own
    "AsyncRecordingTransport",
    "AsyncReplayTransport",
    "Body",
    "Cassette",
    "CassetteError",
    "CassetteMiss",
    "cassette_path",
    "CassetteVersionError",
    "CassetteWarning",
    "check",
    "compact",
    "DEFAULT_RULES",
    "Difference",
    "End",
    "Event",
    "Exchange",
    "load",
    "loads",
    "Meta",
    "parse_speed",
    "Recorder",
    "RecordingProxy",
    "RecordingTransport",
    "RedactionError",
    "Redactor",
    "ReplayApp",
    "ReplayTransport",
    "Request",
    "Response",
    "Rules",
    "SHIPPED",
    "Tail",
    "timeline",
    "write_har",
]

__getattr__, __dir__ = _lazy.lazy_names(globals(), _LOCATIONS)
