"""Local mode keeps its word: the offline model answers, is watched, comes back when killed, and says so
honestly when it cannot run; the seeded flows all succeed on a machine with no provider key."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from typing import Any

import pytest

from nexod.local.seed import example_flows
from tests.support.api import Api

from .launcher import ROOT, Process, launch

pytestmark = pytest.mark.e2e


def component(base_url: str, name: str) -> dict[str, Any]:
    status, health = Api(base_url, None).get("/v1/health")
    assert status == 200, health
    return next(c for c in health["components"] if c["name"] == name)


def failed_then_ready(base_url: str, name: str, timeout: float = 60) -> dict[str, Any]:
    """Watch /v1/health until `name` has been `failed` and is `ready` again; return it as it first failed."""
    seen: list[str] = []
    failed: dict[str, Any] | None = None
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != "ready" or failed is None:
        assert time.monotonic() < deadline, seen
        part = component(base_url, name)
        if not seen or seen[-1] != part["status"]:
            seen.append(part["status"])
            if part["status"] == "failed" and failed is None:
                failed = part
        time.sleep(0.05)
    return failed


def run_llm(api: Api, ws: str, name: str) -> dict[str, Any]:
    doc = {
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "ask", "type": "llm", "config": {"model": "default", "prompt": "Name a colour.", "max_tokens": 12}},
        ],
        "edges": [{"from": "start", "to": "ask"}],
    }
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": name, "definition": doc})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {})
    started = api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", {"input": {}})
    run = api.wait_run(ws, started["id"], timeout=180)
    return {"run": run, "nodes": api.nodes(ws, started["id"])}


def test_health_reports_every_component_ready_without_a_token(local_process: Process):
    # Given a fresh `nexod up` with the offline model
    # When anyone asks for /v1/health (no token)
    status, health = Api(local_process.url, None).get("/v1/health")
    # Then each part answered and says so
    assert status == 200 and health["status"] == "ready", health
    parts = {c["name"]: c for c in health["components"]}
    assert {"database", "orchestrator", "model"} <= set(parts)
    assert all(c["status"] == "ready" for c in parts.values()), parts
    assert "answered a completion" in parts["model"]["detail"]
    # And the banner named only what answered
    banner = local_process.log.read_text()
    assert "Default model: offline SmolLM2-135M-Instruct answered a completion" in banner
    assert "Database:     ready" in banner


def test_every_seeded_flow_succeeds_with_no_provider_key(local_process: Process):
    # Given the seeded demo workspace and no provider key (the launcher drops every *_API_KEY)
    api = Api(local_process.url, local_process.token("alice"))
    ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
    flows = {f["name"]: f["id"] for f in api.ok("GET", f"/v1/workspaces/{ws}/flows?limit=100")["items"]}
    for example in example_flows():
        start = next(n for n in example["definition"]["nodes"] if n["type"] == "input")
        sample = (start.get("config") or {}).get("example", {})
        # When each runs on the example input its input node shows in the console
        started = api.ok("POST", f"/v1/workspaces/{ws}/flows/{flows[example['name']]}/runs", {"input": sample})
        run = api.wait_run(ws, started["id"], timeout=180)
        # Then it succeeds, and its llm nodes were answered by the offline model
        nodes = api.nodes(ws, started["id"])
        assert run["status"] == "SUCCEEDED", (example["name"], run["error"], nodes)
        for node in nodes.values():
            if node["status"] == "SUCCEEDED" and node.get("model"):
                assert node["model"] == "offline/smollm2-135m-instruct" and node["output"]["text"].strip()


def test_a_killed_model_is_restarted_and_the_next_llm_node_succeeds(local_process: Process):
    # Given the running offline model
    api = Api(local_process.url, local_process.token("alice"))
    ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
    (pid,) = local_process.children("nexod.local.model_server")
    # When it is killed with SIGKILL
    subprocess.run(["kill", "-KILL", str(pid)], check=True)
    # Then within seconds /v1/health says failed (with the signal), then ready again after the restart
    failed = failed_then_ready(local_process.url, "model")
    assert "SIGKILL" in failed["detail"]
    assert component(local_process.url, "model")["restarts"] >= 1
    assert local_process.children("nexod.local.model_server") != [pid]
    # And the next llm node succeeds on the restarted model
    result = run_llm(api, ws, "after restart")
    assert result["run"]["status"] == "SUCCEEDED", result
    assert result["nodes"]["ask"]["output"]["text"].strip()
    # And why it died is in the supervisor's log
    assert "was killed (SIGKILL)" in (local_process.state_dir / "logs" / "supervisor.log").read_text()


def test_a_model_that_cannot_run_is_reported_not_claimed(tmp_path):
    # Given a machine where the model's port is taken (the model cannot start there)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        process = launch(tmp_path / "state", model_port=squatter.getsockname()[1])
        try:
            api = Api(process.url, process.token("alice"))
            ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
            # When it starts
            banner = process.log.read_text()
            # Then the banner does not claim the model, and /v1/health says failed with the reason
            assert "Default model: NOT AVAILABLE" in banner and "answered a completion" not in banner
            part = component(process.url, "model")
            assert part["status"] == "failed" and "is in use" in part["detail"]
            _, health = Api(process.url, None).get("/v1/health")
            assert health["status"] == "failed"
            # And an llm node fails with what happened, not a raw connection error
            result = run_llm(api, ws, "no model")
            assert result["run"]["status"] == "FAILED"
            message = result["nodes"]["ask"]["error"]["message"]
            assert "the offline model is not running" in message and "is in use" in message, message
            assert "Connection error" not in message
        finally:
            process.stop()


def test_setup_leaves_the_checkout_clean():
    # Given a checkout where `make` installed the packages and built the console (make test does that first)
    # When git looks at it
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "frontend/package-lock.json", "cdk/package-lock.json", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    built = [".venv/", ".localdb/", "frontend/node_modules/", "frontend/dist/", "cdk/node_modules/", "cdk.out/"]
    ignored = subprocess.run(["git", "check-ignore", *built], cwd=ROOT, capture_output=True, text=True).stdout
    # Then no lock was rewritten and everything setup creates is ignored
    assert dirty == "", dirty
    assert sorted(ignored.split()) == sorted(built), ignored
    if __import__("os").environ.get("CI") == "true":  # a clean clone: setup must leave nothing at all behind
        everything = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        assert everything == "", everything


def test_stopping_leaves_no_model_process_behind(tmp_path):
    # Given a running `nexod up` with its model
    process = launch(tmp_path / "state")
    (pid,) = process.children("nexod.local.model_server")
    # When it is stopped with Ctrl-C
    assert process.stop(signal.SIGINT) == 0
    # Then its model process is gone too
    deadline = time.monotonic() + 15
    while subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "the model process outlived nexod up"
        time.sleep(0.1)


def test_a_killed_database_is_restarted_and_the_api_answers_again(tmp_path):
    # Given a running `nexod up` (no model needed) and its Postgres
    process = launch(tmp_path / "state", model=False)
    try:
        api = Api(process.url, process.token("alice"))
        ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
        (pid_file,) = (process.state_dir / "pg").rglob("postmaster.pid")
        postmaster = int(pid_file.read_text().splitlines()[0])
        # When the postmaster is killed with SIGKILL
        subprocess.run(["kill", "-KILL", str(postmaster)], check=True)
        # Then /v1/health says the database failed, then ready again once the supervisor restarted it
        failed_then_ready(process.url, "database")
        # And the API serves data again (pooled connections to the dead server are replaced)
        assert api.ok("GET", f"/v1/workspaces/{ws}/flows")["items"]
        assert "stopped (postmaster pid" in (process.state_dir / "logs" / "supervisor.log").read_text()
    finally:
        process.stop()


def test_up_refuses_a_vault_key_that_others_can_read(tmp_path):
    # Given a state folder whose vault key was made readable by others (a careless copy, a wide umask)
    from nexod.adapters.vault_local import load_or_create_key

    key = tmp_path / "state" / "keys" / "vault.key"
    load_or_create_key(key)
    key.chmod(0o644)
    # When `nexod up` starts
    from .launcher import NEXOD

    done = subprocess.run(
        [*NEXOD, "up", "--state-dir", str(tmp_path / "state"), "--no-model", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it refuses before starting anything, saying how to fix it
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"run `chmod 600 {key}`" in done.stderr
    assert not (tmp_path / "state" / "pg").exists()
