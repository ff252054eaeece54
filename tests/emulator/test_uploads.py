"""mock_server._uploads: multipart uploads streamed to disk, with size and type limits enforced while streaming."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import typing
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mock_server._errors import ProtocolError
from mock_server._uploads import MULTIPART_ALLOWANCE, clean_filename, receive_multipart
from nemo_contract.protocol import ACCEPTED_FORMATS_TEXT, HTTP_STATUS, Code

BOUNDARY = "test-boundary-7d3a"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_app(dest: Path, max_bytes: int) -> Starlette:
    async def upload(request: Request) -> JSONResponse:
        try:
            stored = await receive_multipart(request, dest, max_bytes=max_bytes)
        except ProtocolError as exc:
            return JSONResponse({"code": int(exc.code), "message": exc.message}, status_code=HTTP_STATUS[exc.code])
        fields = ("filename", "size", "sha256")
        files = [{**{k: getattr(f, k) for k in fields}, "path": str(f.path), "file_type": f.file_type} for f in stored]
        return JSONResponse({"code": 0, "files": files})

    return Starlette(routes=[Route("/upload", upload, methods=["POST"])])


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
async def client(dest: Path) -> typing.AsyncIterator[httpx.AsyncClient]:
    async with _client(dest, max_bytes=10 * 1024 * 1024) as http:
        yield http


def _client(dest: Path, max_bytes: int) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=make_app(dest, max_bytes))
    return httpx.AsyncClient(transport=transport, base_url="http://uploads.test")


# Small synchronous helpers: blocking file checks stay out of the async test bodies.
def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def content_of(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def exists(path: Path) -> bool:
    return path.exists()


def part(name: str, body: bytes, filename: str | bytes | None = None) -> bytes:
    """One raw multipart part; ``filename`` as bytes goes on the wire unescaped (for hostile names)."""
    disposition = f'form-data; name="{name}"'.encode()
    if filename is not None:
        disposition += b'; filename="' + (filename if isinstance(filename, bytes) else filename.encode()) + b'"'
    head = b"Content-Disposition: " + disposition + b"\r\nContent-Type: application/octet-stream\r\n"
    return b"--" + BOUNDARY.encode() + b"\r\n" + head + b"\r\n" + body + b"\r\n"


def closing() -> bytes:
    return b"--" + BOUNDARY.encode() + b"--\r\n"


class Recorder:
    """An async body that yields ``chunk`` ``count`` times and records how far it was read."""

    def __init__(self, chunk: bytes, count: int, head: bytes = b"", tail: bytes = b"") -> None:
        self.chunk, self.count, self.head, self.tail = chunk, count, head, tail
        self.yielded = 0

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        for piece in (self.head, *[self.chunk] * self.count, self.tail):
            if piece:
                self.yielded += 1
                yield piece


def file_head() -> bytes:
    """The opening of a file part whose data is still to come."""
    return part("files", b"", "big.mp4")[:-2]


def file_tail() -> bytes:
    return b"\r\n" + closing()


# ------------------------------------------------------------------------------------------------- happy paths


@pytest.mark.anyio
async def test_one_file_is_stored_with_its_size_and_digest(client: httpx.AsyncClient, dest: Path) -> None:
    content = os.urandom(70_000)
    response = await client.post("/upload", files={"files": ("clip.mp4", content, "video/mp4")})
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["filename"] == "clip.mp4"
    assert stored["file_type"] == "video"
    assert stored["size"] == len(content)
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    path = Path(stored["path"])
    assert path.parent == dest
    assert path.suffix == ".mp4"
    assert path.stem != "clip"  # a generated name, not the client's
    assert content_of(path) == content


@pytest.mark.anyio
async def test_several_files_keep_their_order_and_types(client: httpx.AsyncClient, dest: Path) -> None:
    bodies = [b"video-bytes", b"\x89PNG-ish", b"RIFF-ish", b"jpeg"]
    files = [
        ("files", ("a.MP4", bodies[0])),
        ("files", ("b.png", bodies[1])),
        ("files", ("c.wav", bodies[2])),
        ("files", ("d.jpeg", bodies[3])),
    ]
    response = await client.post("/upload", files=files)
    assert response.status_code == 200, response.text
    stored = response.json()["files"]
    assert [f["filename"] for f in stored] == ["a.MP4", "b.png", "c.wav", "d.jpeg"]
    assert [f["file_type"] for f in stored] == ["video", "image", "audio", "image"]
    assert [content_of(f["path"]) for f in stored] == bodies
    assert Path(stored[0]["path"]).suffix == ".mp4"
    assert len(leftovers(dest)) == 4


@pytest.mark.anyio
async def test_the_file_alias_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/upload", files={"file": ("song.mp3", b"ID3")})
    assert response.status_code == 200, response.text
    assert response.json()["files"][0]["file_type"] == "audio"


@pytest.mark.anyio
async def test_other_fields_are_skipped(client: httpx.AsyncClient, dest: Path) -> None:
    files = [("avatar", ("tool.exe", b"MZ")), ("files", ("x.webm", b"webm"))]
    data = {"source_type": "file", "note": "n" * 50_000}
    response = await client.post("/upload", data=data, files=files)
    assert response.status_code == 200, response.text
    assert [f["filename"] for f in response.json()["files"]] == ["x.webm"]
    assert len(leftovers(dest)) == 1


@pytest.mark.anyio
async def test_an_empty_file_is_stored(client: httpx.AsyncClient) -> None:
    response = await client.post("/upload", files={"files": ("empty.gif", b"")})
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["size"] == 0
    assert stored["sha256"] == hashlib.sha256(b"").hexdigest()


@pytest.mark.anyio
async def test_digest_survives_odd_chunking_and_boundary_lookalikes(client: httpx.AsyncClient) -> None:
    # Data full of near-boundaries forces the parser's look-behind path across chunk edges.
    near = b"\r\n--" + BOUNDARY.encode()[:-1] + b"X"
    content = (os.urandom(3001) + near) * 700 + b"\r\n-" + os.urandom(5)
    body = part("files", content, "tricky.mov") + closing()

    async def chunks() -> typing.AsyncIterator[bytes]:
        for start in range(0, len(body), 7777):
            yield body[start : start + 7777]

    response = await client.post("/upload", content=chunks(), headers={"Content-Type": MULTIPART})
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["size"] == len(content)
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert content_of(stored["path"]) == content


# ------------------------------------------------------------------------------------------------- file types


@pytest.mark.anyio
async def test_unsupported_type_is_4001_and_leaves_nothing(client: httpx.AsyncClient, dest: Path) -> None:
    files = [("files", ("fine.mp4", os.urandom(300_000))), ("files", ("tool.exe", b"MZ"))]
    response = await client.post("/upload", files=files)
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == Code.UNSUPPORTED_FILE_TYPE
    assert ACCEPTED_FORMATS_TEXT in body["message"]
    assert "tool.exe" in body["message"]
    assert leftovers(dest) == []


@pytest.mark.anyio
@pytest.mark.parametrize("filename", ["", "noextension", "..", "archive.tar.gz", "clip.mp4.exe"])
async def test_names_without_an_accepted_extension_are_4001(client: httpx.AsyncClient, filename: str) -> None:
    body = part("files", b"data", filename) + closing()
    response = await client.post("/upload", content=body, headers={"Content-Type": MULTIPART})
    assert response.json()["code"] == Code.UNSUPPORTED_FILE_TYPE


# ------------------------------------------------------------------------------------------------- sizes


@pytest.mark.anyio
async def test_declared_length_over_the_limit_is_refused_before_reading(dest: Path) -> None:
    body = Recorder(b"x" * 1024, 4, head=file_head(), tail=file_tail())
    limit = 1000
    declared = limit + MULTIPART_ALLOWANCE + 1
    async with _client(dest, max_bytes=limit) as http:
        response = await http.post(
            "/upload", content=body, headers={"Content-Type": MULTIPART, "Content-Length": str(declared)}
        )
    assert response.status_code == 413
    assert response.json()["code"] == Code.FILE_TOO_LARGE
    assert body.yielded == 0
    assert leftovers(dest) == []


@pytest.mark.anyio
async def test_huge_declared_length_with_a_tiny_body_is_4002(client: httpx.AsyncClient, dest: Path) -> None:
    headers = {"Content-Type": MULTIPART, "Content-Length": str(600 * 1024 * 1024)}
    response = await client.post("/upload", content=part("files", b"x", "a.mp4") + closing(), headers=headers)
    assert response.json()["code"] == Code.FILE_TOO_LARGE
    assert leftovers(dest) == []


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["abc", "-5", "12x", "1.5", ""])
async def test_a_non_numeric_content_length_is_400(client: httpx.AsyncClient, value: str) -> None:
    headers = {"Content-Type": MULTIPART, "Content-Length": value}
    response = await client.post("/upload", content=part("files", b"x", "a.mp4") + closing(), headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == Code.BAD_REQUEST


@pytest.mark.anyio
async def test_streaming_over_the_limit_stops_reading(dest: Path) -> None:
    # No Content-Length (a chunked body): the limit is found while streaming.
    body = Recorder(b"y" * 1024, 4096, head=file_head(), tail=file_tail())
    async with _client(dest, max_bytes=10_000) as http:
        response = await http.post("/upload", content=body, headers={"Content-Type": MULTIPART})
    assert response.status_code == 413
    assert response.json()["code"] == Code.FILE_TOO_LARGE
    assert body.yielded < 1024  # stopped long before the end of the 4 MiB body
    assert leftovers(dest) == []


@pytest.mark.anyio
async def test_a_flood_of_field_bytes_is_cut_off_too(dest: Path) -> None:
    # Skipped fields cost no memory, but a body longer than limit + allowance cannot be a valid upload.
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'.encode()
    body = Recorder(b"z" * 1024, 4096, head=head, tail=b"\r\n" + part("files", b"x", "a.mp4") + closing())
    async with _client(dest, max_bytes=1000) as http:
        response = await http.post("/upload", content=body, headers={"Content-Type": MULTIPART})
    assert response.json()["code"] == Code.FILE_TOO_LARGE
    assert body.yielded < 2048
    assert leftovers(dest) == []


@pytest.mark.anyio
async def test_the_limit_counts_all_files_of_the_request(dest: Path) -> None:
    files = [("files", ("a.mp4", b"a" * 600)), ("files", ("b.mp4", b"b" * 600))]
    async with _client(dest, max_bytes=1000) as http:
        over = await http.post("/upload", files=files)
        exact = await http.post("/upload", files=[("files", ("a.mp4", b"a" * 1000))])
    assert over.json()["code"] == Code.FILE_TOO_LARGE
    assert exact.status_code == 200, exact.text
    assert len(leftovers(dest)) == 1  # only the accepted one


@pytest.mark.anyio
async def test_a_large_upload_is_never_held_in_memory(dest: Path) -> None:
    chunk = os.urandom(1024 * 1024)
    count = 50
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)
    body = Recorder(chunk, count, head=file_head(), tail=file_tail())
    async with _client(dest, max_bytes=100 * 1024 * 1024) as http:
        tracemalloc.start()
        try:
            response = await http.post("/upload", content=body, headers={"Content-Type": MULTIPART})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["size"] == count * len(chunk)
    assert stored["sha256"] == expected.hexdigest()
    assert peak < 6 * 1024 * 1024, f"peak traced memory {peak} bytes for a 50 MiB upload"


# ------------------------------------------------------------------------------------------------- bad requests


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/mixed; boundary=x",
        "multipart/form-data; boundary=" + "b" * 257,
    ],
)
async def test_content_type_must_be_multipart_with_a_boundary(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/upload", content=part("files", b"x", "a.mp4") + closing(), headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == Code.BAD_REQUEST
    assert "multipart/form-data" in response.json()["message"]


BROKEN_BODIES = {
    "other boundary": part("files", b"x", "a.mp4").replace(BOUNDARY.encode(), b"another-boundary") + closing(),
    "bad header name": f"--{BOUNDARY}\r\nContent Disposition: form-data\r\n\r\nx\r\n".encode() + closing(),
    "no crlf after boundary": f"--{BOUNDARY}XX\r\n".encode() + closing(),
    "missing closing boundary": part("files", os.urandom(400_000), "a.mp4"),
    "truncated after a complete part": part("files", b"whole", "a.mp4") + part("files", b"cut", "b.mp4")[:-8],
    "truncated in the data": part("files", os.urandom(400_000), "a.mp4")[:300_000],
    "truncated in the headers": f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"'.encode(),
    "no disposition": f"--{BOUNDARY}\r\nContent-Type: video/mp4\r\n\r\nx\r\n".encode() + closing(),
    "disposition without name": part("files", b"x", "a.mp4").replace(b'name="files"; ', b"") + closing(),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", sorted(BROKEN_BODIES))
async def test_broken_multipart_is_400_and_leaves_nothing(client: httpx.AsyncClient, dest: Path, case: str) -> None:
    response = await client.post("/upload", content=BROKEN_BODIES[case], headers={"Content-Type": MULTIPART})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == Code.BAD_REQUEST
    assert body["message"].endswith(".")
    assert ". " not in body["message"]  # one sentence
    assert leftovers(dest) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [b"", closing(), part("source_type", b"file") + closing()],
    ids=["empty body", "no parts", "fields only"],
)
async def test_an_upload_without_files_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/upload", content=body, headers={"Content-Type": MULTIPART})
    assert response.status_code == 400
    assert response.json()["code"] == Code.BAD_REQUEST


@pytest.mark.anyio
async def test_client_disconnect_cleans_up_and_propagates(dest: Path) -> None:
    first = file_head() + os.urandom(400_000)  # past one batch, so a file is on disk when the client goes
    messages: list[dict[str, typing.Any]] = [
        {"type": "http.request", "body": first, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, typing.Any]:
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/upload",
        "headers": [(b"content-type", MULTIPART.encode())],
        "query_string": b"",
    }
    with pytest.raises(ClientDisconnect):
        await receive_multipart(Request(scope, receive), dest, max_bytes=10**9)
    assert messages == []  # the first chunk was parsed and written before the disconnect arrived
    assert exists(dest)  # so a file had been created...
    assert leftovers(dest) == []  # ...and is gone


# ------------------------------------------------------------------------------------------------- filenames


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"../../etc/passwd.mp4", "passwd.mp4"),
        (b"..\\\\..\\\\windows\\\\clip.mov", "clip.mov"),
        (b"/abs/path/x.png", "x.png"),
        (b"evil\x00name.mp4", "evilname.mp4"),
        (b"line\nbreak\t.mp4", "linebreak.mp4"),
        ("caf\u00e9 \u202egpj.mp4".encode(), "caf\u00e9 gpj.mp4"),
    ],
)
async def test_hostile_filenames_are_sanitised(
    client: httpx.AsyncClient, dest: Path, raw: bytes, expected: str
) -> None:
    body = part("files", b"payload", raw) + closing()
    response = await client.post("/upload", content=body, headers={"Content-Type": MULTIPART})
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["filename"] == expected
    path = Path(stored["path"])
    assert path.parent == dest
    assert content_of(path) == b"payload"
    assert leftovers(dest) == [path.name]
    assert not exists(dest.parent / "etc")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("clip.mp4", "clip.mp4"),
        ("a/b/c.mp4", "c.mp4"),
        ("a\\b\\c.mp4", "c.mp4"),
        ("", "upload"),
        ("   ", "upload"),
        (".", "upload"),
        ("..", "upload"),
        ("dir/", "upload"),
        ("\x00\x01\x7f", "upload"),
        ("a\u2028b.wav", "ab.wav"),
        ("\u00e9t\u00e9.png", "\u00e9t\u00e9.png"),
    ],
)
def test_clean_filename(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


def test_clean_filename_keeps_the_extension_when_truncating() -> None:
    long = "x" * 400 + ".mp4"
    cleaned = clean_filename(long)
    assert len(cleaned) == 255
    assert cleaned.endswith(".mp4")
    assert len(clean_filename("y" * 300)) == 255
