"""The pytest plugin (issue 13, line 3): ``@pytest.mark.nemo_cassette(name, mode=..., speed=..., tail=...)`` and the
``nemo_cassette`` fixture, in a pytest run of its own: replay only under CI (nothing reaches the network), record
once, a miss an ``AssertionError`` carrying the diff (even when the code under test swallowed it), strict about
unused answers; and the plugin costs nothing to import."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from nemo_contract.testing import Served

INNER = textwrap.dedent(
    """
    import os

    import pytest

    from nemo_contract import AsyncClient, SkillSource
    from nemo_contract.recording import cassette_path

    pytestmark = pytest.mark.anyio
    SHIPPED = str(cassette_path("video-to-generator"))


    @pytest.fixture
    def anyio_backend():
        return "asyncio"


    @pytest.mark.nemo_cassette(SHIPPED)
    async def test_the_shipped_session_replays_to_the_reference_client(nemo_cassette, tmp_path):
        clip = tmp_path / "city_timelapse.mp4"
        clip.write_bytes(b"any bytes: the replay answers from the cassette")
        async with AsyncClient(
            base_url=nemo_cassette.base_url,
            transport=nemo_cassette.transport,
            skill=SkillSource.VIDEO_TO_GENERATOR,
            language="en",
            sleep=lambda seconds: None,
            download_dir=tmp_path,
        ) as client:
            said = [m.text for m in await client.handle("upload", [clip])]
            words = "turn this video into a new short promotional clip with music and transitions"
            said += [m.text for m in await client.handle(words)]
            said += [m.text for m in await client.handle("make the music louder")]
            said += [m.text for m in await client.handle("credits")]
            said += [m.text for m in await client.handle("export")]
        assert "Credits: 85 available, 0 in use, 85 total." in said
        assert sum(text.startswith("✅ Video ready") for text in said) == 2


    @pytest.mark.nemo_cassette(SHIPPED)
    async def test_a_miss_fails_with_the_diff(nemo_cassette):
        words = {"parts": [{"text": "hi"}]}
        turn = {"app_name": "nemo_agent", "user_id": "me", "session_id": "1", "new_message": words}
        async with nemo_cassette.async_client() as http:
            await http.post("/run_sse", json=turn)


    @pytest.mark.nemo_cassette(SHIPPED)
    def test_a_swallowed_miss_still_fails(nemo_cassette):
        with nemo_cassette.client() as http:
            try:
                http.get("/nowhere")
            except AssertionError:
                pass


    @pytest.mark.nemo_cassette(SHIPPED, strict=True)
    def test_strict_fails_on_answers_never_asked_for(nemo_cassette):
        pass


    @pytest.mark.nemo_cassette("balance", mode="once", upstream=os.environ["UPSTREAM"])
    def test_once_records_then_replays(nemo_cassette):
        with nemo_cassette.client() as http:
            token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "p-1"}).json()["data"]["token"]
            answer = http.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["data"]["available"] == 100


    @pytest.mark.nemo_cassette("missing")
    def test_under_ci_a_missing_cassette_is_not_recorded(nemo_cassette):
        pass
    """
)


def _run(folder: pathlib.Path, upstream: str, *options: str, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMO_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q", "--tb=short", *options, str(folder)],
        cwd=folder,
        env={**env, "CI": "1", "UPSTREAM": upstream, **variables},
        capture_output=True,
        text=True,
        timeout=180,
    )
    outcomes = {}
    for line in done.stdout.splitlines():
        found = re.match(r"(PASSED|FAILED|ERROR) \S+::(\w+)", line)
        if found:
            outcomes[found.group(2)] = found.group(1) if found.group(2) not in outcomes else "ERROR"
    outcomes["output"] = done.stdout
    return outcomes


@pytest.mark.live
def test_the_marker_replays_records_once_and_fails_on_misses(tmp_path: pathlib.Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    with Served(seed=4, clock="real", time_scale=1000) as served:
        first = _run(tmp_path, served.url)
    output = first["output"]
    assert first["test_the_shipped_session_replays_to_the_reference_client"] == "PASSED", output
    assert first["test_a_miss_fails_with_the_diff"] == "FAILED"
    assert 'text: recorded "turn this video into a new short promotional clip with mu...", sent "hi"' in output
    assert "CassetteMiss: no recorded answer for GET /nowhere" in output
    assert first["test_a_swallowed_miss_still_fails"] in ("FAILED", "ERROR")
    assert first["test_strict_fails_on_answers_never_asked_for"] == "ERROR"
    assert "recorded exchanges never asked for: #1 anonymousToken" in output
    assert first["test_once_records_then_replays"] == "PASSED", output
    assert first["test_under_ci_a_missing_cassette_is_not_recorded"] == "ERROR"
    assert "mode none only replays" in output
    recorded = tmp_path / "cassettes" / "balance.jsonl"
    assert recorded.exists() and not (tmp_path / "cassettes" / "missing.jsonl").exists()
    # The upstream is gone: the second run replays what the first recorded, and nothing reaches the network.
    again = _run(tmp_path, served.url)
    assert again["test_once_records_then_replays"] == "PASSED", again["output"]


MODES = textwrap.dedent(
    """
    import os

    import pytest

    UPSTREAM = os.environ["UPSTREAM"]


    def _tokens(nemo_cassette, count):
        with nemo_cassette.client() as http:
            for n in range(count):
                answer = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": f"c-{n}"})
                assert answer.json()["code"] == 0


    @pytest.mark.nemo_cassette("grow", mode="new", upstream=UPSTREAM)
    def test_new_adds_what_the_cassette_lacks(nemo_cassette):
        _tokens(nemo_cassette, int(os.environ["ROUND"]))


    @pytest.mark.nemo_cassette("fresh", mode="all", upstream=UPSTREAM)
    def test_all_records_afresh(nemo_cassette):
        _tokens(nemo_cassette, 1)


    @pytest.mark.nemo_cassette("fresh", tail="repeat-last")
    def test_repeat_last_answers_past_the_end(nemo_cassette):
        _tokens(nemo_cassette, 3)


    @pytest.mark.nemo_cassette("fresh")
    def test_the_default_tail_is_an_error(nemo_cassette):
        _tokens(nemo_cassette, 2)
    """
)


def _requests(cassette: pathlib.Path) -> int:
    return sum('"t":"req"' in line for line in cassette.read_text(encoding="utf-8").splitlines())


@pytest.mark.live
def test_the_record_modes_tails_and_the_option_that_overrides_them(tmp_path: pathlib.Path) -> None:
    (tmp_path / "test_modes.py").write_text(MODES, encoding="utf-8")
    grow, fresh = tmp_path / "cassettes" / "grow.jsonl", tmp_path / "cassettes" / "fresh.jsonl"
    with Served(seed=4, clock="real", time_scale=1000) as served:
        first = _run(tmp_path, served.url, ROUND="1")
        assert first["test_new_adds_what_the_cassette_lacks"] == "PASSED", first["output"]
        assert first["test_all_records_afresh"] == "PASSED", first["output"]
        assert first["test_repeat_last_answers_past_the_end"] == "PASSED", first["output"]
        assert first["test_the_default_tail_is_an_error"] == "FAILED"
        assert "CassetteMiss" in first["output"]
        assert (_requests(grow), _requests(fresh)) == (1, 1)
        second = _run(tmp_path, served.url, ROUND="2")
        assert second["test_new_adds_what_the_cassette_lacks"] == "PASSED", second["output"]
        assert second["test_all_records_afresh"] == "PASSED", second["output"]
        assert (_requests(grow), _requests(fresh)) == (2, 1)  # new appends what was missing; all starts over
        kept = fresh.read_bytes()
        third = _run(tmp_path, served.url, "--nemo-record-mode=none", ROUND="3")
    assert third["test_new_adds_what_the_cassette_lacks"] == "FAILED", third["output"]  # replay only: a miss
    assert third["test_all_records_afresh"] == "PASSED", third["output"]  # replayed, not recorded
    assert (_requests(grow), fresh.read_bytes()) == (2, kept)


def test_importing_the_plugin_costs_no_httpx_and_the_package_no_emulator() -> None:
    probe = (
        "import sys, nemo_contract.recording.plugin; assert 'httpx' not in sys.modules, 'httpx'; "
        "import nemo_contract.recording as r; r.load, r.ReplayApp, r.RecordingProxy, r.check, r.write_har; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'mock_server'], 'mock_server'"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
