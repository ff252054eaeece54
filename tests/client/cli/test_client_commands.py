"""``nemo_contract._cli._client_commands``: the client's commands against the live emulator (acceptance line 9)."""

from __future__ import annotations

import io
import json
import pathlib
import stat
import typing

import httpx
import pytest

from nemo_contract._cli import main
from nemo_contract.protocol import DEFAULT_BASE_URL

from ...helpers import probe_video as probe
from ..harness import GENERATE, LiveHarness
from .runner import CLI, Run

pytestmark = pytest.mark.live


def test_upload_say_export_work_on_one_session(cli: CLI) -> None:
    clip = cli.world.clip()
    assert cli("upload", str(clip)).code == 0
    said = cli("say", GENERATE)
    assert said.code == 0
    assert "Timeline (3 tracks)" in said.out
    cli.world.configure(silent_close_rate=1.0)
    edited = cli("say", "make the music louder")
    assert "Changed track: BGM" in edited.out
    exported = cli("export", "-o", "final.mp4")
    assert exported.code == 0, exported.err
    assert "Video ready" in exported.out
    assert probe(pathlib.Path("final.mp4")) == ("h264", 1920, 1080)
    assert len(cli.world.journal("POST", "/api/auth/anonymous-token")) == 1
    assert len(cli.world.journal("POST", "/api/tasks/*/with-session/nemo_agent")) == 1
    sessions = {e.path.split("/")[5] for e in cli.world.journal() if e.path.startswith("/api/state/")}
    assert len(sessions) == 1


def test_json_for_scripts(cli: CLI) -> None:
    credits = cli("--json", "credits")
    assert json.loads(credits.out) == {"available": 100, "frozen": 0, "total": 100}
    after = cli("credits", "--json")  # options also after the command
    assert json.loads(after.out)["available"] == 100
    said = cli("--json", "say", "generate a 5-second video of ocean waves")
    lines = [json.loads(line) for line in said.out.splitlines()]
    assert {"kind", "text"} <= set(lines[0])
    assert "reply" in {line["kind"] for line in lines}
    state = json.loads(cli("--json", "state").out)
    assert state["tracks"] == 3
    exported = cli("--json", "export")
    result = json.loads(exported.out)  # one object: progress and notices stay out of it
    assert pathlib.Path(result["path"]).is_file()
    assert exported.err == ""


def test_chat_reads_piped_lines(cli: CLI) -> None:
    clip = cli.world.clip()
    run = cli("chat", stdin=f"upload {clip}\n\ncredits\n状态\nexit\ncredits\n")
    assert run.code == 0
    assert "Uploaded city_timelapse.mp4" in run.out
    assert "Credits: 100 available" in run.out
    assert "Timeline (0 tracks)" in run.out
    assert len(cli.world.journal("GET", "/api/credits/balance/simple")) == 1  # nothing after "exit"


def test_chat_keeps_going_after_an_error(cli: CLI) -> None:
    notes = pathlib.Path("notes.txt")
    notes.write_text("x")
    run = cli("chat", stdin=f"upload {notes.resolve()}\ncredits\n")
    assert run.code == 5  # the last failure's status
    assert "Credits: 100 available" in run.out
    assert len(run.err_lines) == 1


def _one_line(run: Run, code: int, *words: str) -> None:
    assert run.code == code, run
    assert len(run.err_lines) == 1, run.err
    assert "Traceback" not in run.err + run.out
    for word in words:
        assert word in run.err


def test_every_error_is_one_clear_line(cli: CLI, tmp_path: pathlib.Path) -> None:
    _one_line(cli("upload", "missing.mp4"), 5, "missing.mp4")
    pathlib.Path("notes.txt").write_text("x")
    _one_line(cli("upload", "notes.txt"), 5, "Accepted formats: mp4")
    _one_line(cli("export"), 1, "nothing to export", "Generate a video first")
    user = json.loads(cli.state.read_text())[f"{cli.world.base_url} video-to-generator"]["user_id"]
    cli.world.account(user, available=0)
    _one_line(cli("say", GENERATE), 3, f"?bind={user}")
    cli.world.account(user, available=100)
    assert cli("say", "generate a 5-second video of ocean waves").code == 0
    cli.world.account(user, export_allowed=False)
    _one_line(cli("export"), 4, "not credits")
    cli.world.faults({"path": "/run_sse", "error_after": 1})
    _one_line(cli("say", "add a title 'Nope'"), 7, "error")
    run = main(
        ["--base-url", "http://127.0.0.1:9", "--state-file", str(tmp_path / "x.json"), "credits"],
        stdout=io.StringIO(),
        stderr=(err := io.StringIO()),
    )
    assert run == 6
    assert err.getvalue().count("\n") == 1
    assert "http://127.0.0.1:9" in err.getvalue()


def test_ctrl_c_is_one_line_and_130(cli: CLI) -> None:
    class Interrupting(io.StringIO):
        def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]
            raise KeyboardInterrupt

    run = cli("chat", stdin=Interrupting())
    assert run.code == 130
    assert run.err_lines == ["nemo-contract: error: interrupted"]

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    assert cli("say", "generate a 5-second video of ocean waves").code == 0
    run = cli("export", sleep=interrupt)
    assert run.code == 130
    assert run.err_lines[-1].startswith("nemo-contract: error: interrupted")
    assert not list(pathlib.Path().glob("*.part"))
    assert not list(cli.downloads.glob("*.part"))


def test_the_state_file_lives_in_the_config_directory(
    live_harness: LiveHarness, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEMO_CONTRACT_STATE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    options = {"sleep": live_harness.sleep}
    base = ["--base-url", live_harness.base_url]
    assert main([*base, "credits"], stdout=io.StringIO(), stderr=io.StringIO(), client_options=options) == 0
    path = tmp_path / "xdg" / "nemo-contract" / "state.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert list(saved) == [f"{live_harness.base_url} video-to-generator"]
    monkeypatch.setenv("NEMO_CONTRACT_STATE", str(tmp_path / "env.json"))
    assert main([*base, "credits"], stdout=io.StringIO(), stderr=io.StringIO(), client_options=options) == 0
    assert (tmp_path / "env.json").is_file()
    assert main([*base, "forget"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert json.loads((tmp_path / "env.json").read_text()) == {}
    assert main([*base, "credits"], stdout=io.StringIO(), stderr=io.StringIO(), client_options=options) == 0
    assert len(live_harness.journal("POST", "/api/auth/anonymous-token")) == 3


def test_no_token_in_anything_printed(cli: CLI) -> None:
    runs = [
        cli("-v", "upload", str(cli.world.clip())),
        cli("-v", "say", GENERATE),
        cli("-v", "--json", "state"),
        cli("-v", "export"),
    ]
    cli.world.faults({"path": "/api/credits/*", "code": 1001, "times": 2})
    runs.append(cli("-v", "--json", "credits"))
    assert runs[-1].code == 1
    assert "POST /run_sse" in runs[1].err  # -v logs requests by method and path
    tokens = [t.value for t in cli.world.emulator.store.tokens.values()]
    for run in runs:
        for token in tokens:
            assert token not in run.out + run.err
        assert "nmv_usr_" not in run.out + run.err
    assert tokens[0] in cli.state.read_text()  # it is kept, in the owner-only state file


def test_skill_options_set_the_attribution(cli: CLI, tmp_path: pathlib.Path) -> None:
    skill = tmp_path / "SKILL.md"
    skill.write_text("---\nname: auto-generator\nversion: 2.3.4\n---\n# Auto Generator\n", encoding="utf-8")
    assert cli("--skill", "auto-generator", "--skill-file", str(skill), "credits").code == 0
    for entry in cli.world.journal():
        assert entry.attribution == {"source": "auto-generator", "version": "2.3.4", "platform": "unknown"}
    saved = json.loads(cli.state.read_text())
    assert list(saved) == [f"{cli.world.base_url} auto-generator"]  # each skill keeps its own session


# -- the token from the environment, bad service URLs, a damaged state file, start-up --------------------------------


def test_a_token_from_the_environment_is_used_but_never_saved(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("credits").code == 0
    key = f"{cli.world.base_url} video-to-generator"
    env_token = json.loads(cli.state.read_text())[key]["token"]
    assert cli("forget").code == 0
    monkeypatch.setenv("NEMO_TOKEN", env_token)
    assert cli("credits").code == 0
    assert env_token not in cli.state.read_text()  # used, never written
    assert json.loads(cli.state.read_text())[key]["token"] is None
    assert len(cli.world.journal("POST", "/api/auth/anonymous-token")) == 1  # NEMO_TOKEN needed none
    monkeypatch.delenv("NEMO_TOKEN")
    assert cli("credits").code == 0
    assert len(cli.world.journal("POST", "/api/auth/anonymous-token")) == 2  # not the old NEMO_TOKEN again
    saved = json.loads(cli.state.read_text())[key]["token"]
    assert saved and saved != env_token


@pytest.mark.parametrize("url", ["http://[::1", "notaurl", "ftp://x"])
def test_a_bad_service_url_is_a_usage_error(cli: CLI, url: str, tmp_path: pathlib.Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--base-url", url, "--state-file", str(tmp_path / "s.json"), "credits"], stdout=out, stderr=err)
    assert code == 2
    assert out.getvalue() == ""  # not even "Setting up..."
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith(f"nemo-contract: error: The service URL {url!r} (from --base-url) is not valid")
    assert "internal error" not in err.getvalue() and "Traceback" not in err.getvalue()


def test_a_bad_service_url_in_the_environment_is_named(
    cli: CLI, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEMO_API_URL", "notaurl")
    err = io.StringIO()
    assert main(["--state-file", str(tmp_path / "s.json"), "state"], stdout=io.StringIO(), stderr=err) == 2
    assert "(from NEMO_API_URL)" in err.getvalue()
    assert err.getvalue().count("\n") == 1


def test_a_damaged_state_file_is_kept_and_said_once(cli: CLI) -> None:
    cli.state.write_text("{not json", encoding="utf-8")
    run = cli("credits")
    assert run.code == 0
    backup = cli.state.with_name("state.json.bak")
    assert run.err_lines == [
        f"nemo-contract: warning: the state file {cli.state} was damaged; it was kept as {backup} and a new one started"
    ]
    assert backup.read_text(encoding="utf-8") == "{not json"
    assert json.loads(cli.state.read_text())  # a good one now
    assert cli("credits").err == ""


def test_auto_export_is_the_default_and_can_be_turned_off(cli: CLI) -> None:
    asked = cli("--no-auto-export", "say", "generate a 5-second video of ocean waves")
    assert asked.code == 0
    assert 'say "export"' in asked.out  # "click Export" became an offer
    after = cli("say", "what can you do?", "--no-auto-export")  # the option after the command too
    assert 'say "export"' in after.out
    assert cli.world.journal("POST", "/api/render/proxy/lambda") == []
    run = cli("say", "generate a 5-second video of a forest")  # a generation's reply always says "click Export"
    assert run.code == 0
    assert "Video ready" in run.out
    assert len(cli.world.journal("POST", "/api/render/proxy/lambda")) == 1
    assert len(list(cli.downloads.glob("render_*.mp4"))) == 1  # into the download folder
    assert not list(pathlib.Path().glob("*.mp4"))  # not silently into the current one


def test_status_is_a_command_too(cli: CLI) -> None:
    run = cli("status")
    assert run.code == 0
    assert "Timeline (0 tracks)" in run.out


def test_ctrl_c_while_the_client_loads_is_one_line(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted() -> typing.NoReturn:
        raise KeyboardInterrupt

    monkeypatch.setattr("nemo_contract._cli._client_commands._client_class", interrupted)
    run = cli("credits")
    assert run.code == 130
    assert run.err_lines == ["nemo-contract: error: interrupted"]
    assert cli.world.journal() == []


# -- the first hour: where a video goes, and what the messages say ---------------------------------------------------


def _renders(cli: CLI) -> set[str]:
    return {render_id for _, render_id in cli.world.emulator.store.renders}


def test_export_checks_its_file_before_the_render(cli: CLI) -> None:
    assert cli("--no-auto-export", "say", "generate a 5-second video of ocean waves").code == 0
    pathlib.Path("mine.mp4").write_bytes(b"my own video")
    _one_line(cli("export", "-o", "mine.mp4"), 5, "mine.mp4 already exists", "--force")
    _one_line(cli("export", "-o", "missing/out.mp4"), 5, "missing", "no such folder")
    _one_line(cli("export", "-o", "newdir/"), 5, "newdir", "no such folder")
    failed = cli("--json", "export", "-o", "mine.mp4")
    assert json.loads(failed.out)["error"]["type"] == "OutputExists"
    assert _renders(cli) == set()  # nothing was rendered
    assert pathlib.Path("mine.mp4").read_bytes() == b"my own video"
    assert not pathlib.Path("missing").exists() and not pathlib.Path("newdir").exists()
    replaced = cli("export", "-o", "mine.mp4", "--force")
    assert replaced.code == 0, replaced.err
    assert probe(pathlib.Path("mine.mp4")) == ("h264", 1920, 1080)


def test_an_automatic_export_goes_to_the_download_folder_and_says_so(
    cli: CLI, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = cli("say", "generate a 5-second video of ocean waves")
    (video,) = cli.downloads.glob("render_*.mp4")
    assert f"saved to {video}" in run.out
    assert not list(pathlib.Path().glob("*.mp4"))
    chosen = tmp_path / "videos"
    asked = len(cli.world.journal())
    _one_line(cli("--download-dir", str(chosen), "say", "make it longer"), 5, f"{chosen} (from --download-dir)")
    monkeypatch.setenv("NEMO_CONTRACT_DOWNLOADS", str(chosen))
    _one_line(cli("export"), 5, f"{chosen} (from NEMO_CONTRACT_DOWNLOADS) does not exist")
    assert len(cli.world.journal()) == asked  # refused before any request
    assert not chosen.exists()
    chosen.mkdir()
    run = cli("export")
    (video,) = chosen.glob("render_*.mp4")
    assert f"saved to {video}" in run.out
    assert cli("export", "--download-dir", str(tmp_path)).code == 0  # the option before the environment
    assert len(list(tmp_path.glob("render_*.mp4"))) == 1


class _InterruptedAt(io.StringIO):
    """Standard error that raises KeyboardInterrupt (once) when ``text`` is written to it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def write(self, s: str, /) -> int:
        if self.text and self.text in s:
            self.text = ""
            raise KeyboardInterrupt
        return super().write(s)


def test_an_interrupted_export_names_its_render_which_keeps_running(cli: CLI) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    assert cli("--no-auto-export", "say", "generate a 5-second video of ocean waves").code == 0
    run = cli("export", sleep=interrupt)
    assert run.code == 130
    (render_id,) = _renders(cli)
    assert run.err_lines[-1] == (  # after the progress lines
        f"nemo-contract: error: interrupted; the render {render_id} keeps running on the service "
        "(run the export again to get the video: exporting is free)"
    )
    before = _renders(cli)
    run = cli("export", stderr=_InterruptedAt("Rendering... 100%"))  # rendered, not downloaded yet
    assert run.code == 130
    (render_id,) = _renders(cli) - before
    (render,) = [r for (_, rid), r in cli.world.emulator.store.renders.items() if rid == render_id]
    link = f"{cli.world.base_url}/render-result/{render.url_key}/{render_id}.mp4"
    done = f"nemo-contract: error: interrupted; the render {render_id} is done: its video is at {link}"
    assert run.err_lines[-1] == done
    assert not list(cli.downloads.glob("*"))


def test_a_path_under_an_unknown_home_folder_is_one_line(cli: CLI) -> None:
    unknown = "~no-such-user-of-nemo"
    _one_line(cli("upload", f"{unknown}/a.mp4"), 5, f"cannot find the home folder that {unknown}/a.mp4 starts with")
    _one_line(cli("--download-dir", f"{unknown}/videos", "say", "hi"), 5, f"{unknown}/videos")
    _one_line(cli("export", "-o", f"{unknown}/v.mp4"), 5, f"{unknown}/v.mp4")
    assert cli.world.journal() == []


def test_an_unsupported_url_scheme_says_which_are_supported(cli: CLI) -> None:
    run = cli("upload", "ftp://example.com/a.mp4")
    _one_line(run, 5, "ftp://example.com/a.mp4", "only http:// and https:// URLs (and local files) are supported")
    assert cli.world.journal("POST", "/api/upload-video/*") == []


def test_a_base_url_with_a_path_is_said_to_look_wrong(cli: CLI, tmp_path: pathlib.Path) -> None:
    err = io.StringIO()
    argv = ["--base-url", f"{cli.world.base_url}/api", "--state-file", str(tmp_path / "s.json"), "credits"]
    assert main(argv, stdout=io.StringIO(), stderr=err) == 1
    assert err.getvalue() == (
        "nemo-contract: error: The service could not find what was asked for. "
        f"The service URL's path (/api) looks wrong: the base URL is the host alone, e.g. {cli.world.base_url}.\n"
    )


def test_a_404_after_the_service_answered_is_not_blamed_on_the_url(tmp_path: pathlib.Path) -> None:
    def backend(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/anonymous-token"):
            return httpx.Response(200, json={"code": 0, "message": "ok", "data": {"token": "t", "user_id": "u"}})
        if request.url.path.endswith("/with-session/nemo_agent"):
            return httpx.Response(200, json={"code": 0, "message": "ok", "data": {"session_id": "1"}})
        return httpx.Response(404, json={"code": 404, "message": "gone", "data": None})

    err = io.StringIO()
    argv = ["--base-url", "https://gw.example.test/nemo", "--state-file", str(tmp_path / "s.json"), "credits"]
    options = {"transport": httpx.MockTransport(backend)}
    assert main(argv, stdout=io.StringIO(), stderr=err, client_options=options) == 1
    assert "It may have expired" in err.getvalue() and "looks wrong" not in err.getvalue()


def test_a_service_that_is_down_names_the_setting_its_url_came_from(
    cli: CLI, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def credits(*argv: str, **options: typing.Any) -> str:
        err = io.StringIO()
        state = ["--state-file", str(tmp_path / "s.json")]
        assert main([*argv, *state, "credits"], stdout=io.StringIO(), stderr=err, client_options=options) == 6
        assert err.getvalue().count("\n") == 1
        return err.getvalue()

    down = "nemo-contract: error: Cannot connect to the service (http://127.0.0.1:9). Check that the service is"
    assert credits("--base-url", "http://127.0.0.1:9").startswith(f"{down} running there and that --base-url is right")
    monkeypatch.setenv("NEMO_API_URL", "http://127.0.0.1:9")
    assert credits().startswith(f"{down} running there and that NEMO_API_URL is right")
    monkeypatch.delenv("NEMO_API_URL")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    line = credits(transport=httpx.MockTransport(refuse))  # the real service, which a test must not call
    assert f"({DEFAULT_BASE_URL}). That is the real service, the default" in line
    assert "neither --base-url nor NEMO_API_URL is set" in line


def test_one_service_keeps_one_identity_in_the_state_file(cli: CLI) -> None:
    port = cli.world.base_url.rsplit(":", 1)[1]
    key = f"http://127.0.0.1:{port} video-to-generator"
    spellings = [f"http://localhost:{port}", f"http://127.0.0.1:{port}/", f"HTTP://LocalHost:{port}/"]
    for url in [*spellings, cli.world.base_url]:
        argv = ["--base-url", url, "--state-file", str(cli.state), "credits"]
        assert main(argv, stdout=io.StringIO(), stderr=io.StringIO(), client_options={"sleep": cli.world.sleep}) == 0
    assert len(cli.world.journal("POST", "/api/auth/anonymous-token")) == 1
    assert list(json.loads(cli.state.read_text())) == [key]


def test_entries_saved_under_another_spelling_are_still_read(cli: CLI) -> None:
    assert cli("credits").code == 0
    port = cli.world.base_url.rsplit(":", 1)[1]
    key, old = f"http://127.0.0.1:{port} video-to-generator", f"http://localhost:{port} video-to-generator"
    entry = json.loads(cli.state.read_text())[key]
    cli.state.write_text(json.dumps({old: entry, "https://other.test auto-generator": {}}))
    assert cli("credits").code == 0
    assert len(cli.world.journal("POST", "/api/auth/anonymous-token")) == 1  # the old entry's token was used
    assert json.loads(cli.state.read_text()) == {key: entry, "https://other.test auto-generator": {}}
    cli.state.write_text(json.dumps({old: entry, key: entry}))
    assert cli("forget").code == 0
    assert json.loads(cli.state.read_text()) == {}  # every spelling of it forgotten
