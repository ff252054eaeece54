"""``nemo-mock serve`` as a real process: prints its URL, serves, ends streams and exits 0 on SIGTERM/Ctrl-C."""

from __future__ import annotations

import pathlib
import signal
import socket
import subprocess
import sys
import typing

import httpx
import pytest

from ..helpers import start_mock as _start
from ..helpers import stop_process as _stop

pytestmark = pytest.mark.live

#: The two server stacks: uvicorn alone (h11 on asyncio) and as installed (httptools on uvloop).
STACK_FLAGS = [("--http", "h11", "--loop", "asyncio"), ("--http", "httptools", "--loop", "uvloop")]
STACKS = [pytest.param(flags, id=f"{flags[1]}-{flags[3]}") for flags in STACK_FLAGS]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_answers_health_and_exits_0(sig: int, stack: tuple[str, ...]) -> None:
    process, url = _start("--seed", "3", "--time-scale", "2", *stack)
    try:
        health = httpx.get(f"{url}/__mock__/health", timeout=5).json()["data"]
        assert (health["seed"], health["time_scale"]) == (3, 2.0)
    finally:
        code, err = _stop(process, sig)
    assert code == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("stack", STACKS)
def test_sigterm_ends_an_open_stream_cleanly(stack: tuple[str, ...]) -> None:
    process, url = _start(*stack)
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c"}).json()["data"]["token"]
            auth = {"Authorization": f"Bearer {token}"}
            sid = http.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth).json()[
                "data"
            ]["session_id"]
            body = {
                "app_name": "nemo_agent",
                "session_id": sid,
                "new_message": {"parts": [{"text": "generate a video"}]},
            }
            with http.stream("POST", "/run_sse", json=body, headers=auth) as response:
                assert response.status_code == 200
                chunks: typing.Iterator[bytes] = response.iter_raw()
                first = next(chunks)
                assert first.startswith(b"data: ")
                process.send_signal(signal.SIGTERM)
                rest = b"".join(chunks)  # the server closes the stream; no hang, no error
                assert b"Traceback" not in rest
        code, err = _stop(process, signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, err


@pytest.mark.parametrize("stack", STACKS)
def test_sigterm_with_connections_open_exits_0_without_a_traceback(stack: tuple[str, str, str, str]) -> None:
    # Plain requests on a keep-alive connection left open, a connection that never sent a byte and one halfway
    # through a head: none may hold the shutdown up or end it in a traceback. (How fast it exits is measured by
    # the bench's shutdown row; here it only has to exit.)
    process, url = _start(*stack)
    port = int(url.rsplit(":", 1)[1])
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        with httpx.Client(base_url=url, timeout=5) as http:
            for _ in range(3):
                assert http.get("/__mock__/health").status_code == 200
            sockets[1].sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: x\r\n")
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=10)
    finally:
        for sock in sockets:
            sock.close()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--port", "99999"], "port"),
        (["--time-scale", "-1"], "time-scale"),
        (["--seed", "x"], "seed"),
        (["--config", "/nonexistent/knobs.yaml"], "cannot read config file"),
        (["--http", "h2"], "--http"),
        (["--max-disk", "lots"], "--max-disk"),
        (["--max-disk", "2000T"], "--max-disk"),
        (["--loop", "trio"], "--loop"),
    ],
)
def test_bad_flags_and_files_get_one_line_and_exit_2(args: list[str], problem: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_config_file_names_its_problem(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "knobs.yaml"
    path.write_text("heartbeat: loud\n")
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "heartbeat" in result.stderr


def test_serve_applies_the_rules_of_its_config_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "knobs.yaml"
    path.write_text("status_mode: always200\nfaults:\n  - method: GET\n    path: /api/credits/*\n    code: 1001\n")
    process, url = _start("--config", str(path))
    try:
        response = httpx.get(f"{url}/api/credits/balance/simple", timeout=5)
        assert (response.status_code, response.json()["code"]) == (200, 1001)
        config = httpx.get(f"{url}/__mock__/config", timeout=5).json()["data"]
        assert config["faults"] == [{"method": "GET", "path": "/api/credits/*", "code": 1001}]
    finally:
        _stop(process, signal.SIGTERM)


def _script(url: str) -> list[bytes]:
    """Token, session, a turn and the state: everything a seeded, frozen emulator must repeat exactly."""
    seen = []
    with httpx.Client(base_url=url, timeout=10) as http:
        token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same"})
        seen.append(token.content)
        auth = {"Authorization": f"Bearer {token.json()['data']['token']}"}
        session = http.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth)
        seen.append(session.content)
        sid = session.json()["data"]["session_id"]
        body = {"app_name": "nemo_agent", "session_id": sid, "new_message": {"parts": [{"text": "hello"}]}}
        with http.stream("POST", "/run_sse", json=body, headers=auth) as response:
            http.post("/__mock__/clock/advance", json={"seconds": 20})  # a chat turn lasts 5-15 s
            seen.append(response.read())
        seen.append(http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth).content)
    return seen


def test_two_processes_with_the_same_seed_and_clock_answer_alike_on_either_stack() -> None:
    runs = []
    for stack in STACK_FLAGS:
        pinned = ("--seed", "9", "--time-scale", "0", "--clock-start", "2026-03-13T00:00:00Z")
        process, url = _start(*pinned, *stack)
        try:
            runs.append(_script(url))
        finally:
            _stop(process, signal.SIGTERM)
    assert runs[0] == runs[1]
    assert b"2026-03-20T00:00:00Z" in runs[0][0]  # expires_at follows the pinned clock


def test_a_bad_clock_start_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--clock-start", "yesterday"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "ISO-8601" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "package"), [(["--http", "httptools"], "httptools"), (["--loop", "uvloop"], "uvloop")]
)
def test_a_stack_that_is_not_installed_is_one_line(flags: list[str], package: str) -> None:
    # The package is made unimportable in the child (a None entry in sys.modules), as uvloop is on Windows.
    hide = f"import sys; sys.modules[{package!r}] = None; from mock_server._cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", hide, "serve", "--port", "0", *flags], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr == f"nemo-mock: {' '.join(flags)} needs the {package} package, which is not installed here\n"


def _sample_clip(folder: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_server", "sample-clip", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sample_clip_writes_a_short_real_h264_mp4(tmp_path: pathlib.Path) -> None:
    import av

    made = _sample_clip(tmp_path, "clip.mp4", "--seconds", "2", "--size", "320x180")
    assert made.returncode == 0, made.stderr
    assert made.stdout == "nemo-mock: wrote clip.mp4 (2 s, 320x180, H.264)\n"
    with av.open(str(tmp_path / "clip.mp4")) as clip:
        video = clip.streams.video[0]
        assert (video.codec_context.name, video.codec_context.width, video.codec_context.height) == ("h264", 320, 180)
        assert clip.duration == 2_000_000  # microseconds
    assert _sample_clip(tmp_path, "default.mp4").returncode == 0  # 5 s at 640x360
    again = _sample_clip(tmp_path, "clip.mp4")
    assert again.returncode == 2 and again.stderr == "nemo-mock: clip.mp4 already exists (--force replaces a file)\n"
    assert _sample_clip(tmp_path, "clip.mp4", "--force").returncode == 0


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "required: FILE.mp4"),
        (["missing/clip.mp4"], "there is no folder missing"),
        (["clip.mov"], "give a name ending in .mp4"),
        (["."], "give a name ending in .mp4"),
        (["clip.mp4", "--seconds", "0"], "--seconds: must be from 0.1 to 1800 seconds"),
        (["clip.mp4", "--seconds", "soon"], "--seconds: not a number"),
        (["clip.mp4", "--size", "3x3"], "--size: sides must be even numbers"),
        (["clip.mp4", "--size", "big"], "--size: not WIDTHxHEIGHT"),
        (["clip.mp4", "--loud"], "unrecognized arguments: --loud"),
    ],
)
def test_sample_clip_refuses_bad_input_in_one_line(tmp_path: pathlib.Path, args: list[str], problem: str) -> None:
    done = _sample_clip(tmp_path, *args)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and problem in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, no folder made


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"journal_size: {10**30}\n", "journal_size"),
        ("journal_size: 4611686018427387904\n", "journal_size"),
        ("initial_credits: 1e400\n", "initial_credits"),
        ("render_duration: [1, 1e300]\n", "render_duration"),
        ("max_disk: -1\n", "max_disk"),
    ],
)
def test_a_config_file_with_an_out_of_range_number_is_one_line_and_exit_2(
    tmp_path: pathlib.Path, text: str, problem: str
) -> None:
    path = tmp_path / "knobs.yaml"
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and problem in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_without_seed_a_random_one_is_drawn_and_printed() -> None:
    seen = []
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--max-disk", "500M"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        try:
            url = line.split()[2]
            seed = int(line.split("(seed ", 1)[1].split(",")[0])
            health = httpx.get(f"{url}/__mock__/health", timeout=5).json()["data"]
            assert health["seed"] is None  # printed on the console only: ids follow from it
            assert httpx.get(f"{url}/__mock__/config", timeout=5).json()["data"]["max_disk"] == 500 << 20
            token = httpx.post(f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": "c"}, timeout=5)
            seen.append((seed, token.json()["data"]["token"]))
        finally:
            _stop(process, signal.SIGTERM)
    (seed_a, token_a), (seed_b, token_b) = seen
    assert seed_a != seed_b and token_a != token_b


def test_serve_shows_one_short_line_per_request_and_never_a_token() -> None:
    process, url = _start("--seed", "3", quiet=False)
    try:
        token = httpx.post(f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": "c"}, timeout=5).json()
        value = token["data"]["token"]
        httpx.get(f"{url}/api/credits/balance/simple?token={value}", headers={"Authorization": f"Bearer {value}"})
        httpx.get(f"{url}/api/credits/balance/simple", timeout=5)
        httpx.get(f"{url}/__mock__/health", timeout=5)  # the control plane is not shown
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    lines = out.splitlines()
    assert process.returncode == 0
    assert lines == [
        "nemo-mock: POST /api/auth/anonymous-token 200 code 0",
        "nemo-mock: GET /api/credits/balance/simple 200 code 0",
        "nemo-mock: GET /api/credits/balance/simple 401 code 1001",
    ]
    assert value not in "\n".join(lines)


def test_quiet_serve_shows_no_request() -> None:
    process, url = _start("--seed", "3")
    try:
        httpx.get(f"{url}/api/credits/balance/simple", timeout=5)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    assert out == ""


def test_the_documented_costs_preset_meets_a_first_session_with_2001(tmp_path: pathlib.Path) -> None:
    """100 credits, a generation at 100 and an edit at 50: the second paid turn of a new anonymous user is 2001."""
    process, url = _start("--preset", "documented-costs", "--time-scale", "100000")
    try:
        health = httpx.get(f"{url}/__mock__/config", timeout=5).json()["data"]
        assert (health["credit_costs"], health["initial_credits"]) == (
            {"generation": 100, "edit": 50, "chat": 0},
            100,
        )
        token = httpx.post(f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": "c"}, timeout=5).json()
        auth = {"Authorization": f"Bearer {token['data']['token']}"}
        sid = httpx.post(
            f"{url}/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth, timeout=5
        ).json()["data"]["session_id"]
        body = {"app_name": "nemo_agent", "session_id": sid, "new_message": {"parts": [{"text": ""}]}}
        for text, status in (("generate a 10-second video of waves", 200), ("add background music", 402)):
            body["new_message"] = {"parts": [{"text": text}]}
            with httpx.stream("POST", f"{url}/run_sse", json=body, headers=auth, timeout=30) as turn:
                answer = turn.read()
            assert turn.status_code == status, answer
        assert b'"code":2001' in answer and b"register?bind=anon_" in answer
    finally:
        _stop(process, signal.SIGTERM)


def test_an_unknown_preset_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--preset", "cheap"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr == "nemo-mock: no preset 'cheap'; the presets are: documented-costs\n"
