"""Which recorded answer a request gets: the replay's matching rules.

A request's kind is its operation plus its discriminators (``_operations``): its session, its render, a turn's
words. Ids are first mapped (``IdMap``): a value the recording also has stands for itself; a new one (a render id
a new run minted from its own clock, say) is bound to the first recorded id of its kind that nothing is bound to
yet, in the order the recording met them. So a new run's ids line up with the recorded ones by order of
appearance, and answers say the new run's ids back to it.

The n-th request of a kind gets the n-th recorded answer of that kind, so polls replay in order; an answer that
``cassette compact`` folded counts for as many as it stands for. After the last one, the tail policy decides:
``error`` (a miss) or ``repeat-last``. A miss names the nearest recorded request and what differed.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import typing

from ._cassette import Cassette, Exchange
from ._operations import Discriminator, discriminators, operation

__all__ = ["IdMap", "Key", "Live", "Match", "Matcher", "Miss", "Tail", "key_of_exchange"]

JSON = typing.Any


class Tail(enum.StrEnum):
    """What a request gets once its kind's recorded answers are used up."""

    ERROR = "error"
    REPEAT_LAST = "repeat-last"


@dataclasses.dataclass(frozen=True, slots=True)
class Key:
    method: str
    op: str | None
    path: str | None  # only for requests off the spec, which have no operation to go by
    parts: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        name = self.op or f"{self.method} {self.path}"
        inner = ", ".join(f"{part}={_short(value)}" for part, value in self.parts)
        return f"{name}({inner})"


def _short(value: str, limit: int = 60) -> str:
    return json.dumps(value if len(value) <= limit else value[: limit - 3] + "...", ensure_ascii=False)


def key_of_exchange(exchange: Exchange) -> Key:
    """The kind of a recorded request (its operation found again from the spec, like a live request's)."""
    request = exchange.request
    body = request.body.json if request.body is not None and request.body.is_json else None
    op, params = operation(request.method, request.path)
    found = discriminators(op, params, body)
    return Key(request.method, op, None if op else request.path, tuple((d.name, d.value) for d in found))


class IdMap:
    """Binds a new run's ids to the recorded ones by order of appearance, per kind of id."""

    def __init__(self, recorded: typing.Mapping[str, list[str]]) -> None:
        self._recorded = {kind: list(values) for kind, values in recorded.items()}
        self._known = {kind: set(values) for kind, values in recorded.items()}
        self._bound: dict[str, dict[str, str]] = collections.defaultdict(dict)  # kind -> live -> recorded

    @classmethod
    def of(cls, exchanges: typing.Iterable[Exchange]) -> IdMap:
        seen: dict[str, list[str]] = collections.defaultdict(list)
        for exchange in exchanges:
            request = exchange.request
            body = request.body.json if request.body is not None and request.body.is_json else None
            op, params = operation(request.method, request.path)
            for part in discriminators(op, params, body):
                if part.kind is not None and part.value not in seen[part.kind]:
                    seen[part.kind].append(part.value)
        return cls(seen)

    def recorded(self, part: Discriminator) -> str:
        """The recorded id a live one stands for (binding it if it is new and a recorded one is free)."""
        if part.kind is None or part.value in self._known.get(part.kind, ()):
            return part.value
        bound = self._bound[part.kind]
        if part.value in bound:
            return bound[part.value]
        taken = set(bound.values())
        for candidate in self._recorded.get(part.kind, []):
            if candidate not in taken:
                bound[part.value] = candidate
                return candidate
        return part.value

    @property
    def rewrites(self) -> list[tuple[str, str]]:
        """(recorded, live) of every binding: what an answer must say back to the new run."""
        pairs = [(recorded, live) for bound in self._bound.values() for live, recorded in bound.items()]
        return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Live:
    """A request being replayed: what the matcher needs of it."""

    method: str
    path: str
    body: JSON = None  # its JSON, or None

    def described(self) -> str:
        return f"{self.method} {self.path}"


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    exchange: Exchange
    key: Key
    #: (recorded, live) strings the answer must say the new run's way.
    rewrites: tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Miss:
    """No recorded answer: a one-line summary and the differences from the nearest recorded request."""

    request: str
    key: Key
    nearest: str | None
    diff: tuple[str, ...]

    @property
    def message(self) -> str:
        where = f"; nearest recorded: {self.nearest}" if self.nearest else ""
        return f"no recorded answer for {self.request} [{self.key}]{where}: " + "; ".join(self.diff)


class Matcher:
    """Hands out a cassette's answers to requests by the rules above. Not thread-safe: one replay, one loop."""

    def __init__(self, cassette: Cassette, *, tail: Tail | str = Tail.ERROR) -> None:
        self.tail = Tail(tail)
        self.exchanges = [e for e in cassette.exchanges if e.response is not None]
        self.ids = IdMap.of(self.exchanges)
        self._queues: dict[Key, list[Exchange]] = collections.defaultdict(list)
        for exchange in self.exchanges:
            self._queues[key_of_exchange(exchange)].append(exchange)
        self._served: collections.Counter[Key] = collections.Counter()  # answers given, per kind
        self._used: set[int] = set()
        self.misses: list[Miss] = []

    def _key(self, live: Live) -> Key:
        op, params = operation(live.method, live.path)
        parts = tuple((d.name, self.ids.recorded(d)) for d in discriminators(op, params, live.body))
        return Key(live.method.upper(), op, None if op else live.path, parts)

    def match(self, live: Live) -> Match | Miss:
        key = self._key(live)
        queue = self._queues.get(key, [])
        served = self._served[key]
        position, answered = 0, None
        for exchange in queue:  # a folded answer counts for as many as it stands for
            repeat = exchange.response.repeat if exchange.response is not None else None
            position += repeat.count if repeat is not None else 1
            if served < position:
                answered = exchange
                break
        if answered is None and queue and self.tail is Tail.REPEAT_LAST:
            answered = queue[-1]
        if answered is None:
            miss = self._miss(live, key, used_up=len(queue) > 0, position=position)
            self.misses.append(miss)
            return miss
        self._served[key] += 1
        self._used.add(answered.x)
        return Match(answered, key, tuple(self.ids.rewrites))

    def unused(self) -> list[Exchange]:
        """Recorded exchanges no request got (folded answers count as used once any is)."""
        return [exchange for exchange in self.exchanges if exchange.x not in self._used]

    def _miss(self, live: Live, key: Key, *, used_up: bool, position: int) -> Miss:
        if used_up:
            return Miss(
                live.described(),
                key,
                f"x={self._queues[key][-1].x} {key}",
                (f"all {position} recorded answers of {key} were served (tail policy {self.tail.value})",),
            )
        best: tuple[int, Exchange, Key] | None = None
        for exchange in self.exchanges:
            recorded = key_of_exchange(exchange)
            score = (recorded.method == key.method) + 2 * (recorded.op == key.op)
            score += sum(part in key.parts for part in recorded.parts)
            score += exchange.x not in self._used  # of equals, one still waiting
            if best is None or score > best[0]:
                best = (score, exchange, recorded)
        if best is None:
            return Miss(live.described(), key, None, ("the cassette has no answers at all",))
        _, exchange, recorded = best
        return Miss(live.described(), key, f"x={exchange.x} {recorded}", tuple(_differences(recorded, key)))


def _differences(recorded: Key, live: Key) -> list[str]:
    found = []
    if recorded.method != live.method:
        found.append(f"method: recorded {recorded.method}, sent {live.method}")
    if recorded.op != live.op:
        found.append(f"operation: recorded {recorded.op or recorded.path}, sent {live.op or live.path}")
    elif recorded.path != live.path:
        found.append(f"path: recorded {recorded.path}, sent {live.path}")
    mine, theirs = dict(recorded.parts), dict(live.parts)
    for name in sorted(set(mine) | set(theirs)):
        if mine.get(name) != theirs.get(name):
            was = _short(mine[name]) if name in mine else "nothing"
            now = _short(theirs[name]) if name in theirs else "nothing"
            found.append(f"{name}: recorded {was}, sent {now}")
    return found or ["nothing that matters differs, but every such answer was served"]
