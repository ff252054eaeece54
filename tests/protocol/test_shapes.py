"""The shapes: every field spelled once (``fields`` and the TypedDicts agree), and the builders build what the
recorded spec describes."""

from __future__ import annotations

import typing

import pytest

from nemo_contract.protocol import Code, RenderShape, RenderStatus, TrackType, control, events, fields, shapes
from nemo_contract.protocol.specs import API_SPEC, schema_validator


def _typed_dicts(module: typing.Any) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and typing.is_typeddict(value) and value.__module__ == module.__name__
    }


def _field_names() -> set[str]:
    return {getattr(fields, name) for name in fields.__all__}


def test_every_key_of_every_shape_is_a_named_field() -> None:
    named = _field_names()
    for name, shape in {**_typed_dicts(shapes), **_typed_dicts(events)}.items():
        assert set(shape.__annotations__) <= named, (name, set(shape.__annotations__) - named)


def test_every_named_field_is_a_key_of_some_shape() -> None:
    shapes_ = {**_typed_dicts(shapes), **_typed_dicts(events)}.values()
    keys = {key for shape in shapes_ for key in shape.__annotations__}
    assert _field_names() <= keys, _field_names() - keys


def test_fields_are_spelled_once_and_named_once() -> None:
    values = [getattr(fields, name) for name in fields.__all__]
    assert len(values) == len(set(values))
    assert fields.__all__ == sorted(fields.__all__)


def test_the_control_surface_names_every_knob_and_fault_field() -> None:
    from mock_server import Config, FaultRule

    assert set(control.KNOBS) == set(Config().to_dict())
    assert set(control.FAULT_FIELDS) == set(FaultRule.__dataclass_fields__)


def _valid(schema: str, value: typing.Any) -> list[str]:
    return [e.message for e in schema_validator(f"#/components/schemas/{schema}", API_SPEC).iter_errors(value)]


DRAFT: shapes.Draft = {
    fields.TRACKS: [
        {
            fields.TRACK_TYPE: 0,
            fields.SEGMENTS: [{fields.ID: "s1", fields.LABEL: "clip", fields.START_MS: 0, fields.DURATION_MS: 5000}],
        },
    ],
    fields.DURATION_MS: 5000,
    fields.META: {fields.TITLE: "", fields.WIDTH: 1920, fields.HEIGHT: 1080, fields.FPS: 30},
}
#: A draft with every kind of track, made by the builders: its length is where its last segment ends.
BUILT = shapes.draft(
    [
        shapes.track(TrackType.VIDEO, [shapes.segment("v1", "clip", 0, 4000, **{fields.TRANSITION: "fade"})]),
        shapes.track(TrackType.AUDIO, [shapes.segment("a1", "music", 0, 6000, **{fields.VOLUME: 0.2})]),
        shapes.track(TrackType.TEXT, [shapes.segment("x1", "title", 500, 2000, **{fields.CAPTION: "Hello"})]),
    ],
    title="promo",
    width=1280,
    height=720,
    fps=30,
)


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ("SuccessEnvelope", shapes.ok({"any": 1})),
        ("ErrorEnvelope", shapes.error(Code.SESSION_NOT_FOUND, "session not found")),
        ("Credits", shapes.balance(90, 10)),
        ("RunSseRequest", shapes.turn_request("1234567890123456789", "add music")),
        ("RenderRequest", shapes.render_request("render_1", "1234567890123456789", DRAFT)),
        ("SessionState", shapes.empty_state()),
        ("Draft", DRAFT),
        ("Draft", {}),
        ("Draft", BUILT),
        (
            "Draft",
            shapes.draft(
                [shapes.track(TrackType.VIDEO, [shapes.segment("s1", "clip", 0, 5000)])],
                title="",
                width=1920,
                height=1080,
                fps=30,
            ),
        ),
        ("RenderResponse", shapes.render_toplevel("render_1", RenderStatus.PROCESSING, 40)),
        (
            "RenderResponse",
            shapes.render_toplevel(
                "render_1",
                RenderStatus.COMPLETED,
                100,
                output=shapes.RenderOutput(url="http://h/r.mp4", duration=5.0, size=1000),
            ),
        ),
        ("RenderResponse", shapes.render_toplevel("render_1", RenderStatus.FAILED, 0, reason="invalid draft")),
        ("RenderResponse", shapes.render_wrapped("render_1", RenderStatus.PENDING, 0, created_ms=1)),
        (
            "RenderResponse",
            shapes.render_wrapped(
                "render_1", RenderStatus.COMPLETED, 100, created_ms=1, ended_ms=2, output_url="http://h/r.mp4"
            ),
        ),
    ],
)
def test_builders_build_what_the_spec_describes(schema: str, value: typing.Any) -> None:
    assert not _valid(schema, value)


def test_the_draft_builders_make_the_literal_draft_and_count_its_length() -> None:
    made = shapes.draft(
        [shapes.track(TrackType.VIDEO, [shapes.segment("s1", "clip", 0, 5000)])],
        title="",
        width=1920,
        height=1080,
        fps=30,
    )
    assert made == DRAFT
    assert BUILT[fields.DURATION_MS] == 6000


def test_a_broken_builder_would_be_caught() -> None:
    broken = dict(shapes.turn_request("1234567890123456789", "hi"))
    broken.pop(fields.NEW_MESSAGE)
    assert _valid("RunSseRequest", broken)
    unlabelled = shapes.segment("s1", "clip", 0, 1000)
    del unlabelled[fields.LABEL]  # type: ignore[misc]
    assert _valid(
        "Draft", shapes.draft([shapes.track(TrackType.VIDEO, [unlabelled])], title="", width=1, height=1, fps=1)
    )


def test_both_render_shapes_read_the_same() -> None:
    url = "http://h/r.mp4"
    output = shapes.RenderOutput(url=url, duration=5.0, size=1)
    top = shapes.read_render(shapes.render_toplevel("r", RenderStatus.COMPLETED, 100, output=output))
    wrapped = shapes.read_render(shapes.render_wrapped("r", RenderStatus.COMPLETED, 100, created_ms=1, output_url=url))
    assert top == wrapped._replace(shape=RenderShape.TOPLEVEL)
    assert (top.render_id, top.status, top.progress, top.url) == ("r", "completed", 100, url)
    assert shapes.read_render({"status": 3, "progress": "x"}) == shapes.RenderView(
        None, None, 0, None, None, RenderShape.TOPLEVEL
    )


def test_drafts_are_read_defensively() -> None:
    assert shapes.draft_is_exportable(DRAFT)
    assert not shapes.draft_is_exportable({})
    assert not shapes.draft_is_exportable({fields.TRACKS: [{fields.TRACK_TYPE: 0, fields.SEGMENTS: []}]})
    assert not shapes.draft_is_exportable({fields.TRACKS: "nonsense"})
    assert not shapes.draft_is_exportable(None)
    assert shapes.draft_end_ms(DRAFT) == 5000
    assert shapes.message_text(shapes.turn_request("1", "a")) == "a"
