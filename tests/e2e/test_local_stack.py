"""What a new user does after `make up`, over HTTP only: the issue's acceptance scenario."""

from __future__ import annotations

import signal
import uuid

import pytest

from nexod.local.demo import demo_weather
from tests.support.api import Api

from .launcher import Process, launch

pytestmark = pytest.mark.e2e


def hot_city() -> str:
    return next(c for c in (f"City{i}" for i in range(500)) if demo_weather(c)["temperature_c"] > 25)


def acceptance_flow(base: str) -> dict:
    return {
        "nodes": [
            {"id": "start", "type": "input", "config": {}},
            {
                "id": "fetch",
                "type": "http",
                "config": {"url": f"{base}/demo/weather", "query": {"city": "{{ input.city }}"}},
            },
            {
                "id": "hot",
                "type": "condition",
                "config": {"expression": "nodes.fetch.output.body.temperature_c > `25`"},
            },
            {
                "id": "tip",
                "type": "llm",
                "config": {
                    "model": "default",
                    "max_tokens": 40,
                    "prompt": "It is {{ nodes.fetch.output.body.temperature_c }}C. One heat tip.",
                },
            },
            {"id": "calm", "type": "transform", "config": {"expression": "nodes.fetch.output.body"}},
            {"id": "result", "type": "output", "config": {}},
        ],
        "edges": [
            {"from": "start", "to": "fetch"},
            {"from": "fetch", "to": "hot"},
            {"from": "hot", "to": "tip", "condition": "true"},
            {"from": "hot", "to": "calm", "condition": "false"},
            {"from": "tip", "to": "result"},
            {"from": "calm", "to": "result"},
        ],
    }


def test_build_publish_run_watch_and_roll_back(local_process: Process):
    # Given a fresh `make up` and a token from `nexod dev-token`
    api = Api(local_process.url, local_process.token("alice"))
    ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
    # When alice creates the acceptance flow, publishes it and runs it on a hot city
    flow = api.ok(
        "POST", f"/v1/workspaces/{ws}/flows", {"name": "e2e", "definition": acceptance_flow(local_process.url)}
    )
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {"description": "v1"})
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", {"input": {"city": hot_city()}})
    assert status == 202
    done = api.wait_run(ws, started["id"], timeout=180)
    # Then the run succeeds through the llm branch, answered by the offline default model
    assert done["status"] == "SUCCEEDED", done
    nodes = api.nodes(ws, started["id"])
    assert [nodes[n]["status"] for n in ("start", "fetch", "hot", "tip", "calm", "result")] == [
        "SUCCEEDED",
        "SUCCEEDED",
        "SUCCEEDED",
        "SUCCEEDED",
        "SKIPPED",
        "SUCCEEDED",
    ]
    assert nodes["tip"]["model"] and nodes["tip"]["tokens_out"] > 0 and nodes["tip"]["output"]["text"].strip()
    assert all(nodes[n]["duration_ms"] is not None for n in ("start", "fetch", "hot", "tip", "result"))

    # When v2 is published and live is pointed back at v1
    calm_only = acceptance_flow(local_process.url)
    calm_only["nodes"][2]["config"]["expression"] = "`false`"
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow['id']}", {"definition": calm_only})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {"description": "v2"})
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow['id']}/live", {"version": 1})
    _, again = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", {"input": {"city": hot_city()}})
    # Then new runs use v1
    assert api.wait_run(ws, again["id"], timeout=180)["version"] == 1


def test_metadata_and_database_addresses_are_blocked(local_process: Process):
    api = Api(local_process.url, local_process.token("alice"))
    ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
    for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432"):
        doc = {
            "nodes": [{"id": "start", "type": "input"}, {"id": "call", "type": "http", "config": {"url": url}}],
            "edges": [{"from": "start", "to": "call"}],
        }
        flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "blocked", "definition": doc})
        api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {})
        _, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", {"input": {}})
        assert api.wait_run(ws, started["id"])["status"] == "FAILED"
        assert "blocked destination" in api.nodes(ws, started["id"])["call"]["error"]["message"]


def test_a_run_interrupted_by_stopping_make_up_is_redriven_after_restart(tmp_path):
    # Given a local stack and a run parked in a wait after a side-effecting call
    process = launch(tmp_path / "state", model=False)
    try:
        api = Api(process.url, process.token("alice"))
        ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
        key = uuid.uuid4().hex
        doc = {
            "nodes": [
                {"id": "start", "type": "input"},
                {
                    "id": "charge",
                    "type": "http",
                    "config": {
                        "method": "POST",
                        "url": f"{process.url}/demo/echo?effect={key}",
                        "body": {"amount": 10},
                    },
                },
                {"id": "pause", "type": "wait", "config": {"seconds": 4}},
                {"id": "notify", "type": "http", "config": {"url": f"{process.url}/demo/echo?effect={key}-notify"}},
                {"id": "result", "type": "output", "config": {}},
            ],
            "edges": [
                {"from": "start", "to": "charge"},
                {"from": "charge", "to": "pause"},
                {"from": "pause", "to": "notify"},
                {"from": "notify", "to": "result"},
            ],
        }
        flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "interrupted", "definition": doc})
        api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {})
        _, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", {"input": {}})
        run_id = started["id"]
        import time

        deadline = time.monotonic() + 30
        while api.nodes(ws, run_id)["charge"]["status"] != "SUCCEEDED":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # When make up is stopped (Ctrl-C) during the wait, and started again on the same data
        assert process.stop(signal.SIGINT) == 0
        process = launch(tmp_path / "state", port=int(process.url.rsplit(":", 1)[1]), model=False)
        api = Api(process.url, process.token("alice"))
        interrupted = api.ok("GET", f"/v1/workspaces/{ws}/runs/{run_id}")
        # Then the run says it was interrupted, and a redrive finishes it
        assert interrupted["status"] == "FAILED" and interrupted["error"]["code"] == "Interrupted"
        assert api.call("POST", f"/v1/workspaces/{ws}/runs/{run_id}/redrive")[0] == 202
        finished = api.wait_run(ws, run_id, timeout=60)
        assert finished["status"] == "SUCCEEDED", finished
        # And the side effect before the interruption ran exactly once; the rest ran once, after it
        nodes = api.nodes(ws, run_id)
        assert nodes["charge"]["executions"] == 1 and nodes["charge"]["attempts"] == 2
        assert nodes["notify"]["executions"] == 1
    finally:
        process.stop()
