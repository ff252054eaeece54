"""Client settings, skill identity, and the token/session lifecycle (acceptance lines 1-3)."""

from __future__ import annotations

import pathlib
import uuid

import httpx
import pytest
import respx

from nemo_contract import (
    AsyncClient,
    Client,
    Credentials,
    Credits,
    InvalidBaseURL,
    Message,
    MessageKind,
    NemoError,
    SkillIdentity,
    SkillSource,
    Snapshot,
)
from nemo_contract._identity import DEFAULT_SKILL_VERSION, detect_platform, read_skill_version
from nemo_contract._session import detect_language
from nemo_contract.protocol import DEFAULT_BASE_URL

from .harness import Harness

pytestmark = pytest.mark.anyio

TOKEN = "nmv_usr_known-token-for-tests"


def _ok(data: dict[str, object]) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "message": "success", "data": data})


# -- settings ---------------------------------------------------------------------------------------------------


def test_settings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Client("https://example.test")  # type: ignore[call-arg, arg-type]
    with pytest.raises(TypeError):
        AsyncClient("https://example.test")  # type: ignore[call-arg, arg-type]


def test_base_url_and_token_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEMO_API_URL", "https://env.example.test")
    monkeypatch.setenv("NEMO_TOKEN", TOKEN)
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://env.example.test/api/credits/balance/simple").mock(
            return_value=_ok({"available": 5, "frozen": 0, "total": 5})
        )
        with Client() as client:
            assert client.base_url == "https://env.example.test"
            assert client.credits().available == 5
        # NEMO_TOKEN set: no anonymous token is fetched, and the env token is the bearer.
        assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert len(router.calls) == 1


def test_defaults_to_the_real_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEMO_API_URL", raising=False)
    with Client(token=TOKEN) as client:
        assert client.base_url == DEFAULT_BASE_URL


def test_explicit_settings_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEMO_API_URL", "https://env.example.test")
    monkeypatch.setenv("NEMO_TOKEN", "nmv_usr_from_env")
    with Client(base_url="https://explicit.test/", token=TOKEN) as client:
        assert client.base_url == "https://explicit.test"
        assert client.credentials.token == TOKEN


@pytest.mark.parametrize("url", ["http://[::1", "notaurl", "ftp://x", "http://", "http://host:port"])
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_a_bad_base_url_is_one_clear_error_at_once(url: str, kind: type[Client | AsyncClient]) -> None:
    with pytest.raises(InvalidBaseURL) as raised:
        kind(base_url=url, token=TOKEN)
    assert isinstance(raised.value, NemoError) and isinstance(raised.value, ValueError)
    text = raised.value.user_text()
    assert text.startswith(f"The service URL {url!r} is not valid: ")
    assert "\n" not in text and "httpx" not in text


def test_a_bad_base_url_is_shown_without_what_may_be_secret() -> None:
    with pytest.raises(InvalidBaseURL) as raised:
        Client(base_url="https://user:pa55@api.example.test/?key=s3cret", token=TOKEN)
    assert "pa55" not in str(raised.value) and "s3cret" not in str(raised.value)
    assert "a base URL has no query" in str(raised.value)


def test_a_bad_base_url_from_the_environment_says_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEMO_API_URL", "ftp://files.example.test")
    with pytest.raises(InvalidBaseURL) as raised:
        Client(token=TOKEN)
    assert "(from NEMO_API_URL)" in str(raised.value)


def test_a_token_from_the_environment_is_never_among_the_credentials_to_save(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEMO_TOKEN", TOKEN)
    with Client(base_url="https://example.test") as client:
        assert client.credentials.token == TOKEN  # in use...
        assert client.credentials_to_save().token is None  # ...but not to be written anywhere
        assert client.credentials_to_save().client_id == client.credentials.client_id
    with Client(base_url="https://example.test", token="nmv_usr_given") as client:
        assert client.credentials_to_save().token == "nmv_usr_given"  # a token handed over is the caller's to keep


def test_the_public_records_take_keywords_only() -> None:
    with pytest.raises(TypeError):
        Credentials("client", "token")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        SkillIdentity(SkillSource.AUTO_GENERATOR, "1.0.0", "cursor")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Message(MessageKind.NOTICE, "hello")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Credits(1, 2, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Snapshot("1", {}, [], [])  # type: ignore[call-arg]
    assert Credits(available=1, frozen=2, total=3).text == "Credits: 1 available, 2 in use, 3 total."


def test_credentials_repr_hides_the_token() -> None:
    with Client(token=TOKEN) as client:
        assert TOKEN not in repr(client.credentials)
        assert "***" in repr(client.credentials)


# -- identity ---------------------------------------------------------------------------------------------------


def _skill_file(folder: pathlib.Path, frontmatter: str) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "SKILL.md"
    path.write_text(f"---\n{frontmatter}\n---\n# Video to Generator\nbody\n", encoding="utf-8")
    return path


def test_version_comes_from_the_frontmatter_exactly_as_written(tmp_path: pathlib.Path) -> None:
    assert read_skill_version(_skill_file(tmp_path / "a", "name: video-to-generator\nversion: 1.10")) == "1.10"
    assert read_skill_version(_skill_file(tmp_path / "b", 'version: "2.0.3"\ndescription: x')) == "2.0.3"
    assert read_skill_version(_skill_file(tmp_path / "c", "name: x")) is None
    plain = tmp_path / "plain.md"
    plain.write_text("# no frontmatter\nversion: 9\n", encoding="utf-8")
    assert read_skill_version(plain) is None
    identity = SkillIdentity.detect("auto-generator", skill_file=plain)
    assert identity.version == DEFAULT_SKILL_VERSION
    assert identity.source is SkillSource.AUTO_GENERATOR


def test_platform_comes_from_the_install_path(tmp_path: pathlib.Path) -> None:
    home = tmp_path / "home"
    clawhub = _skill_file(home / ".clawhub" / "skills" / "video-to-generator", "version: 1.2.0")
    cursor = _skill_file(home / ".cursor" / "skills" / "auto-generator", "version: 3.0.0")
    other = _skill_file(home / "projects" / "skills", "version: 1.0.1")
    assert SkillIdentity.detect(skill_file=clawhub, home=home) == SkillIdentity(
        source=SkillSource.VIDEO_TO_GENERATOR, version="1.2.0", platform="clawhub"
    )
    assert SkillIdentity.detect("auto-generator", skill_file=cursor, home=home).platform == "cursor"
    assert SkillIdentity.detect(skill_file=other, home=home).platform == "unknown"
    # ~/.cursor alone is not a skills folder.
    assert detect_platform(home / ".cursor" / "other", home=home) == "unknown"
    assert detect_platform(home / ".clawhub", home=home) == "clawhub"


@pytest.mark.parametrize("source", list(SkillSource))
async def test_all_three_attribution_headers_on_every_request(harness: Harness, source: SkillSource) -> None:
    identity = SkillIdentity(source=source, version="4.5.6", platform="cursor")
    async with harness.client(skill=identity) as client:
        await client.upload(harness.clip())
        await client.say("generate a 10-second video of a city timelapse")
        await client.credits()
        await client.export()
    entries = [e for e in harness.journal() if not e.path.startswith("/render-result/")]
    assert {e.path for e in entries} >= {"/api/auth/anonymous-token", "/run_sse", "/api/render/proxy/lambda"}
    for entry in entries:
        assert entry.attribution == {"source": source.value, "version": "4.5.6", "platform": "cursor"}, entry.path


# -- lifecycle --------------------------------------------------------------------------------------------------


async def test_anonymous_token_for_a_uuid_client_id_then_one_session_reused(harness: Harness) -> None:
    async with harness.client() as client:
        await client.credits()
        await client.state()
        await client.say("hello there")
        await client.state()
        client_id = client.credentials.client_id
        assert client_id is not None
        assert uuid.UUID(client_id).version == 4
        token = harness.emulator.store.client_tokens[client_id]
        assert client.credentials.token == token.value
    assert len(harness.journal("POST", "/api/auth/anonymous-token")) == 1
    assert len(harness.journal("POST", "/api/tasks/*/with-session/nemo_agent")) == 1
    auth = harness.journal("POST", "/api/auth/anonymous-token")[0]
    assert "authorization" not in auth.headers_present
    assert "x-client-id" in auth.headers_present


async def test_first_contact_says_setting_up_once(harness: Harness) -> None:
    async with harness.client() as client:
        first = await client.handle("credits")
        second = await client.handle("credits")
    assert [m.text for m in first] == ["Setting up...", "Credits: 100 available, 0 in use, 100 total."]
    assert [m.text for m in second] == ["Credits: 100 available, 0 in use, 100 total."]


async def test_auto_generator_says_connecting_then_ready(harness: Harness) -> None:
    async with harness.client(skill="auto-generator") as client:
        first = await client.handle("balance")
    assert [m.text for m in first][:2] == ["Connecting...", "Ready!"]


@pytest.mark.parametrize(
    ("source", "words", "expected"),
    [
        ("video-to-generator", "hello, what can you do?", "en"),
        ("video-to-generator", "帮我生成一个视频", "zh-CN"),
        ("auto-generator", "帮我生成一个视频", None),
    ],
)
async def test_session_language_detected_except_for_auto_generator(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, source: str, words: str, expected: str | None
) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    async with harness.client(skill=source) as client:
        await client.handle(words)
        session = harness.emulator.store.sessions[client.credentials.session_id or ""]
    assert session.language == expected


def test_language_detection() -> None:
    assert detect_language("你好", environ={}) == "zh-CN"
    assert detect_language("こんにちは", environ={}) == "ja"
    assert detect_language("안녕하세요", environ={}) == "ko"
    assert detect_language("hello", environ={"LANG": "de_DE.UTF-8"}) == "de"
    assert detect_language("hello", environ={"LANG": "zh_TW.UTF-8"}) == "zh-TW"
    assert detect_language("hello", environ={"LANG": "C"}) == "en"
    assert detect_language(None, environ={}) == "en"


async def test_explicit_language_is_sent(harness: Harness) -> None:
    async with harness.client(language="es") as client:
        await client.state()
        assert harness.emulator.store.sessions[client.credentials.session_id or ""].language == "es"


async def test_saved_credentials_resume_the_same_session(harness: Harness) -> None:
    async with harness.client() as client:
        await client.upload(harness.clip())
        saved = client.credentials
    async with harness.client(credentials=saved) as resumed:
        snapshot = await resumed.state()
    assert [info["filename"] for info in snapshot.video_infos] == ["city_timelapse.mp4"]
    assert len(harness.journal("POST", "/api/auth/anonymous-token")) == 1
    assert len(harness.journal("POST", "/api/tasks/*/with-session/nemo_agent")) == 1


async def test_new_session_starts_an_empty_timeline(harness: Harness) -> None:
    async with harness.client() as client:
        await client.upload(harness.clip())
        first = client.credentials.session_id
        await client.new_session()
        assert client.credentials.session_id != first
        assert (await client.state()).video_infos == []
    assert len(harness.journal("POST", "/api/auth/anonymous-token")) == 1
    assert len(harness.journal("POST", "/api/tasks/*/with-session/nemo_agent")) == 2
