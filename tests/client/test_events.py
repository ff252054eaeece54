"""Reading a turn's stream: SSE framing in any chunking, both event formats, every heartbeat form."""

from __future__ import annotations

from nemo_contract._events import StreamReader
from nemo_contract.protocol.events import EventKind

API = "https://api.example.test"


# -- SSE framing and the two event formats ----------------------------------------------------------------------


def test_stream_reader_handles_any_chunking_and_every_heartbeat_form() -> None:
    wire = 'data: {"a":1}\r\n\r\n: ping - 2026\n\ndata:\n\ndata: {"type":"heartbeat"}\n\ndata: {"b":2}'
    for size in (1, 2, 3, 7, len(wire)):
        reader = StreamReader()
        items = []
        for start in range(0, len(wire), size):
            items += reader.feed(wire[start : start + size])
        items += reader.close()
        kinds = [item.kind for item in items]
        assert kinds == [
            EventKind.OTHER,
            EventKind.HEARTBEAT,
            EventKind.HEARTBEAT,
            EventKind.HEARTBEAT,
            EventKind.OTHER,
        ], size


def _event(data: str) -> list[tuple[EventKind, str]]:
    """(kind, text) of what a fresh reader makes of one ``data:`` line and the blank line that ends it."""
    reader = StreamReader()
    return [(e.kind, e.text) for e in reader.feed(f"data: {data}\n\n")]


def test_adk_events() -> None:
    assert _event('{"content":{"parts":[{"text":"Hello"}],"role":"model"}}') == [(EventKind.TEXT, "Hello")]
    # a model's thought, and streaming chunks (the whole text follows), are not text for the user
    assert _event('{"content":{"parts":[{"text":"thinking","thought":true}]}}') == [(EventKind.OTHER, "")]
    assert _event('{"content":{"parts":[{"text":"Hel"}]},"partial":true}') == [(EventKind.OTHER, "")]
    assert _event('{"content":{"parts":[{"functionCall":{"name":"edit_multitrack","args":{}}}]}}') == [
        (EventKind.TOOL_CALL, "edit_multitrack")
    ]
    assert _event('{"content":{"parts":[{"functionResponse":{"name":"x","response":{}}}]},"actions":{}}') == [
        (EventKind.TOOL_RESULT, "x")
    ]
    assert _event('{"error": "agent run failed"}') == [(EventKind.ERROR, "agent run failed")]
    assert _event('{"errorCode":"UNKNOWN_ERROR","errorMessage":"model failed"}')[0] == (EventKind.ERROR, "model failed")
    assert _event("not json") == [(EventKind.OTHER, "")]


def test_typed_events() -> None:
    assert _event('{"type":"text","content":"Hi"}') == [(EventKind.TEXT, "Hi")]
    assert _event('{"type":"tool_call","name":"g","args":{}}') == [(EventKind.TOOL_CALL, "g")]
    assert _event('{"type":"tool_result","name":"g","result":{}}') == [(EventKind.TOOL_RESULT, "g")]
    assert _event('{"type":"heartbeat"}') == [(EventKind.HEARTBEAT, "")]
