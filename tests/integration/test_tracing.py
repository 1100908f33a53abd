"""X-Ray traces from the Lambda roots, caught by a UDP listener standing in for the X-Ray daemon.

Each case runs a handler in a child process with Lambda's environment (`LAMBDA_TASK_ROOT`, a sampled
`_X_AMZN_TRACE_ID`) and `AWS_XRAY_DAEMON_ADDRESS` pointing at the listener; without Lambda's environment
the same handler must send nothing (tracing is free locally and in tests).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish

REPO = Path(__file__).resolve().parents[2]
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"

EVENTS_HANDLER = """
import json
from functions.steps.execution_events import handler
from tests.support.events import execution_status_change
arn = "arn:aws:states:us-east-1:123456789012:execution:nexod-aaaaaaaa-f:run-1"
print(json.dumps(handler(execution_status_change("RUNNING", arn, {"id": "run-1", "ws": "ws-1"}), Context())))
"""

API_HANDLER = """
import json
from functions.api.handler import handler
event = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/v1/workspaces/ws-1/runs/run-1", "rawQueryString": "",
    "headers": {}, "isBase64Encoded": False,
    "requestContext": {"http": {"method": "GET", "path": "/v1/workspaces/ws-1/runs/run-1", "sourceIp": "1.2.3.4"},
                       "requestId": "r", "stage": "$default"},
}
print(json.dumps(handler(event, Context())))
"""

NODE_RUNNER = """
import json, sys
from functions.steps.node_runner import handler
print(json.dumps(handler(json.loads(sys.argv[1]), Context())))
"""

CONTEXT = """
class Context:
    function_name = "nexod-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nexod-test"
    aws_request_id = "req-1"
"""


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(2)
    yield listener
    listener.close()


def invoke(
    code: str, daemon: socket.socket, in_lambda: bool, args: tuple[str, ...] = (), **more_env: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run `code` (with `args`) in a child process; its printed answer, and the trace documents the daemon got."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'layers'}{os.pathsep}{REPO}",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
        "NEXOD_DATABASE_URL": "postgresql://nexod@127.0.0.1:9/nexod",  # never connected to
        "POWERTOOLS_METRICS_DISABLED": "true",
        **more_env,
    }
    for key in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"):
        env.pop(key, None)
    if in_lambda:
        env.update({"LAMBDA_TASK_ROOT": str(REPO), "AWS_LAMBDA_FUNCTION_NAME": "nexod-test"})
    argv = [sys.executable, "-c", CONTEXT + code, *args]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    documents = []
    while True:
        try:
            data, _ = daemon.recvfrom(65535)
        except TimeoutError:
            break
        header, _, body = data.decode().partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        documents.append(json.loads(body))
    return answer, documents


def test_an_execution_status_change_is_traced_with_its_run(daemon: socket.socket) -> None:
    # Given the execution-events handler in Lambda with a sampled trace
    # When it handles a run's start
    answer, documents = invoke(EVENTS_HANDLER, daemon, in_lambda=True)
    # Then its handler subsegment joins the trace, annotated with the workspace, run and status
    assert answer == {"reconciled": False, "admitted": 0}
    (handler,) = [d for d in documents if d["name"] == "## handler"]
    assert handler["trace_id"] == TRACE_ID
    assert {k: handler["annotations"][k] for k in ("workspace_id", "run_id", "status")} == {
        "workspace_id": "ws-1",
        "run_id": "run-1",
        "status": "RUNNING",
    }
    assert "metadata" not in handler or "handler response" not in json.dumps(handler["metadata"])


def test_an_api_request_is_traced_with_the_ids_in_its_path_and_without_its_response(daemon: socket.socket) -> None:
    # Given the API handler in Lambda with a sampled trace
    # When an anonymous request asks for a run
    answer, documents = invoke(API_HANDLER, daemon, in_lambda=True)
    # Then it is refused, and the request's subsegment names the workspace and run, but not the response
    assert answer["statusCode"] == 401
    (handler,) = [d for d in documents if d["name"] == "## handler"]
    assert (handler["annotations"]["workspace_id"], handler["annotations"]["run_id"]) == ("ws-1", "run-1")
    assert "statusCode" not in json.dumps(handler.get("metadata", {}))


def test_outside_lambda_nothing_is_traced(daemon: socket.socket) -> None:
    # Given the same handler without Lambda's environment (local mode, tests)
    # When it handles the same event
    answer, documents = invoke(EVENTS_HANDLER, daemon, in_lambda=False)
    # Then it answers the same and the daemon hears nothing
    assert answer == {"reconciled": False, "admitted": 0}
    assert documents == []


def test_a_node_run_is_traced_with_its_workspace_run_node_and_kind(
    alice: Api, workspace: str, stack: LocalStack, daemon: socket.socket
) -> None:
    # Given a run parked in a wait before its output node, and its execution
    definition = {
        "nodes": [node("start", "input"), node("pause", "wait", seconds=60), node("after", "output", value="x")],
        "edges": [edge("start", "pause"), edge("pause", "after")],
    }
    flow_id = publish(alice, workspace, definition, name="traced")
    _, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": {}})
    alice.wait_run(workspace, started["id"], until=("RUNNING",))
    with stack.platform.services.store.tx(workspace) as tx:
        arn = tx.runs.get(started["id"]).execution_arn
    event = {"run": {"id": started["id"], "ws": workspace}, "exec": arn, "node": "after"}
    # When the core node-runner Lambda, with a sampled trace, runs the output node (on the same database)
    try:
        answer, documents = invoke(
            NODE_RUNNER,
            daemon,
            in_lambda=True,
            args=(json.dumps(event),),
            NEXOD_DATABASE_URL=stack.platform.postgres.app_url,
        )
    finally:
        stack.platform.orchestrator.stop(arn, "test cleanup")
    # Then the node ran, and its handler subsegment names the workspace, run, node, kind and runtime
    assert answer == {"take": {}}
    (handler,) = [d for d in documents if d["name"] == "## handler"]
    annotations = handler["annotations"]
    assert {k: annotations.get(k) for k in ("workspace_id", "run_id", "node_id", "node_kind", "op", "runtime")} == {
        "workspace_id": workspace,
        "run_id": started["id"],
        "node_id": "after",
        "node_kind": "output",
        "op": "node",
        "runtime": "core",
    }
