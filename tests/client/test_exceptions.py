"""The exception tree: each error subclasses the builtin it means, and each code has its error."""

from __future__ import annotations

import httpx
import pytest

import nemo_contract
from nemo_contract import (
    APIError,
    AuthenticationError,
    Code,
    ExportBlocked,
    FileTooLarge,
    NemoError,
    NetworkError,
    SessionNotFound,
    UnsupportedFileType,
)
from nemo_contract._envelope import read_body

API = "https://api.example.test"


def test_the_exception_tree_subclasses_the_builtins_it_means() -> None:
    assert issubclass(APIError, NemoError)
    assert issubclass(AuthenticationError, PermissionError)
    assert issubclass(ExportBlocked, PermissionError)
    assert issubclass(SessionNotFound, LookupError)
    assert issubclass(UnsupportedFileType, ValueError)
    assert issubclass(FileTooLarge, ValueError)
    assert issubclass(NetworkError, ConnectionError)
    assert issubclass(nemo_contract.TurnTimeout, TimeoutError)
    assert issubclass(nemo_contract.RenderFailed, RuntimeError)
    doc = nemo_contract._exceptions.__doc__ or ""
    for name in nemo_contract._exceptions.__all__:
        assert name in doc, f"{name} is missing from the tree in the docstring"


def test_codes_map_to_their_exceptions() -> None:
    for code, kind in ((Code.TOKEN_INVALID, AuthenticationError), (Code.EXPORT_BLOCKED, ExportBlocked)):
        with pytest.raises(kind):
            read_body(httpx.Response(200, json={"code": int(code), "message": "x", "data": None}))
