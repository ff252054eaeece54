"""The state file keys one service by one name, and an upload URL is known by its scheme."""

from __future__ import annotations

import pytest

from nemo_contract._session import service_key

API = "https://api.example.test"


# -- the state file's service keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://localhost:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("HTTP://LocalHost:8000/", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://127.0.0.1:8000"),
        ("https://API.Example.com:443/", "https://api.example.com"),
        ("http://user:secret@h.test:80/Base/", "http://h.test/Base"),
        ("http://[2001:DB8::1]:8080", "http://[2001:db8::1]:8080"),
        ("https://h.test:8443", "https://h.test:8443"),
    ],
)
def test_one_service_has_one_key(url: str, key: str) -> None:
    assert service_key(url) == key


def test_an_upload_url_is_known_by_its_scheme_in_any_case() -> None:
    from nemo_contract._operations import _is_url

    assert _is_url("HTTPS://cdn.example.test/a.mp4") and _is_url("http://cdn.example.test/a.mp4")
    assert not _is_url("ftp://example.test/a.mp4") and not _is_url("httpfile.mp4")
