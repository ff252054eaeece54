"""``cassette show`` (a session as a readable timeline) and ``cassette compact`` (runs of identical polls folded).

The timeline has one line per record, in the order they were written, at their offsets: a request (operation,
method, path, a turn's words), its answer (status, envelope code or render status, media type and size), each
event of a stream (its kind and what it says), and how a stream ended.

Compacting keeps replay unchanged: within one kind of request (``_match.Key``), a run of answers that are the
same in every byte, to requests that are the same too, becomes the first one with ``repeat: {count, every_ms}``,
which a replay serves ``count`` times. Streams are never folded.
"""

from __future__ import annotations

import dataclasses
import typing

from ..protocol import fields as f
from ..protocol.events import classify
from ..protocol.shapes import read_render
from ._cassette import Body, Cassette, End, Event, Exchange, Repeat, Request, Response, encode
from ._match import Key, key_of_exchange

__all__ = ["compact", "timeline"]


def _seconds(at: int) -> str:
    return f"{at / 1000:10.3f}s"


def _clip(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(size: int) -> str:
    return f"{size} B" if size < 10_000 else f"{size / 1024:.0f} KiB"


def _body(body: Body | None) -> str:
    if body is None:
        return "no body"
    kind = (body.type or "").split(";")[0] or "no type"
    if body.parts is not None:
        files = [part.filename for part in body.parts if part.filename]
        return f"form ({', '.join(files) or 'no files'}, {_size(body.size)})"
    return f"{kind}, {_size(body.size)}"


def _request(request: Request) -> str:
    words = ""
    if request.body is not None and request.body.is_json and request.op == "runSse":
        from ._operations import discriminators

        said = [d.value for d in discriminators(request.op, {}, request.body.json) if d.name == f.TEXT]
        words = f' "{_clip(said[0], 60)}"' if said else ""
    query = f"?{request.query}" if request.query else ""
    return f"→ {request.op or '(off the spec)'}  {request.method} {request.path}{query}{words}"


def _answer(response: Response, op: str | None) -> str:
    if response.error is not None:
        return f"← no answer: {_clip(response.error)}"
    said = f"← {response.status}"
    body = response.body
    if response.stream is not None:
        return f"{said} stream"
    if body is not None and body.is_json and isinstance(body.json, dict):
        if op in ("startRender", "getRender", "cancelRender"):
            render = read_render(body.json)
            said += f" {render.status or '?'} {render.progress}%"
        elif isinstance(body.json.get(f.CODE), int):
            said += f" code {body.json[f.CODE]}"
    said += f" ({_body(body)})"
    if response.repeat is not None:
        said += f" ×{response.repeat.count}, every {response.repeat.every_ms / 1000:g}s"
    return said


def _event(event: Event) -> str:
    if event.data is None:
        return f"ev {event.n} comment: {_clip(event.comment or '')}"
    found = classify(event.data)
    said = ", ".join(f"{item.kind.value}{' ' + _clip(item.text, 60) if item.text else ''}" for item in found)
    return f"ev {event.n} {said}"


def _end(end: End) -> str:
    outcome = f", {end.outcome}" if end.outcome else ""
    return f"end: {end.reason} by the {end.by}{outcome}, {end.events} events"


def timeline(cassette: Cassette) -> list[str]:
    """The session as lines of text (see the module's docstring)."""
    meta = cassette.meta
    exchanges = cassette.exchanges
    streams = sum(exchange.is_stream for exchange in exchanges)
    lines = [
        f"{cassette.source}: {meta.format} v{meta.v}, recorded {meta.recorded_at} by {meta.recorder}"
        f" from {meta.target or 'an unknown target'}; {len(exchanges)} exchanges, {streams} streams",
    ]
    ops = {exchange.x: exchange.request.op for exchange in exchanges}
    for record in cassette.records:
        if isinstance(record, Request):
            lines.append(f"{_seconds(record.at)}  #{record.x:<4} {_request(record)}")
        elif isinstance(record, Response):
            lines.append(f"{_seconds(record.at)}  #{record.x:<4} {_answer(record, ops.get(record.x))}")
        elif isinstance(record, Event):
            lines.append(f"{_seconds(record.at)}  #{record.x:<4}   {_event(record)}")
        elif isinstance(record, End):
            lines.append(f"{_seconds(record.at)}  #{record.x:<4}   {_end(record)}")
    lines += [f"warning: {warning}" for warning in cassette.warnings]
    return lines


def _same(first: Exchange, other: Exchange) -> bool:
    """Two exchanges whose requests and answers are the same but for their numbers and times."""
    if first.is_stream or other.is_stream or first.response is None or other.response is None:
        return False
    if other.response.repeat is not None:
        return False

    def request(exchange: Exchange) -> str:
        return encode(dataclasses.replace(exchange.request, x=1, at=0))

    def answer(exchange: Exchange) -> str:
        assert exchange.response is not None
        return encode(dataclasses.replace(exchange.response, x=1, at=0, repeat=None))

    return request(first) == request(other) and answer(first) == answer(other)


def compact(cassette: Cassette) -> tuple[Cassette, int]:
    """The cassette with runs of identical polls folded, and how many exchanges were folded away."""
    runs: dict[Key, Exchange] = {}  # the kind's run so far: its first exchange
    counts: dict[int, int] = {}  # first exchange -> how many it stands for
    gaps: dict[int, list[int]] = {}
    last_at: dict[int, int] = {}
    dropped: set[int] = set()
    for exchange in cassette.exchanges:
        key = key_of_exchange(exchange)
        first = runs.get(key)
        if first is not None and _same(first, exchange):
            counts[first.x] += 1
            gaps[first.x].append(exchange.request.at - last_at[first.x])
            last_at[first.x] = exchange.request.at
            dropped.add(exchange.x)
            continue
        runs[key] = exchange
        repeat = exchange.response.repeat if exchange.response is not None else None
        counts[exchange.x] = repeat.count if repeat is not None else 1
        gaps[exchange.x] = [repeat.every_ms] * (counts[exchange.x] - 1) if repeat is not None else []
        last_at[exchange.x] = exchange.request.at
    records: list[typing.Any] = []
    for record in cassette.records:
        if isinstance(record, Request | Response | Event | End) and record.x in dropped:
            continue
        if isinstance(record, Response) and counts.get(record.x, 1) > 1:
            every = round(sum(gaps[record.x]) / len(gaps[record.x])) if gaps[record.x] else 0
            record = dataclasses.replace(record, repeat=Repeat(count=counts[record.x], every_ms=every))
        records.append(record)
    return Cassette(meta=cassette.meta, records=records, source=cassette.source), len(dropped)
