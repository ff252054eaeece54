"""Where the recorded OpenAPI documents are, installed or in a source checkout."""

from __future__ import annotations

import functools
import pathlib
import typing

__all__ = ["ADMIN_SPEC", "API_SPEC", "load_spec", "spec_path"]

API_SPEC = "nemovideo.openapi.yaml"
ADMIN_SPEC = "mock-admin.openapi.yaml"

_PACKAGE = pathlib.Path(__file__).parent.parent  # nemo_contract/
_PACKAGED = _PACKAGE / "specs"  # the wheel carries specs/ here
_CHECKOUT = _PACKAGE.parent / "specs"  # a source checkout or an editable install


def spec_path(name: str = API_SPEC) -> pathlib.Path:
    """The path of one recorded document; FileNotFoundError names both places looked in."""
    for folder in (_PACKAGED, _CHECKOUT):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"spec {name!r} is neither in {_PACKAGED} nor in {_CHECKOUT}")


@functools.cache
def load_spec(name: str = API_SPEC) -> dict[str, typing.Any]:
    """The parsed document (cached; treat it as read-only)."""
    import yaml  # imported here: only the emulator and the tests need it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path(name).open("rb") as stream:
        document = yaml.load(stream, Loader=loader)
    if not isinstance(document, dict):
        raise ValueError(f"spec {name!r} is not a mapping")
    return document
