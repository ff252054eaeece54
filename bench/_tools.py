"""The two outside tools: wrk (Debian's package) and Prism (npm), installed on first use when missing.

Prism goes into ``bench/out/.tools`` (ignored by git) with ``npm install --prefix``; wrk comes from
``apt-get install wrk`` when the bench runs as root. Whatever cannot be had is reported as the reason its row
is skipped, never as a failure of the run.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

from ._common import OUT_DIR, log

__all__ = ["PRISM_PACKAGE", "ensure_prism", "ensure_wrk", "prism_version"]

#: The version measured in RESULTS.md; pinned so a rerun compares like with like.
PRISM_PACKAGE = "@stoplight/prism-cli@5.14.2"
TOOLS = OUT_DIR / ".tools"  # a dot folder: mypy and ruff never look inside


def _run(command: list[str], timeout: float) -> tuple[bool, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stdout + done.stderr)[-600:]


def ensure_wrk() -> tuple[str | None, str]:
    """(path to wrk, "") or (None, why it is missing)."""
    found = shutil.which("wrk")
    if found:
        return found, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "wrk is not installed (apt-get install wrk needs root on Debian)"
    log("wrk is missing: apt-get install -y wrk")
    ok, output = _run(["apt-get", "install", "-y", "-qq", "wrk"], timeout=300)
    if not ok:
        _run(["apt-get", "update", "-qq"], timeout=300)
        ok, output = _run(["apt-get", "install", "-y", "-qq", "wrk"], timeout=300)
    found = shutil.which("wrk")
    return (found, "") if found else (None, f"apt-get install wrk failed: {output.strip()[-200:]}")


def _prism_bin() -> pathlib.Path:
    return TOOLS / "node_modules" / ".bin" / "prism"


def ensure_prism() -> tuple[list[str] | None, str]:
    """(command that runs Prism, "") or (None, why it is missing)."""
    prism = _prism_bin()
    if prism.exists() and shutil.which("node"):
        return [str(prism)], ""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return None, "node/npm are not installed (Prism is an npm package)"
    log(f"Prism is missing: npm install {PRISM_PACKAGE} into {TOOLS}")
    TOOLS.mkdir(parents=True, exist_ok=True)
    ok, output = _run(
        ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--loglevel=error", PRISM_PACKAGE],
        timeout=420,
    )
    if ok and prism.exists():
        return [str(prism)], ""
    return None, f"npm install {PRISM_PACKAGE} failed: {output.strip()[-200:]}"


def prism_version() -> str | None:
    manifest = TOOLS / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    if not manifest.exists():
        return None
    import json

    version: str = json.loads(manifest.read_text())["version"]
    return version
