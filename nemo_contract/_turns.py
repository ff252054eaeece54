"""One turn with the agent: send the user's words to ``/run_sse`` and handle its events as they arrive.

* Text goes to the user at once, with the GUI instructions taken out (``_events.translate``) and translated into
  what the client does instead (``converse``).
* Tool calls and results stay internal (logged by tool name only).
* Heartbeats (a bare ``data:``, a ``: ping`` comment, ``{"type":"heartbeat"}``) show "⏳ Still working..." at most
  once every 2 minutes of the injected clock, counted from the last thing the user was shown.
* A stream that closes without text: the state is read again and the change described.
* ``data: {"error": ...}``: the change so far is described and ``TurnFailed`` raised.
* 15 minutes without an end: ``TurnTimeout``. A turn that was accepted is never sent again.
"""

from __future__ import annotations

import logging
import typing

from ._core import Core
from ._events import EventKind, GuiAction, StreamReader, interpret, translate
from ._exceptions import NetworkError, TurnFailed, TurnTimeout
from ._models import Message, MessageKind, Snapshot
from ._ops import STREAM_TIMEOUT, CloseStream, Emit, Flow, ReadChunk, RequestSpec, Sleep
from ._protocol import APP_NAME, ME, PATHS, STILL_WORKING_INTERVAL, TURN_TIME_LIMIT
from ._timeline import describe_changes

__all__ = [
    "EDIT_OFFER",
    "EXPORT_OFFER",
    "STILL_WORKING",
    "STILL_WORKING_EVERY",
    "TURN_LIMIT",
    "TurnOutcome",
    "converse",
    "run_turn",
]

logger = logging.getLogger("nemo_contract")

STILL_WORKING = "⏳ Still working..."
STILL_WORKING_EVERY = STILL_WORKING_INTERVAL
TURN_LIMIT = TURN_TIME_LIMIT
#: After a silent close the state is read up to this many times, this far apart, until it shows the change.
SILENT_POLLS = 3
SILENT_POLL_INTERVAL = 10.0


EXPORT_OFFER = 'When you are happy with it, say "export" and I will render the MP4 and download it.'
EDIT_OFFER = "If you want that changed, tell me how in words and I will send the edit."


class TurnOutcome(typing.NamedTuple):
    said_something: bool
    actions: tuple[tuple[GuiAction, str], ...]
    before: Snapshot


def _turn_request(core: Core, text: str) -> RequestSpec:
    body = {
        "app_name": APP_NAME,
        "user_id": ME,
        "session_id": core.credentials.session_id,
        "new_message": {"parts": [{"text": text}]},
    }
    return core.spec("POST", PATHS.run_sse, json=body, headers={"Accept": "text/event-stream"}, timeout=STREAM_TIMEOUT)


def _describe(core: Core, before: Snapshot, *, polls: int) -> Flow[bool]:
    """Read the state (up to ``polls`` times) and tell the user what changed; True when something did."""
    for attempt in range(polls):
        after = yield from core.snapshot()
        lines = describe_changes(before, after)
        if lines:
            yield Emit(Message(MessageKind.CHANGES, "Updated the timeline:\n" + "\n".join(lines)))
            return True
        if attempt + 1 < polls:
            yield Sleep(SILENT_POLL_INTERVAL)
    return False


def run_turn(core: Core, text: str) -> Flow[TurnOutcome]:
    """Send ``text`` as one turn and relay its events; returns the GUI actions its text asked for."""
    before = yield from core.snapshot()
    stream = yield from core.open_stream(lambda: _turn_request(core, text))
    start = last_shown = core.clock()
    reader = StreamReader()
    said = False
    failure: str | None = None
    broken: NetworkError | None = None
    actions: list[tuple[GuiAction, str]] = []
    ended = False
    while not ended:
        if core.clock() - start > TURN_LIMIT:
            yield CloseStream(stream)
            raise TurnTimeout("The backend did not finish within 15 minutes")
        try:
            chunk = yield ReadChunk(stream)
        except NetworkError as error:
            broken, ended = error, True
            items = reader.close()
        else:
            ended = chunk is None
            items = reader.close() if chunk is None else reader.feed(chunk)
        for item in items:
            for event in interpret(item):
                now = core.clock()
                if event.kind is EventKind.TEXT:
                    said = True
                    translated = translate(event.text)
                    actions += translated.actions
                    if translated.text:
                        yield Emit(Message(MessageKind.REPLY, translated.text))
                        last_shown = now
                elif event.kind is EventKind.HEARTBEAT:
                    if now - last_shown >= STILL_WORKING_EVERY:
                        yield Emit(Message(MessageKind.PROGRESS, STILL_WORKING))
                        last_shown = now
                elif event.kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
                    logger.debug("turn: %s %s", event.kind.value, event.text)
                elif event.kind is EventKind.ERROR:
                    failure = event.text
    yield CloseStream(stream)
    if broken is not None:
        if broken.timed_out or core.clock() - start > TURN_LIMIT:
            raise TurnTimeout("The backend did not finish within 15 minutes")
        yield Emit(Message(MessageKind.NOTICE, "The connection dropped before the reply was complete."))
        yield from _describe(core, before, polls=1)
        raise TurnFailed("The connection to the backend dropped during the turn")
    if failure is not None:
        yield from _describe(core, before, polls=1)
        detail = " ".join(failure.split())[:200]
        raise TurnFailed(f"The backend stopped with an error: {detail}")
    if not said:
        changed = yield from _describe(core, before, polls=SILENT_POLLS)
        if not changed:
            yield Emit(Message(MessageKind.NOTICE, "The backend finished without a reply and nothing changed."))
    return TurnOutcome(said, tuple(actions), before)


def converse(core: Core, text: str) -> Flow[None]:
    """A turn, then what its GUI instructions asked for.

    * "open ..." / "preview in timeline": the state is read and the track summary shown.
    * "drag ..." / "click <not Export>": when the turn left the timeline as it was (the backend told the user to
      do it by hand), that sentence is sent as one edit through ``/run_sse``; a follow-up's own drag and click
      instructions are not followed again. When the turn did change the timeline, the instruction was only a
      suggestion, and the user is told to ask for such a change in words.
    * "click Export" / "Export button" / "导出": with ``auto_export`` the export workflow runs; otherwise (the
      default: the backend says it as "when you're happy") the user is told that saying "export" runs it.
    """
    outcome = yield from run_turn(core, text)
    actions = list(outcome.actions)
    edits = [sentence for action, sentence in actions if action is GuiAction.EDIT]
    after: Snapshot | None = None
    if edits:
        after = yield from core.snapshot()
        if not describe_changes(outcome.before, after):
            yield Emit(Message(MessageKind.NOTICE, "Sending that change to the editor for you..."))
            follow_up = yield from run_turn(core, edits[0])
            actions += [a for a in follow_up.actions if a[0] is not GuiAction.EDIT]
            after = None
        else:
            yield Emit(Message(MessageKind.NOTICE, EDIT_OFFER))
    kinds = {action for action, _ in actions}
    if GuiAction.TIMELINE in kinds:
        if after is None:
            after = yield from core.snapshot()
        yield Emit(Message(MessageKind.TIMELINE, after.summary))
    if GuiAction.EXPORT in kinds:
        if core.auto_export:
            from ._export import run_export

            yield from run_export(core)
        else:
            yield Emit(Message(MessageKind.NOTICE, EXPORT_OFFER))
