"""``cassette har``: a cassette as HAR 1.2, for the tools people already read sessions with.

One entry per exchange, in the order the requests started, redacted as the cassette is (it is written from the
cassette). A stream's entry has its frames' text in ``response.content.text`` and its events with their times in
the entry's ``_eventSourceMessages`` (``{time, eventName, eventId, data}``, time in epoch seconds: the convention
HAR exporters use for EventSource, beside Chrome's ``_webSocketMessages``); comment-only blocks are in the text
but not among the messages, as an EventSource dispatches none for them. ``_nemo`` on each entry holds the exchange
number, the operation and, for a stream, how it ended. A binary body kept as a digest has no text; its digest is
in the content's ``comment``.

The entries are built with harfile's models and written by its ``HarFile``; harfile has no room for an entry's
custom fields, so they are added to the written document before it is saved.
"""

from __future__ import annotations

import datetime
import http
import io
import json
import pathlib
import typing
import urllib.parse

import harfile

from ..__version__ import __version__
from ..protocol.shapes import dumps
from ._cassette import Body, Cassette, Exchange
from ._sse import frame_bytes

__all__ = ["har", "write_har"]


def _started(cassette: Cassette, at: int) -> str:
    anchor = datetime.datetime.fromisoformat(cassette.meta.recorded_at.replace("Z", "+00:00"))
    moment = anchor + datetime.timedelta(milliseconds=at)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(cassette: Cassette, at: int) -> float:
    anchor = datetime.datetime.fromisoformat(cassette.meta.recorded_at.replace("Z", "+00:00"))
    return round(anchor.timestamp() + at / 1000, 3)


def _records(pairs: typing.Iterable[tuple[str, str]]) -> list[harfile.Record]:
    return [harfile.Record(name=name, value=value) for name, value in pairs]


def _text(body: Body | None) -> tuple[str | None, str | None, str | None]:
    """(text, encoding, comment) of a body for HAR."""
    if body is None:
        return None, None, None
    if body.is_json:
        return dumps(body.json).decode(), None, None
    if body.text is not None:
        return body.text, None, None
    if body.b64 is not None:
        return body.b64, "base64", None
    if body.parts is not None:
        return None, None, "multipart form: " + ", ".join(part.filename or part.name for part in body.parts)
    return None, None, f"binary body kept as its digest: sha256 {body.sha256}"


def _post_data(body: Body | None) -> harfile.PostData | None:
    if body is None:
        return None
    kind = body.type or "application/octet-stream"
    if body.parts is not None:
        params = [
            harfile.PostParameter(
                name=part.name,
                value=part.text,
                fileName=part.filename,
                contentType=part.type,
                comment=f"sha256 {part.sha256}" if part.sha256 else None,
            )
            for part in body.parts
        ]
        return harfile.PostData(mimeType=kind, params=params)
    text, _, comment = _text(body)
    return harfile.PostData(mimeType=kind, text=text if text is not None else "", comment=comment)


def _frames(exchange: Exchange) -> str:
    parts = []
    for event in exchange.events:
        if event.raw is not None:
            parts.append(event.raw)
        else:
            data = frame_bytes(event.data, event=event.event, id=event.id, retry=event.retry, comment=event.comment)
            parts.append(data.decode())
    if exchange.end is not None and exchange.end.rest:
        parts.append(exchange.end.rest)
    return "".join(parts)


def _entry(cassette: Cassette, exchange: Exchange) -> tuple[dict[str, typing.Any], dict[str, typing.Any]]:
    """(harfile's add_entry arguments, the entry's custom fields)."""
    request, response = exchange.request, exchange.response
    origin = request.origin or cassette.meta.target or "http://unknown.invalid"
    path = urllib.parse.quote(request.path, safe="/%:@!$&'()*+,;=-._~")
    url = origin + path + (f"?{request.query}" if request.query else "")
    har_request = harfile.Request(
        method=request.method,
        url=url,
        httpVersion="HTTP/1.1",
        headers=_records(request.headers),
        queryString=_records(urllib.parse.parse_qsl(request.query, keep_blank_values=True)),
        postData=_post_data(request.body),
        bodySize=request.body.size if request.body is not None else 0,
    )
    custom: dict[str, typing.Any] = dict(x=exchange.x, op=request.op)
    messages: list[dict[str, typing.Any]] | None = None
    finished = request.at
    if response is None or response.status is None:
        har_response = harfile.Response(
            status=0, statusText="", httpVersion="HTTP/1.1", comment=response.error if response else "no answer"
        )
        wait = receive = 0
    else:
        kind: str = next((v for n, v in response.headers if n.lower() == "content-type"), "")
        if exchange.is_stream:
            text = _frames(exchange)
            content = harfile.Content(size=len(text.encode()), mimeType=kind, text=text)
            end = exchange.end
            finished = end.at if end is not None else max([e.at for e in exchange.events], default=response.at)
            custom.update(end=None if end is None else dict(by=end.by, reason=end.reason, outcome=end.outcome))
            messages = [
                dict(
                    time=_epoch(cassette, event.at),
                    eventName=event.event or "message",
                    eventId=event.id or "",
                    data=event.data,
                )
                for event in exchange.events
                if event.data is not None
            ]
            size = content.size
        else:
            body_text, encoding, comment = _text(response.body)
            size = response.body.size if response.body is not None else 0
            content = harfile.Content(size=size, mimeType=kind, text=body_text, encoding=encoding, comment=comment)
            finished = response.at
        if response.repeat is not None:
            custom.update(repeat=dict(count=response.repeat.count, every_ms=response.repeat.every_ms))
        location = next((v for n, v in response.headers if n.lower() == "location"), "")
        har_response = harfile.Response(
            status=response.status,
            statusText=_reason(response.status),
            httpVersion="HTTP/1.1",
            headers=_records(response.headers),
            content=content,
            redirectURL=location,
            bodySize=size,
        )
        wait = max(0, response.at - request.at)
        receive = max(0, finished - response.at)
    arguments = dict(
        startedDateTime=_started(cassette, request.at),
        time=wait + receive,
        request=har_request,
        response=har_response,
        timings=harfile.Timings(send=0, wait=wait, receive=receive),
    )
    extra: dict[str, typing.Any] = {"_nemo": custom}
    if messages is not None:
        extra["_eventSourceMessages"] = messages
    return arguments, extra


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def har(cassette: Cassette) -> dict[str, typing.Any]:
    """The HAR document of a cassette."""
    buffer = io.StringIO()
    extras = []
    with harfile.HarFile(buffer, creator=harfile.Creator(name="nemo-contract", version=__version__)) as out:
        for exchange in cassette.exchanges:
            arguments, custom = _entry(cassette, exchange)
            out.add_entry(**arguments)
            extras.append(custom)
    document: dict[str, typing.Any] = json.loads(buffer.getvalue())
    for entry, custom in zip(document["log"]["entries"], extras, strict=True):
        entry.update(custom)
    return document


def write_har(cassette: Cassette, path: str | pathlib.Path) -> int:
    """Write the HAR document of a cassette; returns the number of entries."""
    document = har(cassette)
    pathlib.Path(path).write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(document["log"]["entries"])
