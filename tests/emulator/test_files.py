"""mock_server._files: Range headers of any length as the spec says, and a vanished file is a 404 envelope."""

from __future__ import annotations

import pathlib

import httpx
import pytest

from mock_server._emulator import Emulator
from mock_server._files import usable_range

from ..clips import make_mp4
from ..helpers import new_session, new_token

pytestmark = pytest.mark.anyio

HUGE = "9" * 5000  # int() refuses more than 4300 digits


async def _uploaded(client: httpx.AsyncClient, tmp_path: pathlib.Path) -> tuple[str, bytes]:
    token, _ = await new_token(client)
    sid = await new_session(client, token)
    clip = make_mp4(tmp_path / "clip.mp4", width=64, height=48).read_bytes()
    response = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        files={"files": ("clip.mp4", clip)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["data"]["files"][0]["cdn_url"]
    return httpx.URL(url).path, clip


@pytest.mark.parametrize(
    ("header", "status", "part"),
    [
        (f"bytes={HUGE}-{HUGE}", 416, None),  # a valid range that starts past the end
        (f"bytes={HUGE}-", 416, None),
        (f"bytes=-{HUGE}", 206, slice(None)),  # a suffix longer than the file: all of it
        (f"bytes=0-{HUGE}", 206, slice(None)),
        (f"bytes={'0' * 5000}5-{'0' * 5000}9", 206, slice(5, 10)),  # leading zeros are still numbers
        (f"bytes=2{'0' * 5000}-1{'0' * 5000}", 200, slice(None)),  # first after last: ignored
        ("bytes=5-2", 200, slice(None)),
        ("bytes=0-1,4-5", 200, slice(None)),  # a list of ranges: the whole file
        ("items=0-10", 200, slice(None)),
        ("bytes=", 200, slice(None)),
        ("bytes=-", 200, slice(None)),
        ("bytes=10-19", 206, slice(10, 20)),
        ("bytes=-4", 206, slice(-4, None)),
    ],
)
async def test_a_range_of_any_length_is_served_or_ignored_as_the_spec_says(
    client: httpx.AsyncClient, tmp_path: pathlib.Path, header: str, status: int, part: slice | None
) -> None:
    path, whole = await _uploaded(client, tmp_path)
    response = await client.get(path, headers={"Range": header})
    assert response.status_code == status, response.text[:200]
    if status == 416:
        assert response.headers["content-range"] == f"bytes */{len(whole)}"
    else:
        assert part is not None
        assert response.content == whole[part]


@pytest.mark.parametrize(
    ("header", "usable"),
    [
        (f"bytes={HUGE}-", "bytes=999999999999999999-"),
        (f"bytes=-{HUGE}", "bytes=-999999999999999999"),
        ("bytes=007 - 0010 ", "bytes=7-10"),
        ("bytes=0-0", "bytes=0-0"),
        (f"bytes={HUGE}-{HUGE}", "bytes=999999999999999999-999999999999999999"),
        (f"bytes=1{HUGE}-{HUGE}", None),  # more digits is larger, whatever they are
        ("bytes=-", None),
        ("bytes=1-2,3-4", None),
        ("bytes=a-b", None),
    ],
)
def test_usable_range_never_converts_a_huge_number(header: str, usable: str | None) -> None:
    assert usable_range(header) == usable


async def test_a_file_that_vanished_is_a_404_envelope(
    client: httpx.AsyncClient, emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    path, _ = await _uploaded(client, tmp_path)
    (stored,) = emulator.store.uploads.values()
    stored.path.unlink()  # as a reset (or anyone) deleting the file under a served URL would
    response = await client.get(path)
    assert (response.status_code, response.json()) == (404, {"code": 404, "message": "no such file", "data": None})
    ranged = await client.get(path, headers={"Range": "bytes=0-1"})
    assert ranged.status_code == 404
