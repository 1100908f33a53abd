"""A node kind registered only inside a test compiles, runs under moto and appears in /v1/node-types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from nexod.runtime.errors import NodeFailedError
from tests.support.api import Api
from tests.support.noop_kind import noop_kind
from tests.unit.flows import edge, node

from .conftest import publish, run


@pytest.fixture
def noop() -> Iterator[None]:
    with noop_kind():
        yield


@pytest.mark.usefixtures("noop")
def test_a_kind_registered_in_a_test_runs_end_to_end(alice: Api, workspace: str, stack: LocalStack) -> None:
    # Given a flow using `noop`, a kind neither the compiler, the runner nor the services name
    definition = {
        "nodes": [
            node("start", "input"),
            node("hello", "noop", note="hi {{ input.who }}"),
            node("end", "output", value="{{ nodes.hello.output.note }}"),
        ],
        "edges": [edge("start", "hello"), edge("hello", "end")],
    }
    flow_id = publish(alice, workspace, definition, name="noop")
    # When it runs under moto
    finished = run(alice, workspace, flow_id, {"who": "there"})
    # Then the noop node ran with its template rendered, and its output reached the run's output
    assert finished["status"] == "SUCCEEDED", finished
    assert finished["output"] == "hi there"
    nodes = {
        n["node_id"]: n for n in alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{finished['id']}/nodes")["items"]
    }
    assert nodes["hello"]["type"] == "noop" and nodes["hello"]["status"] == "SUCCEEDED"


@pytest.mark.usefixtures("noop")
def test_a_kind_registered_in_a_test_is_in_the_catalog(alice: Api) -> None:
    # Given `noop` registered
    # When the console asks for the node types
    items = {t["type"]: t for t in alice.ok("GET", "/v1/node-types")["items"]}
    # Then it is there with its palette metadata and config schema
    assert items["noop"]["category"] == "Testing" and items["noop"]["icon"] == "noop"
    assert items["noop"]["templated_fields"] == ["note"]
    assert "note" in items["noop"]["config_schema"]["properties"]


def test_the_built_in_kinds_carry_palette_metadata(alice: Api) -> None:
    # Given the built-in kinds
    # When the console asks for the node types
    items = {t["type"]: t for t in alice.ok("GET", "/v1/node-types")["items"]}
    # Then each names the category the console grouped it under by name before the registry said so
    assert {t: items[t]["category"] for t in ("input", "output", "condition", "transform", "wait", "http", "llm")} == {
        "input": "Flow",
        "output": "Flow",
        "condition": "Logic",
        "transform": "Logic",
        "wait": "Logic",
        "http": "Connectors",
        "llm": "AI",
    }
    assert items["approval"]["category"] == "People" and "form" in items["approval"]["config_schema"]["properties"]
    assert all(items[t]["icon"] == t for t in items)
    assert "noop" not in items


def _spy_on_runner_functions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(function name, node id or op) of every Task the in-process Lambda dispatch serves from now on."""
    from nexod.adapters import moto_glue

    calls: list[tuple[str, str]] = []
    # Registered under the function's ARN and its name: watch both.
    for key, handler in list(moto_glue._handlers.items()):
        name = key.rsplit(":", 1)[-1]
        if name not in ("nexod-node-runner", "nexod-llm-runner"):
            continue

        def spy(event: dict[str, Any], name: str = name, handler: moto_glue.Handler = handler) -> Any:
            calls.append((name, str(event.get("node") or event.get("op"))))
            return handler(event)

        monkeypatch.setitem(moto_glue._handlers, key, spy)
    return calls


def test_each_task_reaches_the_runner_function_of_its_kind_s_runtime(
    alice: Api, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a flow with a core node before and after an llm node, and both runner functions watched
    calls = _spy_on_runner_functions(monkeypatch)
    definition = {
        "nodes": [
            node("start", "input"),
            node("shape", "transform", expression="input.topic"),
            node("shout", "llm", model="default", prompt="Say {{ nodes.shape.output }}"),
            node("end", "output", value="{{ nodes.shout.output.text }}"),
        ],
        "edges": [edge("start", "shape"), edge("shape", "shout"), edge("shout", "end")],
    }
    flow_id = publish(alice, workspace, definition, name="runtimes")
    # When it runs under moto
    finished = run(alice, workspace, flow_id, {"topic": "hello"})
    # Then it succeeds, the llm node ran in the LLM runner and every other Task (the run's end included,
    # which the last node records) in the core runner
    assert finished["status"] == "SUCCEEDED", finished
    assert calls == [("nexod-node-runner", "shape"), ("nexod-llm-runner", "shout"), ("nexod-node-runner", "end")]


def test_a_node_that_reaches_the_runner_of_another_runtime_fails_saying_what_to_do(alice: Api, workspace: str) -> None:
    from functions.steps import llm_runner, node_runner

    # Given a run parked in a wait before its llm node
    definition = {
        "nodes": [
            node("start", "input"),
            node("pause", "wait", seconds=60),
            node("shout", "llm", model="default", prompt="Say hi"),
            node("end", "output", value="x"),
        ],
        "edges": [edge("start", "pause"), edge("pause", "shout"), edge("shout", "end")],
    }
    flow_id = publish(alice, workspace, definition, name="old-version")
    _, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": {}})
    run_id = str(started["id"])
    alice.wait_run(workspace, run_id, until=("RUNNING",))
    event = {"run": {"id": run_id, "ws": workspace}, "node": "shout"}
    try:
        # When the llm node's Task reaches the core runner (as a version published before kinds named their
        # runtime would send it)
        with pytest.raises(NodeFailedError, match="reached the 'core' runner: publish the flow again"):
            node_runner.run_event(event)
        # Then the node is recorded as failed with that message, and its model was never called
        nodes = {n["node_id"]: n for n in alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{run_id}/nodes")["items"]}
        assert nodes["shout"]["status"] == "FAILED"
        assert "runs on the 'llm' runtime, but it reached the 'core' runner" in nodes["shout"]["error"]["message"]
        assert nodes["shout"]["model"] is None
        # And the same event at the LLM runner runs it
        llm_runner.run_event(event)
        nodes = {n["node_id"]: n for n in alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{run_id}/nodes")["items"]}
        assert nodes["shout"]["status"] == "SUCCEEDED" and nodes["shout"]["output"]["text"]
    finally:
        alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{run_id}/cancel")
