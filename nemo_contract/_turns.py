"""One turn with the agent: send the user's words to ``/run_sse`` and handle its events as they arrive.

* Text goes to the user at once, with the backend's GUI instructions taken out (``_events.translate``) and carried
  out instead (``converse``).
* Tool calls and results stay internal (logged by tool name only).
* Heartbeats (a bare ``data:``, a ``: ping`` comment, ``{"type":"heartbeat"}``) show "⏳ Still working..." at most
  once every 2 minutes of the injected clock, counted from the last thing the user was shown.
* A stream that closes without text (a silent close: tool calls and their results only): the state is read again
  and the change described.
* ``data: {"error": ...}``: the change so far is described and ``TurnFailed`` raised.
* A stream that stops before its turn ended (the connection drops, or it closes with a tool call still without its
  result, or after text without the turn's final text): the documents' recovery, since the turn goes on on the
  service: wait 30 s and read the state, up to 5 times; the first change is described, and ``TurnFailed`` is
  raised when none came. (A stream cut right after its first text looks exactly like a chat reply: no client can
  tell them apart.)
* 15 minutes after the stream opened (on the injected clock) the turn is over: every read waits only for the time
  left, and ``TurnTimeout`` is raised. A turn that was accepted is never sent again.
"""

from __future__ import annotations

import logging
import typing

from ._core import Core
from ._events import StreamReader
from ._exceptions import NetworkError, TurnFailed, TurnTimeout
from ._export import run_export
from ._gui import GuiAction, translate
from ._models import MessageKind, Snapshot
from ._operations import snapshot
from ._ops import STREAM_TIMEOUT, CloseStream, Flow, ReadChunk, RequestSpec, Sleep, emit
from ._timeline import describe_changes
from .protocol import DROPPED_STREAM_POLLS, DROPPED_STREAM_WAIT, PATHS, STILL_WORKING_INTERVAL, TURN_TIME_LIMIT
from .protocol.events import EventKind
from .protocol.shapes import draft_is_exportable, turn_request

__all__ = [
    "EDIT_OFFER",
    "EXPORT_OFFER",
    "STILL_WORKING",
    "TurnOutcome",
    "converse",
    "run_turn",
]

logger = logging.getLogger("nemo_contract")

STILL_WORKING = "⏳ Still working..."
#: After a silent close the state is read up to this many times, this far apart, until it shows the change.
SILENT_POLLS = 3
SILENT_POLL_INTERVAL = 10.0


EXPORT_OFFER = 'When you are happy with it, say "export" and I will render the MP4 and download it.'
EDIT_OFFER = "If you want that changed, tell me how in words and I will send the edit."


class TurnOutcome(typing.NamedTuple):
    said_something: bool
    actions: tuple[tuple[GuiAction, str], ...]
    #: The session's state just before the turn was accepted (of the session that ran it).
    before: Snapshot
    #: The backend's words said that nothing changed.
    unchanged: bool = False


def _turn_request(core: Core, text: str) -> RequestSpec:
    body = turn_request(core.credentials.session_id or "", text)
    return core.spec("POST", PATHS.run_sse, json=body, headers={"Accept": "text/event-stream"}, timeout=STREAM_TIMEOUT)


def _out_of_time() -> TurnTimeout:
    return TurnTimeout(f"The backend did not finish within {TURN_TIME_LIMIT / 60:g} minutes")


def _describe(core: Core, before: Snapshot, *, polls: int) -> Flow[bool]:
    """Read the state (up to ``polls`` times) and tell the user what changed; True when something did."""
    for attempt in range(polls):
        after = yield from snapshot(core)
        lines = describe_changes(before, after)
        if lines:
            yield emit(MessageKind.CHANGES, "Updated the timeline:\n" + "\n".join(lines))
            return True
        if attempt + 1 < polls:
            yield Sleep(SILENT_POLL_INTERVAL)
    return False


def _recover_dropped(core: Core, before: Snapshot) -> Flow[None]:
    """A stream stopped before its turn ended, which goes on on the service: wait, read the state, report the
    change; after ``DROPPED_STREAM_POLLS`` unchanged reads (or reads that could not reach the service) it failed."""
    yield emit(
        MessageKind.NOTICE,
        f"The stream ended before the turn finished; checking the timeline every {DROPPED_STREAM_WAIT:g} s...",
    )
    for _ in range(DROPPED_STREAM_POLLS):
        yield Sleep(DROPPED_STREAM_WAIT)
        try:
            after = yield from snapshot(core)
        except NetworkError:
            continue  # the service cannot be reached now: an unchanged read
        lines = describe_changes(before, after)
        if lines:
            yield emit(MessageKind.CHANGES, "Updated the timeline:\n" + "\n".join(lines))
            return
    raise TurnFailed(
        f"The turn did not finish: its stream ended early and the timeline had not changed after "
        f"{DROPPED_STREAM_POLLS} checks, {DROPPED_STREAM_WAIT:g} s apart"
    )


def run_turn(core: Core, text: str) -> Flow[TurnOutcome]:
    """Send ``text`` as one turn and relay its events; returns the GUI actions its text asked for."""
    before = yield from snapshot(core)

    def reread() -> Flow[None]:
        # The turn was refused (1002, or 1001 for another user) and goes to a new session: compare with that one.
        nonlocal before
        before = yield from snapshot(core)

    stream = yield from core.open_stream(lambda: _turn_request(core, text), on_new_session=reread)
    start = last_shown = core.clock()
    reader = StreamReader()
    said = unchanged = False
    failure: str | None = None
    broken: NetworkError | None = None
    actions: list[tuple[GuiAction, str]] = []
    open_calls = 0  # tool calls without their result yet
    last: EventKind | None = None  # the last text or tool event: a turn ends with text, or says nothing
    ended = False
    while not ended:
        left = TURN_TIME_LIMIT - (core.clock() - start)
        if left <= 0:
            yield CloseStream(stream)
            raise _out_of_time()
        try:
            chunk = yield ReadChunk(stream, timeout=left)
        except NetworkError as error:
            broken, ended = error, True
            items = reader.close()
        else:
            if chunk is not None and core.clock() - start >= TURN_TIME_LIMIT:
                yield CloseStream(stream)
                raise _out_of_time()
            ended = chunk is None
            items = reader.close() if chunk is None else reader.feed(chunk)
        for event in items:
            now = core.clock()
            if event.kind in (EventKind.TEXT, EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
                last = event.kind
            if event.kind is EventKind.TEXT:
                said = True
                translated = translate(event.text)
                actions += translated.actions
                unchanged = unchanged or translated.unchanged
                if translated.text:
                    yield emit(MessageKind.REPLY, translated.text)
                    last_shown = now
            elif event.kind is EventKind.HEARTBEAT:
                if now - last_shown >= STILL_WORKING_INTERVAL:
                    yield emit(MessageKind.PROGRESS, STILL_WORKING)
                    last_shown = now
            elif event.kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
                open_calls = open_calls + 1 if event.kind is EventKind.TOOL_CALL else max(0, open_calls - 1)
                logger.debug("turn: %s %s", event.kind.value, event.text)
            elif event.kind is EventKind.ERROR:
                failure = event.text
    yield CloseStream(stream)
    if broken is not None and (broken.timed_out or core.clock() - start >= TURN_TIME_LIMIT):
        raise _out_of_time()
    if failure is not None:
        yield from _describe(core, before, polls=1)
        detail = " ".join(failure.split())[:200]
        raise TurnFailed(f"The backend stopped with an error: {detail}")
    if broken is not None or open_calls or (said and last is not EventKind.TEXT):
        yield from _recover_dropped(core, before)
    elif not said:
        changed = yield from _describe(core, before, polls=SILENT_POLLS)
        if not changed:
            yield emit(MessageKind.NOTICE, "The backend finished without a reply and nothing changed.")
    return TurnOutcome(said, tuple(actions), before, unchanged)


def converse(core: Core, text: str) -> Flow[None]:
    """A turn, then what its GUI instructions asked for.

    * "open the Timeline panel" / "preview in timeline": the state is read and the track summary shown.
    * "drag the title ..." / "click Apply": an edit the backend asked the user to make by hand. Sending it costs
      credits, so it is sent (once, as one more turn, whose own such instructions are not followed) only when the
      turn neither changed the timeline nor said that nothing changed: the backend then plainly left the change to
      the user. Otherwise the user is told to ask for a change in words.
    * "click Export" / "use the Export button" / "点击导出": with ``auto_export`` (the default) the export runs,
      unless the timeline is empty or was already exported as it is; without it the user is told to say "export".
    """
    outcome = yield from run_turn(core, text)
    kinds = {action for action, _ in outcome.actions}
    edits = [sentence for action, sentence in outcome.actions if action is GuiAction.EDIT]
    after: Snapshot | None = None
    if edits:
        after = yield from snapshot(core)
        if outcome.unchanged or describe_changes(outcome.before, after):
            yield emit(MessageKind.NOTICE, EDIT_OFFER)
        else:
            yield emit(MessageKind.NOTICE, "Sending that change to the editor for you...")
            follow_up = yield from run_turn(core, edits[0])
            asked = {action for action, _ in follow_up.actions}
            if GuiAction.EDIT in asked:
                yield emit(MessageKind.NOTICE, EDIT_OFFER)
            kinds |= asked
            after = None
    if GuiAction.TIMELINE in kinds:
        if after is None:
            after = yield from snapshot(core)
        yield emit(MessageKind.TIMELINE, after.summary)
    if GuiAction.EXPORT in kinds:
        if not core.auto_export:
            yield emit(MessageKind.NOTICE, EXPORT_OFFER)
            return
        if after is None:
            after = yield from snapshot(core)
        previous = core.last_export
        if not draft_is_exportable(after.draft):
            yield emit(MessageKind.NOTICE, "There is nothing on the timeline to export yet.")
        elif previous is not None and previous.matches(after):
            yield emit(MessageKind.NOTICE, f"This timeline is already exported: {previous.path}.")
        else:
            yield from run_export(core, current=after)
