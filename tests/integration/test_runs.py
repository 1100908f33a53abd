"""Runs end to end: the compiled ASL executed by moto's interpreter, node results in Postgres."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from nexod.testing.stub_llm import OpenAIStub
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run


def acceptance_flow(base: str) -> dict[str, Any]:
    """http -> condition -> (llm | transform) -> output."""
    return {
        "nodes": [
            node("start", "input"),
            node(
                "fetch",
                "http",
                method="POST",
                url=f"{base}/demo/echo",
                body={"ok": "{{ input.ok }}", "title": "{{ input.title }}"},
            ),
            node("check", "condition", expression="nodes.fetch.output.body.body.ok"),
            node(
                "summarise",
                "llm",
                model="default",
                system="Be brief.",
                prompt="Summarise {{ nodes.fetch.output.body.body.title }}",
            ),
            node(
                "fallback",
                "transform",
                expression="{title: nodes.fetch.output.body.body.title, summary: 'n/a'}",
            ),
            node("result", "output"),
        ],
        "edges": [
            edge("start", "fetch"),
            edge("fetch", "check"),
            edge("check", "summarise", "true"),
            edge("check", "fallback", "false"),
            edge("summarise", "result"),
            edge("fallback", "result"),
        ],
    }


def test_the_acceptance_flow_takes_the_true_branch(
    alice: Api, workspace: str, stack: LocalStack, openai_stub: OpenAIStub
):
    # Given the http -> condition -> (llm | transform) -> output flow, published
    flow_id = publish(alice, workspace, acceptance_flow(stack.url))
    # When it runs with ok = true
    finished = run(alice, workspace, flow_id, {"ok": True, "title": "Nexod"})
    # Then it succeeds through the llm branch, and the transform branch is skipped
    assert finished["status"] == "SUCCEEDED", finished
    nodes = alice.nodes(workspace, finished["id"])
    assert {k: v["status"] for k, v in nodes.items()} == {
        "start": "SUCCEEDED",
        "fetch": "SUCCEEDED",
        "check": "SUCCEEDED",
        "summarise": "SUCCEEDED",
        "fallback": "SKIPPED",
        "result": "SUCCEEDED",
    }
    assert nodes["fetch"]["output"]["status"] == 200
    assert nodes["check"]["output"] == {"result": True, "value": True}
    assert nodes["summarise"]["output"]["text"] == "echo: Summarise Nexod"
    # And the model call is accounted for: tokens counted by the server, timing recorded
    assert nodes["summarise"]["tokens_in"] == 4 and nodes["summarise"]["tokens_out"] == 3
    assert finished["tokens"] == 7
    assert all(nodes[n]["duration_ms"] is not None and nodes[n]["started_at"] for n in nodes if n != "fallback")
    assert finished["output"] == {"summarise": {"text": "echo: Summarise Nexod", "model": nodes["summarise"]["model"]}}
    # And the prompt the model saw was rendered from the upstream output
    assert openai_stub.requests[-1]["messages"][-1]["content"] == "Summarise Nexod"


def test_the_acceptance_flow_takes_the_false_branch(alice: Api, workspace: str, stack: LocalStack):
    flow_id = publish(alice, workspace, acceptance_flow(stack.url))
    finished = run(alice, workspace, flow_id, {"ok": False, "title": "Quiet"})
    assert finished["status"] == "SUCCEEDED"
    nodes = alice.nodes(workspace, finished["id"])
    assert nodes["summarise"]["status"] == "SKIPPED" and nodes["fallback"]["status"] == "SUCCEEDED"
    assert finished["output"] == {"fallback": {"title": "Quiet", "summary": "n/a"}}


def test_new_runs_follow_the_live_pointer(alice: Api, workspace: str):
    # Given a flow published as v1 and then changed and published as v2
    def flow(tag: str) -> dict:
        return {
            "nodes": [node("start", "input"), node("result", "output", value=tag)],
            "edges": [edge("start", "result")],
        }

    flow_id = publish(alice, workspace, flow("v1"))
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}", {"definition": flow("v2")})
    alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions", {})
    assert run(alice, workspace, flow_id)["output"] == "v2"
    # When live is pointed back at v1
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}/live", {"version": 1})
    # Then new runs use v1, and a run can still ask for v2 explicitly
    back = run(alice, workspace, flow_id)
    assert (back["version"], back["output"]) == (1, "v1")
    assert run(alice, workspace, flow_id, version=2)["output"] == "v2"


def test_blocked_destinations_fail_the_node_clearly(alice: Api, workspace: str):
    for url in ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432"]:
        flow_id = publish(
            alice,
            workspace,
            {
                "nodes": [node("start", "input"), node("call", "http", url=url)],
                "edges": [edge("start", "call")],
            },
        )
        finished = run(alice, workspace, flow_id)
        assert finished["status"] == "FAILED"
        call = alice.nodes(workspace, finished["id"])["call"]
        assert call["status"] == "FAILED" and call["attempts"] == 1  # not retried: retrying cannot help
        assert call["error"]["type"] == "BlockedDestinationError"
        assert "blocked destination" in call["error"]["message"]
        assert finished["error"]["node"] == "call" and "blocked destination" in finished["error"]["message"]


def test_transient_failures_retry_by_the_node_policy(alice: Api, workspace: str, stack: LocalStack):
    # Given an endpoint that answers 503 twice, and a node allowed 2 retries, 1 s apart
    key = uuid.uuid4().hex
    flaky = {
        "id": "call",
        "type": "http",
        "config": {"url": f"{stack.url}/demo/flaky?key={key}&fail=2"},
        "retry": {"max_attempts": 2, "interval_seconds": 1, "backoff_rate": 1.0},
    }
    flow_id = publish(alice, workspace, {"nodes": [node("start", "input"), flaky], "edges": [edge("start", "call")]})
    # When it runs / Then Step Functions' Retry drove three attempts and the third succeeded
    finished = run(alice, workspace, flow_id)
    assert finished["status"] == "SUCCEEDED", finished
    call = alice.nodes(workspace, finished["id"])["call"]
    assert (call["attempts"], call["executions"], call["output"]["body"]["call"]) == (3, 3, 3)


def test_redrive_reuses_finished_nodes_and_never_repeats_their_side_effects(
    alice: Api, workspace: str, stack: LocalStack
):
    # Given a flow whose first call has a side effect and whose second call fails once (no retries)
    key = uuid.uuid4().hex
    effect_path = f"/demo/echo?effect={key}"
    doc = {
        "nodes": [
            node("start", "input"),
            node("effect", "http", method="POST", url=f"{stack.url}{effect_path}", body={"charge": 1}),
            {
                "id": "flaky",
                "type": "http",
                "config": {"url": f"{stack.url}/demo/flaky?key={key}&fail=1"},
                "retry": {"max_attempts": 0},
            },
            node("result", "output"),
        ],
        "edges": [edge("start", "effect"), edge("effect", "flaky"), edge("flaky", "result")],
    }
    flow_id = publish(alice, workspace, doc)
    failed = run(alice, workspace, flow_id)
    assert failed["status"] == "FAILED" and failed["error"]["node"] == "flaky"
    # When it is redriven
    status, redriven = alice.call("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/redrive")
    assert status == 202 and redriven["status"] == "RUNNING"
    finished = alice.wait_run(workspace, failed["id"])
    # Then it succeeds; the side-effecting node ran once in total, the failed one ran again
    assert finished["status"] == "SUCCEEDED" and finished["attempt"] == 2
    nodes = alice.nodes(workspace, failed["id"])
    assert nodes["effect"]["executions"] == 1 and nodes["effect"]["attempts"] == 2  # 2nd attempt: memo hit
    assert nodes["flaky"]["executions"] == 2
    assert stack.server.demo_hits[f"effect:{key}"] == 1  # the outside world saw the side effect once


def test_only_failed_or_cancelled_runs_can_be_redriven(alice: Api, workspace: str):
    flow_id = publish(alice, workspace, {"nodes": [node("start", "input")], "edges": []})
    done = run(alice, workspace, flow_id)
    status, body = alice.call("POST", f"/v1/workspaces/{workspace}/runs/{done['id']}/redrive")
    assert status == 409 and "SUCCEEDED" in body["error"]["message"]


def test_cancel_stops_the_execution(alice: Api, workspace: str, stack: LocalStack):
    # Given a run parked in a long wait
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [
                node("start", "input"),
                node("pause", "wait", seconds=60),
                node("after", "output", value="never"),
            ],
            "edges": [edge("start", "pause"), edge("pause", "after")],
        },
    )
    status, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": {}})
    alice.wait_run(workspace, started["id"], until=("RUNNING",))
    deadline = time.monotonic() + 10
    while alice.nodes(workspace, started["id"])["pause"]["status"] != "RUNNING":  # shown as waiting
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert alice.nodes(workspace, started["id"])["pause"]["waiting"] is True
    # When it is cancelled
    cancelled = alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{started['id']}/cancel")
    # Then the run is CANCELLED, the execution aborted, and later nodes never run
    assert cancelled["status"] == "CANCELLED"
    run_row = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}")
    sfn = stack.platform.orchestrator.client
    deadline = time.monotonic() + 10
    arn = None
    with stack.platform.services.store.tx(workspace) as tx:
        arn = tx.runs.get(started["id"]).execution_arn
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert run_row["status"] == "CANCELLED"
    assert alice.nodes(workspace, started["id"])["after"]["status"] == "PENDING"
    status, _body = alice.call("POST", f"/v1/workspaces/{workspace}/runs/{started['id']}/cancel")
    assert status == 409


def test_a_missing_template_path_fails_the_node_naming_the_path(alice: Api, workspace: str):
    doc = {
        "nodes": [node("start", "input"), node("say", "output", value="Hi {{ input.name }}")],
        "edges": [edge("start", "say")],
    }
    flow_id = publish(alice, workspace, doc)
    finished = run(alice, workspace, flow_id, {"nom": "typo"})
    assert finished["status"] == "FAILED"
    error = alice.nodes(workspace, finished["id"])["say"]["error"]
    assert "'name' not found in input (keys: nom)" in error["message"]


def test_on_error_continue_skips_only_what_depends_on_the_failed_node(alice: Api, workspace: str):
    doc = {
        "nodes": [
            node("start", "input"),
            {
                "id": "risky",
                "type": "http",
                "config": {"url": "http://169.254.169.254/"},
                "on_error": "continue",
            },
            node("after_risky", "transform", expression="nodes.risky.output"),
            node("safe", "transform", expression="`42`"),
            node("result", "output", value={"safe": "{{ nodes.safe.output }}"}),
        ],
        "edges": [
            edge("start", "risky"),
            edge("risky", "after_risky"),
            edge("start", "safe"),
            edge("safe", "result"),
            edge("after_risky", "result"),
        ],
    }
    flow_id = publish(alice, workspace, doc)
    finished = run(alice, workspace, flow_id)
    assert finished["status"] == "SUCCEEDED", finished
    nodes = alice.nodes(workspace, finished["id"])
    assert (nodes["risky"]["status"], nodes["after_risky"]["status"]) == ("FAILED", "SKIPPED")
    assert finished["output"] == {"safe": 42}


def test_runs_list_filters_by_flow_and_status(alice: Api, workspace: str):
    ok_flow = publish(alice, workspace, {"nodes": [node("start", "input")], "edges": []}, name="ok")
    run(alice, workspace, ok_flow)
    listed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={ok_flow}&status=SUCCEEDED")["items"]
    assert len(listed) == 1 and listed[0]["flow_name"] == "ok"
    status, body = alice.get(f"/v1/workspaces/{workspace}/runs?status=DONE")
    assert status == 422 and body["error"]["details"]["field"] == "status"


def test_the_seeded_demo_flows_run(alice: Api, demo_ws: str):
    flows = {f["name"]: f["id"] for f in alice.ok("GET", f"/v1/workspaces/{demo_ws}/flows")["items"]}
    weather = run(alice, demo_ws, flows["Weather brief"], {"city": "Lisbon"})
    assert weather["status"] == "SUCCEEDED", (weather["error"], alice.nodes(demo_ws, weather["id"]))
    fan = run(alice, demo_ws, flows["Parallel enrichment"], {"items": [3, 1, 2], "title": "numbers"})
    assert fan["output"] == {"total": 6, "sorted": [1, 2, 3], "title": "NUMBERS"}
    hello = run(alice, demo_ws, flows["Hello Nexod"], {"name": "Ada"})
    assert hello["status"] == "SUCCEEDED" and "Ada" in hello["output"]["greeting"]


def test_a_late_end_event_of_the_previous_execution_does_not_fail_a_redriven_run(
    alice: Api, workspace: str, stack: LocalStack, monkeypatch
):
    # Given a failed run
    key = uuid.uuid4().hex
    doc = {
        "nodes": [
            node("start", "input"),
            {
                "id": "flaky",
                "type": "http",
                "config": {"url": f"{stack.url}/demo/flaky?key={key}&fail=1"},
                "retry": {"max_attempts": 0},
            },
            node("pause", "wait", seconds=30),
        ],
        "edges": [edge("start", "flaky"), edge("flaky", "pause")],
    }
    flow_id = publish(alice, workspace, doc)
    failed = run(alice, workspace, flow_id)
    with stack.platform.services.store.tx(workspace) as tx:
        old_arn = tx.runs.get(failed["id"]).execution_arn
    # And the old execution's FAILED event arriving while the redrive is starting its new execution
    # (EventBridge gives no ordering guarantee; locally the watcher polls)
    from nexod.local.platform import reconcile_execution

    orchestrator = stack.platform.services.orchestrator
    real_start = orchestrator.start

    def start_with_late_event(target_arn, execution_name, payload):
        reconcile_execution(stack.platform.services, old_arn, "FAILED")
        return real_start(target_arn, execution_name, payload)

    monkeypatch.setattr(orchestrator, "start", start_with_late_event)
    # When the run is redriven
    status, redriven = alice.call("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/redrive")
    # Then the late event did not touch it: it is running its new execution
    assert status == 202 and redriven["status"] == "RUNNING"
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{failed['id']}")["status"] == "RUNNING"
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/cancel")


def test_a_nul_character_in_external_data_is_stored_not_fatal(alice: Api, workspace: str, stack: LocalStack):
    # Given an endpoint whose JSON answer contains U+0000 (PostgreSQL cannot store it)
    doc = {
        "nodes": [node("start", "input"), node("call", "http", url=f"{stack.url}/demo/echo?text=a%00b")],
        "edges": [edge("start", "call")],
    }
    flow_id = publish(alice, workspace, doc)
    # When the node records that answer / Then the run succeeds with the character replaced
    finished = run(alice, workspace, flow_id)
    assert finished["status"] == "SUCCEEDED", finished
    assert alice.nodes(workspace, finished["id"])["call"]["output"]["body"]["query"]["text"] == "a\ufffdb"


def test_a_failed_run_is_redriven_on_a_fixed_version_reusing_what_did_not_change(
    alice: Api, workspace: str, stack: LocalStack
):
    # Given v1 whose second call points at a URL that answers 404, after a call with a side effect
    key = uuid.uuid4().hex

    def flow(path: str) -> dict:
        return {
            "nodes": [
                node("start", "input"),
                node("charge", "http", method="POST", url=f"{stack.url}/demo/echo?effect={key}", body={"n": 1}),
                node("lookup", "http", url=f"{stack.url}{path}"),
                node("result", "output", value={"ok": "{{ nodes.lookup.output.status }}"}),
            ],
            "edges": [edge("start", "charge"), edge("charge", "lookup"), edge("lookup", "result")],
        }

    flow_id = publish(alice, workspace, flow("/demo/missing"))
    failed = run(alice, workspace, flow_id)
    assert failed["status"] == "FAILED" and failed["error"]["node"] == "lookup"
    # When the URL is fixed in v2 and the run is redriven on v2
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}", {"definition": flow("/demo/weather")})
    alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions", {})
    status, body = alice.call("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/redrive", {"version": 9})
    assert status == 422 and body["error"]["details"] == {"field": "version"}  # and nothing changed
    status, _ = alice.call("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/redrive", {"version": 2})
    assert status == 202
    finished = alice.wait_run(workspace, failed["id"])
    # Then it succeeds on v2; the unchanged side-effecting node was reused, the changed one and what
    # depends on it ran again
    assert (finished["status"], finished["version"], finished["output"]) == ("SUCCEEDED", 2, {"ok": 200})
    nodes = alice.nodes(workspace, failed["id"])
    assert nodes["charge"]["executions"] == 1 and stack.server.demo_hits[f"effect:{key}"] == 1
    assert nodes["lookup"]["executions"] == 2


def test_stale_nodes_are_the_changed_ones_and_everything_downstream():
    from nexod.domain.validation import validate
    from nexod.services.runs import stale_nodes

    def doc(expr: str, cond: str) -> dict:
        return {
            "nodes": [node("start", "input"), node("a", "transform", expression=expr), node("b"), node("c"), node("d")],
            "edges": [edge("start", "a"), edge("a", "b"), edge("start", "c", cond), edge("c", "d")],
        }

    old = validate(doc("input.x", "input.go"))
    assert stale_nodes(old, validate(doc("input.y", "input.go"))) == {"a", "b"}
    # A changed condition leaving the input node makes the input's recorded decision stale too
    assert stale_nodes(old, validate(doc("input.x", "input.stop"))) == {"start", "a", "b", "c", "d"}


def test_the_execution_events_lambda_repairs_a_run_whose_execution_timed_out(
    alice: Api, workspace: str, stack: LocalStack
):
    from functions.steps.execution_events import reconcile_event
    from tests.support.events import execution_status_change

    # Given a run parked in a wait
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [node("start", "input"), node("pause", "wait", seconds=60), node("after", "output", value="x")],
            "edges": [edge("start", "pause"), edge("pause", "after")],
        },
    )
    _, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": {}})
    alice.wait_run(workspace, started["id"], until=("RUNNING",))
    with stack.platform.services.store.tx(workspace) as tx:
        arn = tx.runs.get(started["id"]).execution_arn
    store = stack.platform.services.store

    def event(status: str, execution_arn: str) -> dict:
        return execution_status_change(status, execution_arn, {"id": started["id"], "ws": workspace})

    # And the function's event bus, recorded
    from functions.steps import execution_events

    sent: list[Any] = []

    class Bus:
        def publish(self, batch: Any) -> set[str]:
            sent.extend(batch)
            return {e.key for e in batch}

    execution_events.configure_publisher(Bus())
    try:
        # When EventBridge reports an older execution's end, nothing changes
        assert reconcile_event(store, event("FAILED", arn + "-old")) is False
        # When it reports that this execution timed out
        assert reconcile_event(store, event("TIMED_OUT", arn)) is True
        stack.platform.orchestrator.stop(arn, "test cleanup")
        # Then the run is FAILED with the reason, and a second delivery of the event is a no-op
        failed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}")
        assert (failed["status"], failed["error"]["code"]) == ("FAILED", "ExecutionTimedOut")
        assert reconcile_event(store, event("TIMED_OUT", arn)) is False
    finally:
        execution_events.configure_publisher(None)
    # And the repair is a run.failed event, which the function relayed to the bus
    events = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}/events")["items"]
    assert events[-1]["type"] == "run.failed" and events[-1]["data"]["error"]["code"] == "ExecutionTimedOut"
    mine = [e.detail for e in sent if e.detail.get("run_id") == started["id"]]
    assert mine and mine[-1]["type"] == "run.failed" and mine[-1]["status"] == "FAILED"


def test_the_node_runner_refuses_a_node_of_a_cancelled_run(alice: Api, workspace: str, stack: LocalStack):
    from functions.steps import node_runner
    from nexod.local.server import LambdaContext
    from nexod.runtime.errors import RunNotActiveError

    # Given a run parked in a wait before a node with an outside side effect, and then cancelled
    key = uuid.uuid4().hex
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [
                node("start", "input"),
                node("pause", "wait", seconds=60),
                node("effect", "http", url=f"{stack.url}/demo/echo?effect={key}"),
            ],
            "edges": [edge("start", "pause"), edge("pause", "effect")],
        },
    )
    status, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": {}})
    assert status == 202
    alice.wait_run(workspace, started["id"], until=("RUNNING",))
    assert alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{started['id']}/cancel")["status"] == "CANCELLED"

    # When the node runner is invoked for the next node anyway (a Task already dispatched, a late retry)
    with stack.platform.admin_db.connection() as conn:
        row = conn.execute("SELECT execution_arn FROM runs WHERE id = %s", (started["id"],)).fetchone()
    assert row is not None and row["execution_arn"]
    event = {"run": {"id": started["id"], "ws": workspace}, "node": "effect", "exec": row["execution_arn"]}
    with pytest.raises(RunNotActiveError, match="CANCELLED"):
        node_runner.handler(event, LambdaContext())

    # Then the node did not run: no side effect outside, no execution recorded, and the run stays cancelled
    assert stack.server.demo_hits.get(f"effect:{key}", 0) == 0
    effect = alice.nodes(workspace, started["id"])["effect"]
    assert effect["status"] == "PENDING" and not effect.get("executions")
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}")["status"] == "CANCELLED"
