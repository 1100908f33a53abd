"""DESIGN §10 on real runs: EMF metrics from the node runner and the execution-events handler, and the
workspace, run and node on every log line written during a node run."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from nexod.adapters.powertools import NODE_METRICS
from nexod.domain.nodes import REGISTRY, NodeConfig, NodeKind
from nexod.local.boot import LocalStack
from nexod.observability import install_log_context
from nexod.runtime.executors import EXECUTORS, NodeContext, NodeResult, Toolbox, executor
from tests.support.api import Api
from tests.support.events import execution_status_change
from tests.unit.flows import edge, node

from .conftest import publish, run


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format documents among the lines a test printed."""
    documents = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metrics_of(document: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """{metric name: (unit, value)} of one EMF document (Powertools writes each value as a one-item list)."""
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    found = {}
    for metric in directive["Metrics"]:
        (value,) = document[metric["Name"]]
        found[metric["Name"]] = (metric["Unit"], value)
    return found


def test_a_node_run_reports_its_duration_tokens_and_cost_as_emf(
    alice: Api, workspace: str, stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a flow with one model call, published
    definition = {
        "nodes": [
            node("start", "input"),
            node("ask", "llm", model="default", prompt="Summarise {{ input.title }}"),
            node("end", "output"),
        ],
        "edges": [edge("start", "ask"), edge("ask", "end")],
    }
    flow_id = publish(alice, workspace, definition, name="metered")
    capsys.readouterr()
    # When it runs under moto
    finished = run(alice, workspace, flow_id, {"title": "Nexod"})
    documents = emf_documents(capsys.readouterr().out)
    # Then each node run printed one EMF document, found by its ids in the metadata
    assert finished["status"] == "SUCCEEDED", finished
    ours = {d["node_id"]: d for d in documents if d.get("run_id") == finished["id"]}
    assert set(ours) == {"ask", "end"}  # the input node has no Task: the API records it
    ask, end = ours["ask"], ours["end"]
    # And the model node carries its duration, the tokens the server counted and the cost recorded on it
    recorded = alice.nodes(workspace, finished["id"])["ask"]
    metrics = metrics_of(ask)
    assert set(metrics) == set(NODE_METRICS) == {"NodeDuration", "LLMTokensIn", "LLMTokensOut", "LLMCostUSD"}
    assert metrics["NodeDuration"][0] == "Milliseconds" and metrics["NodeDuration"][1] > 0
    assert metrics["LLMTokensIn"] == ("Count", recorded["tokens_in"]) == ("Count", 2)
    assert metrics["LLMTokensOut"] == ("Count", recorded["tokens_out"]) == ("Count", 3)
    assert metrics["LLMCostUSD"] == ("None", pytest.approx(float(recorded["cost_usd"] or 0)))
    # And the dimensions are the service and profile only; the ids are metadata, with the kind and outcome
    (directive,) = ask["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Nexod"
    assert [sorted(dimensions) for dimensions in directive["Dimensions"]] == [["profile", "service"]]
    assert (ask["service"], ask["profile"]) == ("nexod-node-runner", "local")
    assert (ask["workspace_id"], ask["node_kind"], ask["outcome"], ask["llm_calls"]) == (
        workspace,
        "llm",
        "succeeded",
        1,
    )
    # And a node without a model call reports its duration only
    assert set(metrics_of(end)) == {"NodeDuration"} and end["node_kind"] == "output"


class SayConfig(NodeConfig):
    """Logs its note (test-only kind)."""

    note: str = ""


def run_say(config: NodeConfig, _: NodeContext, __: Toolbox) -> NodeResult:
    assert isinstance(config, SayConfig)
    logging.getLogger("nexod.test.say").warning("saying %s", config.note)
    return NodeResult({"said": config.note})


@pytest.fixture
def say_kind() -> Iterator[None]:
    REGISTRY.register(NodeKind(name="say", config=SayConfig, category="Testing", icon="say"))
    executor("say")(run_say)
    try:
        yield
    finally:
        REGISTRY.unregister("say")
        EXECUTORS.pop("say", None)


@pytest.mark.usefixtures("say_kind")
def test_a_line_logged_during_a_node_run_names_its_workspace_run_and_node(
    alice: Api, workspace: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a handler with the log context filter (as `nexod up` installs it), and a node that logs
    install_log_context(caplog.handler, text=True)
    caplog.set_level(logging.WARNING, logger="nexod.test.say")
    definition = {
        "nodes": [node("start", "input"), node("speak", "say", note="hello"), node("end", "output")],
        "edges": [edge("start", "speak"), edge("speak", "end")],
    }
    flow_id = publish(alice, workspace, definition, name="talkative")
    # When it runs (on one of moto's threads, among other tests' runs)
    finished = run(alice, workspace, flow_id)
    # Then its line carries the three ids
    assert finished["status"] == "SUCCEEDED", finished
    (record,) = [r for r in caplog.records if r.getMessage() == "saying hello"]
    assert (record.workspace_id, record.run_id, record.node_id) == (workspace, finished["id"], "speak")  # type: ignore[attr-defined]
    assert record.log_context == f" workspace_id={workspace} run_id={finished['id']} node_id=speak"  # type: ignore[attr-defined]


def test_execution_status_changes_count_runs_started_and_failed(
    alice: Api, workspace: str, stack: LocalStack, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    from functions.steps import execution_events
    from functions.steps.execution_events import handle

    # (admission pinned to this stack: left unset, the handler builds its own from the environment)
    execution_events.configure_admission(lambda ws: 0)
    request.addfinalizer(lambda: execution_events.configure_admission(None))
    # Given a run parked in a wait
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [node("start", "input"), node("pause", "wait", seconds=60), node("after", "output")],
            "edges": [edge("start", "pause"), edge("pause", "after")],
        },
        name="parked",
    )
    _, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": {}})
    alice.wait_run(workspace, started["id"], until=("RUNNING",))
    with stack.platform.services.store.tx(workspace) as tx:
        arn = tx.runs.get(started["id"]).execution_arn
    ref = {"id": started["id"], "ws": workspace}
    capsys.readouterr()
    # When EventBridge delivers its start, then its timeout, to the handler
    first = handle(execution_status_change("RUNNING", arn, ref), lambda: stack.platform.services.store)
    second = handle(execution_status_change("TIMED_OUT", arn, ref), lambda: stack.platform.services.store)
    stack.platform.orchestrator.stop(arn, "test cleanup")
    # (only the handler's documents: the input node's runner may still flush its NodeDuration)
    documents = [
        d
        for d in emf_documents(capsys.readouterr().out)
        if d.get("run_id") == started["id"] and d.get("service") == "nexod-execution-events"
    ]
    # Then the start counted one RunsStarted, and the timeout one RunsFailed and repaired the run
    assert (first, second) == ({"reconciled": False, "admitted": 0}, {"reconciled": True, "admitted": 0})
    assert [metrics_of(d) for d in documents] == [{"RunsStarted": ("Count", 1)}, {"RunsFailed": ("Count", 1)}]
    assert [(d["status"], d["service"], d["workspace_id"], d["execution_arn"]) for d in documents] == [
        ("RUNNING", "nexod-execution-events", workspace, arn),
        ("TIMED_OUT", "nexod-execution-events", workspace, arn),
    ]
    assert [sorted(dims) for dims in documents[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]] == [
        ["profile", "service"]
    ]
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}")["status"] == "FAILED"
