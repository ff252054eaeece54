"""The /__mock__/ control plane: health, reset, clock, config, accounts, journal."""

from __future__ import annotations

import pathlib

import anyio
import httpx
import pytest

from mock_server import Config, ConfigError, create_app, load_config_file
from mock_server._emulator import Emulator

from ..helpers import new_session, new_token

pytestmark = pytest.mark.anyio


async def test_health(client: httpx.AsyncClient) -> None:
    data = (await client.get("/__mock__/health")).json()["data"]
    assert data == {"status": "ok", "version": "0.1.0", "seed": 7, "time_scale": 0.0, "now": "2026-03-13T00:00:00Z"}


async def test_clock_advance_moves_virtual_time(client: httpx.AsyncClient) -> None:
    response = await client.post("/__mock__/clock/advance", json={"seconds": 86400})
    assert response.json()["data"] == {"now": "2026-03-14T00:00:00Z"}


@pytest.mark.parametrize("body", [{}, {"seconds": -1}, {"seconds": "ten"}, [], None])
async def test_clock_advance_refuses_bad_bodies(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/__mock__/clock/advance", json=body)
    assert (response.status_code, response.json()["code"]) == (400, 400)


async def test_reset_forgets_everything(client: httpx.AsyncClient, emulator: Emulator) -> None:
    token, _ = await new_token(client)
    await client.put("/__mock__/config", json={"status_mode": "always200"})
    emulator.clock.advance(500)
    await client.post("/__mock__/reset")
    assert (
        await client.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401
    assert (await client.get("/__mock__/config")).json()["data"]["status_mode"] == "http"
    assert (await client.get("/__mock__/health")).json()["data"]["now"] == "2026-03-13T00:00:00Z"
    assert (await client.get("/__mock__/journal")).json()["data"]["entries"][0]["path"] == "/api/credits/balance/simple"
    renewed, _ = await new_token(client)
    assert renewed != token  # a reset never issues again a token issued before it (tests/test_store.py)


async def test_config_get_shows_every_knob_with_the_documented_defaults(client: httpx.AsyncClient) -> None:
    data = (await client.get("/__mock__/config")).json()["data"]
    assert data == Config().to_dict()
    assert data["status_mode"] == "http" and data["event_format"] == "adk" and data["heartbeat"] == "empty"
    assert data["heartbeat_interval"] == 15 and data["silent_close_rate"] == 0.3 and data["render_shape"] == "toplevel"
    assert data["turn_durations"] == {"text": [5, 15], "edit": [10, 30], "generation": [100, 300]}
    assert data["credit_costs"] == {"generation": 10, "edit": 5, "chat": 0}


async def test_a_duration_range_may_be_written_max_first(client: httpx.AsyncClient) -> None:
    data = (await client.put("/__mock__/config", json={"render_duration": [90, 30]})).json()["data"]
    assert data["render_duration"] == [30, 90]


async def test_config_put_merges(client: httpx.AsyncClient) -> None:
    await client.put("/__mock__/config", json={"heartbeat": "comment", "credit_costs": {"edit": 7}})
    data = (await client.put("/__mock__/config", json={"turn_durations": {"text": [1, 2]}})).json()["data"]
    assert data["heartbeat"] == "comment"
    assert data["credit_costs"] == {"generation": 10, "edit": 7, "chat": 0}
    assert data["turn_durations"]["text"] == [1, 2] and data["turn_durations"]["edit"] == [10, 30]


@pytest.mark.parametrize(
    "patch",
    [
        {"no_such_knob": 1},
        {"status_mode": "sometimes"},
        {"silent_close_rate": 1.5},
        {"heartbeat_interval": 0},
        {"turn_durations": {"text": [-1, 2]}},
        {"faults": [{"path": "/x"}]},
        {"faults": [{"code": "many"}]},
        {"rate_limit": {"requests": 0, "window": 1}},
        {"journal_size": 10**30},
        {"journal_size": 2**62},
        {"heartbeat": "comment", "journal_size": 10**30},  # refused whole: the valid knob is not applied
        {"faults": [{"code": 429}], "journal_size": 0},
        {"initial_credits": 10**13},
        {"credit_costs": {"edit": 10**13}},
        {"token_lifetime": 1e13},
        {"token_limit_window": 1e300},
        {"token_limit_per_ip": 10**7},
        {"retry_after": 10**6},
        {"heartbeat_interval": 1e9},
        {"render_duration": [1, 1e9]},
        {"turn_durations": {"generation": [1e300, 1e300]}},
        {"rate_limit": {"requests": 10**7, "window": 1}},
        {"faults": [{"latency": 1e9}]},
        {"faults": [{"code": 429, "times": 10**7}]},
        {"faults": [{"code": 429}] * 101},
        {"max_disk": -1},
        {"max_disk": 2**51},
        {"journal_size": 2**63},  # once a 500 that left the config unusable (the journal cannot hold that many)
    ],
)
async def test_config_put_refuses_bad_values_and_keeps_the_old_config(
    client: httpx.AsyncClient, patch: dict[str, object]
) -> None:
    before = (await client.get("/__mock__/config")).json()["data"]
    response = await client.put("/__mock__/config", json=patch)
    assert (response.status_code, response.json()["code"]) == (400, 400)
    assert (await client.get("/__mock__/config")).json()["data"] == before
    later = await client.put("/__mock__/config", json={"journal_size": 5})  # and the emulator goes on
    assert (later.status_code, later.json()["data"]["journal_size"]) == (200, 5)


async def test_the_largest_documented_values_are_accepted(client: httpx.AsyncClient) -> None:
    patch = {
        "journal_size": 100_000,
        "initial_credits": 10**12,
        "token_lifetime": 1e12,
        "render_duration": [31_536_000, 31_536_000],
        "max_disk": 2**50,
        "faults": [{"code": 429, "times": 1_000_000}] * 100,
    }
    response = await client.put("/__mock__/config", json=patch)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert {key: data[key] for key in patch} == {**patch, "render_duration": [31_536_000, 31_536_000]}


def test_create_app_refuses_an_out_of_range_config() -> None:
    with pytest.raises(ConfigError, match="journal_size"):
        create_app(config={"journal_size": 10**30})


async def test_accounts_put_sets_credits_and_expiry(client: httpx.AsyncClient) -> None:
    token, user_id = await new_token(client)
    response = await client.put(f"/__mock__/accounts/{user_id}", json={"available": 3, "frozen": 2})
    data = response.json()["data"]
    assert (data["available"], data["frozen"], data["total"]) == (3, 2, 5)
    await client.put(f"/__mock__/accounts/{user_id}", json={"expires_at": "2026-03-13T00:00:00Z"})
    expired = await client.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"})
    assert expired.json()["code"] == 1001
    unknown = await client.put("/__mock__/accounts/anon_nobody", json={"available": 1})
    assert (unknown.status_code, unknown.json()["code"]) == (404, 404)
    bad = await client.put(f"/__mock__/accounts/{user_id}", json={"available": -1})
    assert bad.status_code == 400


async def test_the_journal_records_requests_with_filters(client: httpx.AsyncClient) -> None:
    token, user_id = await new_token(client)
    sid = await new_session(client, token)
    await client.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {token}"})
    entries = (await client.get("/__mock__/journal")).json()["data"]["entries"]
    assert [e["path"] for e in entries] == [
        "/api/auth/anonymous-token",
        "/api/tasks/me/with-session/nemo_agent",
        "/api/credits/balance/simple",
    ]
    last = entries[-1]
    assert (last["method"], last["status"], last["code"], last["user_id"], last["complete"]) == (
        "GET",
        200,
        0,
        user_id,
        True,
    )
    assert "authorization" in last["headers_present"]
    assert last["attribution"] == {"source": "video-to-generator", "version": "1.0.0", "platform": "unknown"}
    by_method = (await client.get("/__mock__/journal", params={"method": "post"})).json()["data"]["entries"]
    assert len(by_method) == 2
    by_path = (await client.get("/__mock__/journal", params={"path": "/api/tasks/*"})).json()["data"]["entries"]
    assert len(by_path) == 1 and sid
    by_token = (await client.get("/__mock__/journal", params={"token": token})).json()["data"]["entries"]
    assert len(by_token) == 2


async def test_the_journal_is_bounded(client: httpx.AsyncClient) -> None:
    await client.put("/__mock__/config", json={"journal_size": 3})
    for i in range(5):
        await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": f"c{i}"})
    data = (await client.get("/__mock__/journal")).json()["data"]
    assert [e["seq"] for e in data["entries"]] == [3, 4, 5]
    assert data["next"] == 6


async def test_journal_wait_blocks_until_a_matching_request_arrives(client: httpx.AsyncClient) -> None:
    found: list[list[dict[str, object]]] = []

    async def waiter() -> None:
        response = await client.get("/__mock__/journal", params={"path": "/api/auth/*", "wait": "5"})
        found.append(response.json()["data"]["entries"])

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.05)
        assert found == []
        await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "late"})
    assert len(found[0]) == 1
    timeout = await client.get("/__mock__/journal", params={"path": "/nothing", "wait": "0.05"})
    assert timeout.json()["data"]["entries"] == []


@pytest.mark.parametrize(
    "query",
    [{"wait": "x"}, {"wait": "61"}, {"since": "-1"}, {"limit": "0"}, {"limit": "a"}, {"token": ""}, {"method": "G T"}],
)
async def test_journal_refuses_bad_queries(client: httpx.AsyncClient, query: dict[str, str]) -> None:
    response = await client.get("/__mock__/journal", params=query)
    assert (response.status_code, response.json()["code"]) == (400, 400)


def test_config_files_in_yaml_and_json(tmp_path: pathlib.Path) -> None:
    yaml_file = tmp_path / "knobs.yaml"
    yaml_file.write_text("heartbeat: comment\nfaults:\n  - path: /run_sse\n    cut_after: 3\n")
    config = load_config_file(yaml_file)
    assert config.heartbeat.value == "comment" and config.faults[0].cut_after == 3
    json_file = tmp_path / "knobs.json"
    json_file.write_text('{"render_shape": "wrapped"}')
    assert load_config_file(json_file).render_shape.value == "wrapped"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("heartbeat: [", "not valid YAML"),
        ("- a list", "mapping"),
        ("status_mode: 3", "status_mode"),
        ("unknown_knob: 1", "unknown_knob"),
    ],
)
def test_bad_config_files_give_one_line(tmp_path: pathlib.Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem) as caught:
        load_config_file(path)
    assert "\n" not in str(caught.value)


def test_a_missing_config_file_gives_one_line(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config_file(tmp_path / "absent.yaml")
