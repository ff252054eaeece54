"""The pytest plugin from a user's side: each fixture, the marker and the options, in runs of pytest inside pytest.

Every inner run loads the plugin the way a user's does, through the package's ``pytest11`` entry point.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import textwrap

import av
import pytest
import yaml

from nemo_contract.protocol.specs import ADMIN_SPEC, API_SPEC, load_spec
from nemo_contract.testing import plugin
from nemo_contract.testing._machine import png_bytes

from ...helpers import INNER_PYTEST

# The inner runs are in-process, and pytester drops again whatever one imported for the first time; a C extension
# (PyYAML's, PyAV's) does not survive a second import into one process. So they load here, and the specs are
# parsed once, before any inner run.
assert yaml.__version__ and av.__version__
load_spec(API_SPEC), load_spec(ADMIN_SPEC)

CONFTEST = """
import pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def _run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest(*INNER_PYTEST, *args)


def test_the_plugin_is_registered_by_the_package(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.get_plugin("nemo_contract") is plugin


def test_loading_the_plugin_imports_no_server_nor_client_library() -> None:
    probe = (
        "import sys, nemo_contract.testing.plugin; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'starlette', 'uvicorn', 'httpx', 'respx', 'hypothesis', 'mock_server', 'sse_starlette', 'anyio'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_nemo_emulator_gives_the_control_api_and_both_clients(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
        import pytest

        def test_sync(nemo_emulator):
            with nemo_emulator.client() as http:
                answer = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "a"})
            assert answer.json()["code"] == 0
            (entry,) = nemo_emulator.call(nemo_emulator.emulator.entries)
            assert entry.attribution == {"source": "video-to-generator", "version": "1.0.0", "platform": "unknown"}

        @pytest.mark.anyio
        async def test_async(nemo_emulator):
            nemo_emulator.emulator.configure(initial_credits=7)
            assert nemo_emulator.base_url == "http://emulator.test"
            async with nemo_emulator.async_client() as http:
                token = (await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "a"})).json()
                assert token["data"]["credits"] == 7
                nemo_emulator.emulator.set_account(token["data"]["user_id"], available=3)
                auth = {"Authorization": "Bearer " + token["data"]["token"]}
                balance = await http.get("/api/credits/balance/simple", headers=auth)
            assert balance.json()["data"]["available"] == 3

        def test_each_test_has_a_fresh_one(nemo_emulator):
            assert nemo_emulator.emulator.entries() == []
            assert nemo_emulator.emulator.config.initial_credits == 100
        """,
    )
    result.assert_outcomes(passed=3)


def test_the_marker_sets_seed_clock_faults_and_knobs(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
        import pytest

        @pytest.mark.nemo(seed=7, clock="manual", event_format="typed",
                          faults=[{"path": "/api/credits/*", "code": 429, "times": 1}])
        def test_marked(nemo_emulator):
            emulator = nemo_emulator.emulator
            assert nemo_emulator.seed == emulator.seed == 7
            assert emulator.config.event_format.value == "typed"
            before = emulator.clock.now()
            with nemo_emulator.client() as http:
                token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "a"}).json()["data"]
                auth = {"Authorization": "Bearer " + token["token"]}
                assert http.get("/api/credits/balance/simple", headers=auth).status_code == 429
                assert http.get("/api/credits/balance/simple", headers=auth).status_code == 200
            assert emulator.clock.now() == before  # manual: it moves only when the test moves it

        @pytest.mark.nemo(time_scale=60)
        def test_a_time_scale_means_a_real_clock(nemo_emulator):
            assert nemo_emulator.clock == "real" and nemo_emulator.emulator.clock.time_scale == 60

        @pytest.mark.nemo(event_format="yaml")
        def test_a_bad_knob(nemo_emulator):
            pass
        """,
        "--nemo-seed",
        "3",
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.nemo: *event_format*"])


def test_the_seed_is_in_the_header_and_every_emulator_of_the_run_has_it(pytester: pytest.Pytester) -> None:
    source = """
        def test_one(nemo_emulator):
            print("SEED", nemo_emulator.seed)

        def test_two(nemo_server):
            print("SEED", nemo_server.seed)
        """
    chosen = _run(pytester, source, "--nemo-seed", "12345", "-s")
    chosen.assert_outcomes(passed=2)
    chosen.stdout.fnmatch_lines(["nemo-contract: emulator seed 12345 (repeat this run with --nemo-seed 12345)"])
    assert chosen.stdout.str().count("SEED 12345") == 2
    drawn = _run(pytester, source, "-s")
    header = re.search(r"emulator seed (\d+) \(repeat this run with --nemo-seed \1\)", drawn.stdout.str())
    assert header is not None
    assert drawn.stdout.str().count(f"SEED {header.group(1)}") == 2


def test_a_failed_test_reports_the_seed_and_the_journal(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
        def test_fails(nemo_emulator):
            with nemo_emulator.client() as http:
                http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "a"})
                for _ in range(45):
                    http.get("/api/credits/balance/simple")
            assert False, "the integration is wrong"

        def test_passes(nemo_emulator):
            pass
        """,
        "--nemo-seed",
        "99",
    )
    result.assert_outcomes(failed=1, passed=1)
    out = result.stdout.str()
    assert out.count("nemo journal (nemo_emulator)") == 1  # the passing test has none
    result.stdout.fnmatch_lines(
        [
            "*nemo journal (nemo_emulator)*",
            "emulator seed 99 (the run's seed; repeat with --nemo-seed 99), clock auto",
            "(6 earlier requests left out)",
            "#7 GET /api/credits/balance/simple 401 code 1001",
        ]
    )
    assert "#46 GET /api/credits/balance/simple 401 code 1001" in out
    assert len(re.findall(r"^#\d+ ", out, re.M)) == plugin_lines()


def plugin_lines() -> int:
    from nemo_contract.testing._report import MAX_LINES

    return MAX_LINES


def test_a_failed_turn_shows_its_stream_in_the_journal(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
        import pytest

        @pytest.mark.nemo(faults=[{"path": "/run_sse", "cut_after": 2}])
        @pytest.mark.anyio
        async def test_turn(nemo_emulator):
            from nemo_contract import AsyncClient
            async with AsyncClient(base_url=nemo_emulator.base_url, transport=nemo_emulator.transport(),
                                   sleep=nemo_emulator.emulator.advance, auto_export=False) as client:
                await client.say("generate a 10-second video of ocean waves")
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*TurnFailed*", "#4 POST /run_sse 200 token#1 stream: text, tool_call, heartbeat x*; ended cut"]
    )


@pytest.mark.live
def test_nemo_server_is_a_real_server_on_a_free_port(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
        import subprocess, sys

        def test_served(nemo_server):
            assert nemo_server.url.startswith("http://127.0.0.1:") and nemo_server.clock == "real"
            assert nemo_server.emulator.clock.time_scale == 250
            code = "import httpx, sys; print(httpx.get(sys.argv[1] + '/__mock__/health').json()['data']['status'])"
            done = subprocess.run([sys.executable, "-c", code, nemo_server.url], capture_output=True, text=True)
            assert done.stdout.strip() == "ok"  # another process reaches it
        """,
        "--nemo-time-scale",
        "250",
    )
    result.assert_outcomes(passed=1)


def test_nemo_routes_sends_the_real_url_to_the_emulator_with_streams_intact(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
        import httpx, pytest
        from nemo_contract.protocol import DEFAULT_BASE_URL

        @pytest.mark.nemo(clock="manual")
        @pytest.mark.anyio
        async def test_stream(nemo_routes, nemo_emulator):
            emulator = nemo_emulator.emulator
            async with httpx.AsyncClient(base_url=DEFAULT_BASE_URL) as http:  # code that hard-codes the URL
                token = (await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "a"})).json()["data"]
                auth = {"Authorization": "Bearer " + token["token"]}
                sid = (await http.post("/api/tasks/me/with-session/nemo_agent", headers=auth,
                                       json={"task_name": "project"})).json()["data"]["session_id"]
                body = {"app_name": "nemo_agent", "session_id": sid,
                        "new_message": {"parts": [{"text": "generate a 10-second video of ocean waves"}]}}
                async with http.stream("POST", "/run_sse", json=body, headers=auth) as response:
                    chunks = response.aiter_text()
                    emulator.advance(10)  # past the opening text: its event is sent, the turn goes on
                    first = await anext(chunks)
                    (turn,) = emulator.entries(path="/run_sse")
                    assert '"text"' in first and turn.end is None  # an event arrived before the stream ended
            assert len(emulator.entries()) == 3

        def test_sync(nemo_routes, nemo_emulator):
            answer = httpx.post(DEFAULT_BASE_URL + "/api/auth/anonymous-token", headers={"X-Client-Id": "a"})
            assert answer.json()["code"] == 0
            assert nemo_routes.calls.call_count == 1
        """,
    )
    result.assert_outcomes(passed=2)


def test_nemo_routes_takes_nemo_api_url_and_refuses_other_hosts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEMO_API_URL", "https://staging.example.test/")
    result = _run(
        pytester,
        """
        import httpx

        def test_configured_url(nemo_routes, nemo_emulator):
            answer = httpx.post("https://staging.example.test/api/auth/anonymous-token", headers={"X-Client-Id": "a"})
            assert answer.json()["code"] == 0

        def test_another_host_raises(nemo_routes):
            httpx.get("https://example.com/")

        def test_even_when_the_code_swallows_it(nemo_routes):
            try:
                httpx.get("https://example.com/page?secret=1")
            except Exception:
                pass

        def test_loopback_passes(nemo_routes, nemo_server):
            assert httpx.get(nemo_server.url + "/__mock__/health").status_code == 200
        """,
    )
    result.assert_outcomes(passed=3, failed=1, errors=1)  # the stray that was swallowed fails at teardown
    result.stdout.fnmatch_lines(["*NoNetwork: nemo_routes: GET https://example.com/ is not the NemoVideo API*"])
    result.stdout.fnmatch_lines(
        ["*the test sent requests that would have left this machine:*", "  GET https://example.com/page"]
    )
    assert "secret" not in result.stdout.str()


@pytest.mark.live
def test_under_xdist_every_worker_has_the_run_seed_and_its_own_servers(
    pytester: pytest.Pytester, tmp_path: pathlib.Path
) -> None:
    out = tmp_path / "seen"
    out.mkdir()
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_user=f"""
        import json, os, pathlib, pytest

        @pytest.mark.parametrize("n", range(4))
        def test_server(nemo_server, nemo_emulator, n):
            seen = dict(worker=os.environ["PYTEST_XDIST_WORKER"], seed=nemo_emulator.seed, url=nemo_server.url)
            pathlib.Path({str(out)!r}, str(n)).write_text(json.dumps(seen))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--nemo-seed", "4242")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["nemo-contract: emulator seed 4242*"])
    seen = [json.loads(path.read_text()) for path in out.iterdir()]
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}
    assert {s["seed"] for s in seen} == {4242}
    assert len({s["url"] for s in seen}) == 4


def test_the_emulators_files_are_gone_when_the_run_ends(pytester: pytest.Pytester, tmp_path: pathlib.Path) -> None:
    seen = tmp_path / "folders"
    result = _run(
        pytester,
        f"""
        import pathlib
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_upload(nemo_emulator, n):
            with nemo_emulator.client() as http:
                token = http.post("/api/auth/anonymous-token", headers={{"X-Client-Id": "a"}}).json()["data"]["token"]
                auth = {{"Authorization": "Bearer " + token}}
                sid = http.post("/api/tasks/me/with-session/nemo_agent", json={{"task_name": "p"}},
                                headers=auth).json()["data"]["session_id"]
                path = "/api/upload-video/nemo_agent/me/" + sid
                sent = http.post(path, files={{"files": ("still.png", {png_bytes()!r}, "image/png")}}, headers=auth)
            assert sent.json()["code"] == 0
            folder = nemo_emulator.emulator.data_dir
            assert any(p.is_file() and p.name != ".lock" for p in folder.rglob("*"))  # the upload is on disk
            with open({str(seen)!r}, "a") as out:
                out.write(str(folder) + "\\n")
        """,
    )
    result.assert_outcomes(passed=3)
    folders = [pathlib.Path(line) for line in seen.read_text().splitlines()]
    assert len(set(folders)) == 3 and not any(folder.exists() for folder in folders)
    assert not folders[0].parent.exists()  # the run's own folder too
