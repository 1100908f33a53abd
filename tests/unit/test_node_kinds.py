"""The node-kind registry: what the compiler and the runner take from it, and the node-runner payload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from nexod.domain.compiler import compile_flow
from nexod.domain.errors import FlowInvalid, InvalidInput
from nexod.domain.flow import RetryPolicy
from nexod.domain.nodes import (
    REGISTRY,
    AslShape,
    HttpConfig,
    LlmConfig,
    NodeConfig,
    NodeKind,
    Runtime,
    TransformConfig,
    node_type_catalog,
)
from nexod.domain.payload import NodeRunnerPayload
from nexod.domain.validation import validate
from nexod.runtime.errors import NodeFailedError
from nexod.runtime.executors import CREDENTIALS, EXECUTORS, PARKERS, STARTERS, NodeContext, Toolbox
from nexod.runtime.runner import NodeRunner
from tests.support.noop_kind import NoopConfig, noop_kind

from .flows import demo_flow, edge, fan_out, node

BUILT_IN = ["input", "output", "transform", "condition", "http", "llm", "wait", "rag_search", "rag_upsert", "approval"]
BUILT_IN += ["agent", "crew", "webhook_response"]


def _tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", ()):
            yield from _tasks(branch["States"])


@pytest.fixture
def temporary_kind() -> Iterator[list[str]]:
    """Kinds a test registers, forgotten afterwards so no other test sees them."""
    names: list[str] = []
    yield names
    for name in names:
        REGISTRY.unregister(name)


def _flow_with(kind: str, **config: Any) -> dict[str, Any]:
    return {
        "nodes": [node("start", "input"), node("k", kind, **config), node("end", "output")],
        "edges": [edge("start", "k"), edge("k", "end")],
    }


def test_every_built_in_kind_has_one_executor_and_its_palette_metadata() -> None:
    # Given the registry as the package leaves it
    # When it is listed
    kinds = REGISTRY.all()
    # Then the built-in kinds are there in palette order, each with an executor (a parker for a kind that
    # waits), a category and an icon
    assert [k.name for k in kinds] == BUILT_IN
    assert set(EXECUTORS) | set(PARKERS) == set(BUILT_IN) and not set(EXECUTORS) & set(PARKERS)
    assert {k.name for k in kinds if k.shape is AslShape.CALLBACK} == set(PARKERS) == {"approval", "agent", "crew"}
    # (agents work in a runner the `fargate` launcher starts once the node is parked)
    assert {k.name for k in kinds if k.runtime is Runtime.FARGATE} == set(STARTERS) == {"agent", "crew"}
    assert all(k.category and k.icon and k.description for k in kinds)
    # (the knowledge-base kinds embed text: they run where the model client is)
    assert {k.name for k in kinds if k.runtime is Runtime.LLM} == {"llm", "rag_search", "rag_upsert"}
    assert {k.name for k in kinds if k.shape is AslShape.WAIT} == {"wait"}
    # ...only the kinds that reach the network get the workspace's allowed hosts, and only http's config
    # carries credentials the runner must redact
    assert {k.name for k in kinds if k.calls_out} == {"http", "llm", "rag_search", "rag_upsert"}
    assert set(CREDENTIALS) == {"http"}


def test_the_catalog_is_the_registry() -> None:
    # Given the registry
    # When the catalog is built
    catalog = node_type_catalog()
    # Then it lists each kind once with its category, icon, templated fields and schemas
    assert [c["type"] for c in catalog] == BUILT_IN
    http = next(c for c in catalog if c["type"] == "http")
    assert http["category"] == "Connectors" and http["icon"] == "http"
    assert http["templated_fields"] == ["url", "headers", "query", "body"]
    assert "status" in http["output_schema"]["properties"]
    assert "output_schema" not in next(c for c in catalog if c["type"] == "transform")


def test_a_type_is_registered_once() -> None:
    # Given the built-in `http` kind
    # When another kind claims its name
    # Then the registry refuses it
    with pytest.raises(ValueError, match="'http' is already registered"):
        REGISTRY.register(NodeKind(name="http", config=NoopConfig, category="x", icon="x"))


def test_retry_and_timeout_defaults_come_from_the_kind(temporary_kind: list[str]) -> None:
    # Given a kind whose defaults differ from every built-in one
    policy = RetryPolicy(max_attempts=7, interval_seconds=3)
    REGISTRY.register(
        NodeKind(
            name="slow",
            config=NoopConfig,
            category="Testing",
            icon="slow",
            default_retry=policy,
            default_timeout_seconds=123,
        )
    )
    temporary_kind.append("slow")
    # When a flow using it is compiled
    task = compile_flow(validate(_flow_with("slow"))).asl["States"]["k"]
    # Then its Task carries the kind's timeout and retry policy
    assert task["TimeoutSeconds"] == 123
    assert {
        "ErrorEquals": ["NodeRetryableError", "States.Timeout"],
        "IntervalSeconds": 3,
        "MaxAttempts": 7,
        "BackoffRate": 2.0,
    } in task["Retry"]


def test_a_node_s_own_timeout_beats_its_kind_s() -> None:
    # Given an http node (the kind's Task timeout is 900 s) that sets its own
    doc = _flow_with("http", url="https://example.com")
    doc["nodes"][1]["timeout_seconds"] = 42
    # When it is compiled
    task = compile_flow(validate(doc)).asl["States"]["k"]
    # Then the node's value wins
    assert task["TimeoutSeconds"] == 42


@pytest.mark.parametrize("shape", [AslShape.MAP, AslShape.SUBFLOW])
def test_shapes_without_an_emitter_are_refused_by_name(shape: AslShape, temporary_kind: list[str]) -> None:
    # Given a kind whose ASL shape the compiler does not emit yet
    REGISTRY.register(NodeKind(name="later", config=NoopConfig, category="Testing", icon="later", shape=shape))
    temporary_kind.append("later")
    flow = validate(_flow_with("later"))
    # When a flow using it is compiled
    # Then the compiler refuses it, naming the node, its kind and the shape
    with pytest.raises(FlowInvalid, match=f"node 'k' is a 'later' node, whose ASL shape '{shape.value}'"):
        compile_flow(flow)


def test_a_callback_kind_compiles_to_a_wait_for_task_token_task(temporary_kind: list[str]) -> None:
    # Given a callback kind with a heartbeat and a retry policy, whose output a condition reads
    REGISTRY.register(
        NodeKind(
            name="later",
            config=NoopConfig,
            category="Testing",
            icon="later",
            shape=AslShape.CALLBACK,
            default_timeout_seconds=86_400,
            heartbeat_seconds=60,
            default_retry=RetryPolicy(max_attempts=2),
        )
    )
    temporary_kind.append("later")
    doc = {
        "nodes": [
            {"id": "start", "type": "input", "config": {}},
            {"id": "k", "type": "later", "config": {}},
            {"id": "yes", "type": "output", "config": {"value": "y"}},
        ],
        "edges": [{"from": "start", "to": "k"}, {"from": "k", "to": "yes", "condition": "output.ok"}],
    }
    # When a flow using it is compiled
    compiled = compile_flow(validate(doc))
    task = compiled.asl["States"]["k"]
    # Then its Task invokes the kind's runner with the task token and waits for it
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["FunctionName"] == "${NodeRunnerArn}"
    assert task["Parameters"]["Payload"] == {
        "run.$": "$.run",
        "exec.$": "$$.Execution.Id",
        "node": "k",
        "task_token.$": "$$.Task.Token",
    }
    assert task["TimeoutSeconds"] == 86_400 and task["HeartbeatSeconds"] == 60
    # And the completion's `{"take"}` is what the gate reads (the output itself stays in Postgres)
    assert task["ResultSelector"] == {"take.$": "$.take"} and task["ResultPath"] == "$.s.k"
    # And a missed heartbeat falls under the retry policy like a timeout; a callback never records the run's end
    retry = next(r for r in task["Retry"] if "NodeRetryableError" in r["ErrorEquals"])
    assert {"States.Timeout", "States.HeartbeatTimeout"} <= set(retry["ErrorEquals"]) and retry["MaxAttempts"] == 2
    assert compiled.finisher is None and "finish-run" in compiled.asl["States"]
    assert NodeRunnerPayload.parse_event({"run": {"id": "r", "ws": "w"}, "node": "k", "task_token": "t"}).task_token


def test_only_callback_kinds_have_a_heartbeat() -> None:
    with pytest.raises(ValueError, match="only `callback` kinds have heartbeat_seconds"):
        NodeKind(name="later", config=NoopConfig, category="Testing", icon="later", heartbeat_seconds=5)


@pytest.mark.parametrize("runtime", [Runtime.SANDBOX])
def test_runtimes_without_a_function_are_refused_by_name(runtime: Runtime, temporary_kind: list[str]) -> None:
    # Given a kind whose runtime no function of the deployment runs yet
    REGISTRY.register(NodeKind(name="later", config=NoopConfig, category="Testing", icon="later", runtime=runtime))
    temporary_kind.append("later")
    flow = validate(_flow_with("later"))
    # When a flow using it is compiled
    # Then the compiler refuses it, naming the node, its kind and the runtime
    with pytest.raises(FlowInvalid, match=f"node 'k' is a 'later' node, whose runtime '{runtime.value}'") as refused:
        compile_flow(flow)
    assert refused.value.details[0]["code"] == "runtime_not_compiled"


def test_a_kind_registered_in_a_test_compiles_to_an_invoke_task() -> None:
    # Given `noop`, registered only here
    with noop_kind():
        # When a flow using it is validated and compiled
        asl = compile_flow(validate(_flow_with("noop", note="{{ input.x }}"))).asl
    # Then it is one lambda:invoke Task on the core runner (the runtime a kind gets unless it names one)
    task = asl["States"]["k"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"]["FunctionName"] == "${NodeRunnerArn}"
    assert task["Parameters"]["Payload"]["node"] == "k"
    assert "noop" not in REGISTRY


# -- the node-runner payload ---------------------------------------------------------------------------
def _resolve(payload: dict[str, Any]) -> dict[str, Any]:
    """What Step Functions sends: each `key.$` JSONPath replaced by a value of the right shape."""
    values = {
        "$.run": {"id": "r-1", "ws": "w-1"},
        "$$.Execution.Id": "arn:aws:states:us-east-1:1:execution:m:e",
        "$.error": {"Error": "X", "Cause": "y"},
    }
    return {k.removesuffix(".$"): values[v] if k.endswith(".$") else v for k, v in payload.items()}


@pytest.mark.parametrize("doc", [demo_flow(), fan_out(5)], ids=["demo", "fan_out"])
def test_every_payload_the_compiler_emits_parses(doc: dict[str, Any]) -> None:
    # Given a compiled flow
    asl = compile_flow(validate(doc)).asl
    # When each Task's payload is resolved as Step Functions would and parsed as the runner does
    parsed = [NodeRunnerPayload.parse_event(_resolve(t["Parameters"]["Payload"])) for _, t in _tasks(asl["States"])]
    # Then every one parses, is bound to its execution, and the ops are the nodes plus finish/fail bookkeeping
    assert parsed and all(p.execution and p.run.ws == "w-1" for p in parsed)
    assert {p.op for p in parsed} <= {"node", "finish", "fail"}
    assert all(p.node for p in parsed if p.op == "node")


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"node": "n"}, "run: Field required"),
        ({"run": {"id": "r", "ws": ""}, "node": "n"}, "run.ws"),
        ({"run": {"id": "r", "ws": "w"}}, "op 'node' names no node"),
        ({"run": {"id": "r", "ws": "w"}, "node": "n", "nodes": "typo"}, "nodes: Extra inputs are not permitted"),
        ({"run": {"id": "r", "ws": "w"}, "op": "retry"}, "op: Input should be"),
    ],
)
def test_a_malformed_payload_is_refused_with_where(event: dict[str, Any], problem: str) -> None:
    # Given an event the compiler never emits
    # When the runner's contract parses it
    # Then it is refused, naming the field
    with pytest.raises(InvalidInput, match=re.escape(problem)):
        NodeRunnerPayload.parse_event(event)


def test_a_payload_keeps_its_callback_token_and_iteration() -> None:
    # Given a payload as a callback-shaped Task inside a Map would send it
    event = {"run": {"id": "r", "ws": "w"}, "exec": "e", "node": "n", "iteration": 3, "task_token": "tok"}
    # When it is parsed
    payload = NodeRunnerPayload.parse_event(event)
    # Then the runner sees the iteration and the token
    assert (payload.iteration, payload.task_token, payload.execution) == (3, "tok", "e")


def _never() -> Any:
    raise AssertionError("no port may be used by a node its runner refuses")


def _context() -> NodeContext:
    return NodeContext(run_id="r", workspace_id="w", node_id="n", run_input={"x": 2}, upstream={}, predecessors=[])


@pytest.mark.parametrize(
    ("kind", "config", "runner"),
    [
        ("llm", LlmConfig(prompt="hi"), Runtime.CORE),
        ("transform", TransformConfig(expression="input.x"), Runtime.LLM),
        ("http", HttpConfig(url="https://example.com"), Runtime.LLM),
    ],
)
def test_a_runner_fails_a_node_of_another_runtime_saying_what_to_do(
    kind: str, config: NodeConfig, runner: Runtime
) -> None:
    # Given the toolbox of one runner runtime, and a node whose kind runs on the other one
    tools = Toolbox(runtime=runner, outbound=_never, llm=_never if runner is Runtime.LLM else None)
    wanted = REGISTRY[kind].runtime.value
    # When the runner executes it
    # Then the node fails (no retry would help) before any port is used, naming both runtimes and the fix
    with pytest.raises(NodeFailedError) as refused:
        EXECUTORS[kind](config, _context(), tools)
    assert refused.value.message == (
        f"node 'n' is a '{kind}' node, which runs on the '{wanted}' runtime, but it reached the"
        f" '{runner.value}' runner: publish the flow again so that its Task invokes the '{wanted}' runner"
    )


def test_a_runner_runs_the_nodes_of_its_own_runtime() -> None:
    # Given the core runner's toolbox
    tools = Toolbox(runtime=Runtime.CORE, outbound=_never)
    # When it executes a transform node / Then the node runs
    assert EXECUTORS["transform"](TransformConfig(expression="input.x"), _context(), tools).output == 2


@pytest.mark.parametrize(("runtime", "llm"), [(Runtime.CORE, _never), (Runtime.LLM, None)])
def test_a_toolbox_has_a_model_client_exactly_when_it_is_the_llm_runtime_s(runtime: Runtime, llm: Any) -> None:
    # Given a composition root mixing up a runtime and its model client
    # When it builds the toolbox / Then it is refused
    with pytest.raises(ValueError, match="exactly when its runtime is 'llm'"):
        Toolbox(runtime=runtime, outbound=_never, llm=llm)


def test_the_runner_refuses_a_malformed_payload_as_a_node_failure() -> None:
    # Given a runner (the payload is refused before the store or the tools are touched)
    runner = NodeRunner(store=None, tools=None)  # type: ignore[arg-type]
    # When it is invoked with an event that names no run
    # Then it fails with the error name Step Functions' Catch sees for a failed node, naming the field
    with pytest.raises(NodeFailedError, match="node runner event: run: Field required"):
        runner.handle({"node": "n"})
