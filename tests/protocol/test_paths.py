"""Path templates: ``path_pattern`` is the one reading of a ``{name}`` template (the audit, the client model and
the recordings match requests with it)."""

from __future__ import annotations

import pytest

from nemo_contract.protocol import PATHS, path_pattern


def test_a_template_captures_each_segment_by_name() -> None:
    match = path_pattern(PATHS.state).fullmatch("/api/state/nemo_agent/me/s-1/latest")
    assert match is not None
    assert match.groupdict() == {"user": "me", "session_id": "s-1"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/state/nemo_agent/me/s-1/latest/",  # one segment more
        "/api/state/nemo_agent/me/a/b/latest",  # a parameter is one segment, never two
        "/api/state/nemo_agent/me//latest",  # nor none
        "/api/state/nemo_agent/me/s-1/latest\n",  # nothing after the template
    ],
)
def test_other_paths_are_not_the_template(path: str) -> None:
    assert path_pattern(PATHS.state).fullmatch(path) is None


def test_a_spec_template_with_a_suffix_after_its_parameter() -> None:
    pattern = path_pattern("/render-result/{key}/{render_id}.mp4")
    match = pattern.fullmatch("/render-result/k/r.1.mp4")
    assert match is not None
    assert match.groupdict() == {"key": "k", "render_id": "r.1"}
    assert pattern.fullmatch("/render-result/k/r1Xmp4") is None  # the literal parts are literal
