"""A tiny program for the audit's own tests: it makes the calls its arguments name, in order, and prints what it
sees, one line per call (``credits 0``, ``control 404``, ``env {...}``). Standard library only: it stands for
any program, in any language, that the audit runs.

    python probe.py token session credits turn:hello state control env sleep:2
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

API = os.environ.get("NEMO_API_URL", "")
HEADERS = {"X-Skill-Source": "video-to-generator", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "unknown"}
state: dict[str, str] = {}


def call(method: str, path: str, body: object = None, *, auth: bool = True) -> tuple[int, bytes]:
    headers = dict(HEADERS)
    if auth and "token" in state:
        headers["Authorization"] = "Bearer " + state["token"]
    if path.endswith("anonymous-token"):
        headers["X-Client-Id"] = state.setdefault("client", str(uuid.uuid4()))
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(API + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def code(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("code"))
    except ValueError:
        return "stream"


def main(steps: list[str]) -> int:
    for step in steps:
        name, _, arg = step.partition(":")
        if name == "token":
            _, raw = call("POST", "/api/auth/anonymous-token", auth=False)
            if code(raw) == "0":
                state["token"] = json.loads(raw)["data"]["token"]
            print("token", code(raw), flush=True)
        elif name == "session":
            _, raw = call("POST", "/api/tasks/me/with-session/nemo_agent", {"task_name": "project"})
            if code(raw) == "0":
                state["sid"] = json.loads(raw)["data"]["session_id"]
            print("session", code(raw), flush=True)
        elif name == "credits":
            print("credits", code(call("GET", "/api/credits/balance/simple")[1]), flush=True)
        elif name == "state":
            print("state", code(call("GET", f"/api/state/nemo_agent/me/{state.get('sid')}/latest")[1]), flush=True)
        elif name == "turn":
            message = {"parts": [{"text": arg or "hello"}]}
            body = {"app_name": "nemo_agent", "user_id": "me", "session_id": state.get("sid"), "new_message": message}
            print("turn", code(call("POST", "/run_sse", body)[1]), flush=True)
        elif name == "control":
            print("control", call("GET", "/__mock__/journal")[0], flush=True)
        elif name == "env":
            keys = ("NEMO_API_URL", "NEMO_TOKEN", "NEMO_CONTRACT_STATE", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
            print("env", json.dumps({k: os.environ.get(k) for k in keys}), flush=True)
        elif name == "sleep":
            time.sleep(float(arg))
        elif name == "exit":
            return int(arg)
        else:
            raise SystemExit(f"unknown step {step!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
