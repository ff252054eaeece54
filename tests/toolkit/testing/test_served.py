"""``Served`` runs the emulator as ``nemo-mock serve`` does: the same limits on heads, so a test (or an audit)
meets the emulator a shared server would be."""

from __future__ import annotations

import httpx

from mock_server._guard import HEAD_BYTES
from nemo_contract.testing import Served, serve


def test_a_served_emulator_refuses_an_oversized_head_with_431() -> None:
    with Served(seed=1) as served:
        fits = httpx.get(f"{served.url}/__mock__/health", headers={"X-Pad": "a" * (HEAD_BYTES // 2)})
        over = httpx.get(f"{served.url}/__mock__/health", headers={"X-Pad": "a" * HEAD_BYTES})
    assert fits.status_code == 200
    assert over.status_code == 431
    assert "request head too large" in over.json()["message"]


def test_serve_runs_any_app_under_uvicorns_own_configuration() -> None:
    """The generic ``serve`` is for apps that are not the emulator (a test's broken server): no limits of ours."""
    with Served(seed=1) as served, serve(served.app) as url:
        plain = httpx.get(f"{url}/__mock__/health", headers={"X-Pad": "a" * HEAD_BYTES})
    assert plain.status_code == 200
