"""Property tests: random flows validate, compile, and their ASL is structurally what the flow says.

The flows mix every shape the compiler treats differently: plain and expression-conditioned edges,
condition nodes with true/false arms, `on_error: continue`, wait nodes and retry policies. The ASL is
checked by walking its States (and every Parallel's Branches, every Map's Iterator/ItemProcessor) as
Step Functions would, never by searching its text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nexod.domain.compiler import (
    FAILED,
    FINISH,
    RETRYABLE_ERROR,
    RUN_FAILED,
    CompiledFlow,
    compile_flow,
    gating,
    sequence_exclusive,
)
from nexod.domain.graph import Par, Seq, Step, plan, plan_nodes
from nexod.domain.validation import ValidFlow, validate

KINDS = ["transform", "transform", "transform", "condition", "condition", "wait"]


@st.composite
def random_flows(
    draw: st.DrawFn,
    max_nodes: int = 14,
    features: bool = True,
    wait_seconds: st.SearchStrategy[int] | None = None,
) -> dict[str, Any]:
    """A connected DAG below one input node; edges only go from lower to higher index.

    With `features`, nodes are also condition nodes (whose out-edges carry "true"/"false" arms) and wait
    nodes, and any node may carry `on_error: continue`, a retry policy and a timeout.
    """
    n = draw(st.integers(min_value=1, max_value=max_nodes))
    ids = ["start"] + [f"n{i}" for i in range(n)]
    kinds = {"start": "input"} | {i: draw(st.sampled_from(KINDS)) if features else "transform" for i in ids[1:]}
    edges: set[tuple[str, str]] = set()
    for j in range(1, len(ids)):
        parents = draw(st.sets(st.integers(min_value=0, max_value=j - 1), min_size=1, max_size=min(3, j)))
        edges |= {(ids[p], ids[j]) for p in parents}
    extra = draw(st.lists(st.tuples(st.integers(0, len(ids) - 1), st.integers(0, len(ids) - 1)), max_size=6))
    edges |= {(ids[a], ids[b]) for a, b in extra if a < b}
    expression_edges = draw(st.sets(st.sampled_from(sorted(edges)), max_size=3))
    doc_edges = []
    for a, b in sorted(edges):
        condition: str | None = None
        if kinds[a] == "condition":
            condition = draw(st.sampled_from(["true", "false", "true", "false", None]))
        elif (a, b) in expression_edges:
            condition = "input.go"
        doc_edges.append({"from": a, "to": b, **({"condition": condition} if condition else {})})
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "input", "config": {}}]
    for i in ids[1:]:
        node: dict[str, Any] = {"id": i, "type": kinds[i]}
        if kinds[i] == "wait":
            seconds = wait_seconds if wait_seconds is not None else st.sampled_from([0, 1, 30, 3600])
            node["config"] = {"seconds": draw(seconds)}
        else:
            node["config"] = {"expression": "input.go" if kinds[i] == "condition" else "input"}
        if features:
            if draw(st.integers(0, 3)) == 0:
                node["on_error"] = "continue"
            if draw(st.integers(0, 2)) == 0:
                node["retry"] = {
                    "max_attempts": draw(st.integers(0, 3)),
                    "interval_seconds": 1,
                    "backoff_rate": draw(st.sampled_from([1.0, 2.0])),
                }
            if draw(st.integers(0, 4)) == 0:
                node["timeout_seconds"] = draw(st.integers(1, 600))
        nodes.append(node)
    return {"nodes": nodes, "edges": doc_edges}


def random_dags(max_nodes: int = 14) -> st.SearchStrategy[dict[str, Any]]:
    """Plain DAGs of transform nodes (conditions only as expressions on edges)."""
    return random_flows(max_nodes=max_nodes, features=False)


# -- walking the ASL --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    name: str
    body: dict[str, Any]
    scope: tuple[str, ...]  # the Parallel/Map states (and branch index) that contain it; () at the top


def scopes(states: dict[str, Any], scope: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every `States` object of the machine with where it sits: the top, each Branch, each Map body."""
    yield scope, states
    for name, body in states.items():
        for i, branch in enumerate(body.get("Branches", ())):
            yield from scopes(branch["States"], (*scope, f"{name}[{i}]"))
        for key in ("Iterator", "ItemProcessor"):
            if key in body:
                yield from scopes(body[key]["States"], (*scope, f"{name}.{key}"))


def all_states(asl: dict[str, Any]) -> list[State]:
    return [State(n, b, scope) for scope, states in scopes(asl["States"]) for n, b in states.items()]


def start_of(asl: dict[str, Any], scope: tuple[str, ...]) -> str:
    if not scope:
        return str(asl["StartAt"])
    *outer, last = scope
    name, _, rest = last.partition("[")
    container = _scope_states(asl, tuple(outer))[name.split(".")[0]]
    if rest:
        return str(container["Branches"][int(rest.rstrip("]"))]["StartAt"])
    return str(container[name.split(".")[1]]["StartAt"])


def _scope_states(asl: dict[str, Any], scope: tuple[str, ...]) -> dict[str, Any]:
    return dict(next(states for s, states in scopes(asl["States"]) if s == scope))


def transitions(body: dict[str, Any]) -> list[str]:
    """Every state name this state can move to within its own scope."""
    out = [body["Next"]] if "Next" in body else []
    out += [c["Next"] for c in body.get("Choices", ())]
    out += [body["Default"]] if "Default" in body else []
    out += [c["Next"] for c in body.get("Catch", ())]
    return out


def tasks_by_node(asl: dict[str, Any]) -> dict[str, list[State]]:
    found: dict[str, list[State]] = {}
    for state in all_states(asl):
        payload = state.body.get("Parameters", {}).get("Payload", {})
        if state.body["Type"] == "Task" and "node" in payload and payload.get("op", "node") == "node":
            found.setdefault(payload["node"], []).append(state)
    return found


def check_structure(flow: ValidFlow, compiled: CompiledFlow) -> None:
    """The compiled machine, walked state by state, is well formed and is the flow it came from."""
    asl = compiled.asl
    states = all_states(asl)
    names = [s.name for s in states]
    by_name = {s.name: s for s in states}

    # State names are unique in the whole machine (Step Functions requires it across branches too).
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)

    # Every transition stays inside its own scope, and every state of a scope is reachable from its start.
    for scope, scoped in scopes(asl["States"]):
        for name, body in scoped.items():
            for target in transitions(body):
                assert target in scoped, f"{name} in {scope or 'top'} moves to {target}, outside its scope"
            assert body.get("End") or transitions(body) or body["Type"] in ("Fail", "Succeed"), name
        reached, todo = set(), [start_of(asl, scope)]
        while todo:
            name = todo.pop()
            if name not in reached:
                reached.add(name)
                todo.extend(transitions(scoped[name]))
        assert reached == set(scoped), f"unreachable in {scope or 'top'}: {sorted(set(scoped) - reached)}"

    # Each node but the input node is invoked by exactly one Task; the input node has no state at all.
    tasks = tasks_by_node(asl)
    assert set(tasks) == set(flow.dag.order) - {compiled.inline_entry}
    assert all(len(found) == 1 for found in tasks.values()), {n: [s.name for s in f] for n, f in tasks.items()}
    assert compiled.inline_entry == "start" and "start" not in by_name
    for node_id, (task,) in tasks.items():
        node = flow.node(node_id)
        if node.type == "wait":
            # A wait node is a Task answering when it ends, a native Wait state (free) until then, then its
            # bookkeeping Task, in the same scope.
            until = by_name[node_id]
            assert (
                until.body["Parameters"]["Payload"] | {"op": "until", "node": node_id}
                == until.body["Parameters"]["Payload"]
            )
            wait = by_name[until.body["Next"]]
            assert wait.body["Type"] == "Wait" and wait.body["TimestampPath"] == "$.until.until"
            assert wait.body["Next"] == task.name == f"done-{node_id}" and wait.scope == task.scope == until.scope
        else:
            assert task.name == node_id

        # Retry: the node's own policy on its retryable errors, next to Lambda's transient ones.
        node_rules = [r for r in task.body["Retry"] if RETRYABLE_ERROR in r["ErrorEquals"]]
        policy = node.retry
        if policy is not None and policy.max_attempts > 0:
            assert node_rules == [
                {
                    "ErrorEquals": [RETRYABLE_ERROR, "States.Timeout"],
                    "IntervalSeconds": policy.interval_seconds,
                    "MaxAttempts": policy.max_attempts,
                    "BackoffRate": policy.backoff_rate,
                }
            ]
        elif policy is not None:
            assert node_rules == []
        if node.timeout_seconds is not None:
            assert task.body["TimeoutSeconds"] == node.timeout_seconds

        # on_error: continue catches everything into a Pass that records the node as taking no edge.
        if node.on_error == "continue":
            (catch,) = task.body["Catch"]
            assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == f"failed-{node_id}"
            failed = by_name[f"failed-{node_id}"]
            assert failed.scope == task.scope and failed.body["Type"] == "Pass"
            assert failed.body["Result"] == {"take": {e.target: False for e in flow.edges_out[node_id]}}
            assert failed.body.get("Next") == task.body.get("Next")
        elif task.scope:
            assert "Catch" not in task.body  # inside a branch a failure fails the Parallel, caught at the top
        else:
            assert task.body["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RUN_FAILED}]

        # A node whose outcome a gate reads writes its decisions into the state, and nothing else does.
        if node_id in compiled.carried:
            assert task.body["ResultSelector"] == {"take.$": "$.Payload.take"}
            assert task.body["ResultPath"] == f"$.s.{node_id}"
        else:
            assert task.body["ResultPath"] is None

    # A node that may be skipped is guarded by a Choice that reads exactly its incoming edges' decisions.
    gated = compiled.gated
    for node_id in flow.dag.order:
        gate = by_name.get(f"gate-{node_id}")
        assert (gate is not None) == (node_id in gated), node_id
        if gate is None:
            continue
        (choice,) = gate.body["Choices"]
        rules = choice.get("Or", [choice])
        assert {r["Variable"] for r in rules} == {f"$.s.{e.source}.take.{node_id}" for e in flow.edges_in[node_id]}
        assert all(r["BooleanEquals"] is True for r in rules) and choice["Next"] == node_id
        assert by_name[node_id].scope == gate.scope

    # Every gate reads decisions that some earlier state wrote: a carried node, or the input node's seed.
    for state in states:
        for choice in state.body.get("Choices", ()):
            for rule in choice.get("Or", [choice]):
                source = rule["Variable"].split(".")[2]
                assert source in compiled.carried, rule

    # A node reached only through conditional edges (true/false arms, expressions) may be skipped: gated.
    for node_id in flow.dag.order:
        incoming = flow.edges_in[node_id]
        if incoming and all(e.condition is not None for e in incoming):
            assert node_id in gated, node_id

    # The run ends through exactly one recorder of its end, and failures through the run-failed path.
    finishers = [s for s in states if s.body.get("Parameters", {}).get("Payload", {}).get("finish") is True]
    assert (FINISH in by_name) != bool(finishers) and len(finishers) <= 1
    catchers = [s for s in states if any(c["Next"] == RUN_FAILED for c in s.body.get("Catch", ()))]
    assert all(not s.scope for s in catchers)
    if catchers:
        assert by_name[RUN_FAILED].body["Next"] == FAILED and by_name[FAILED].body["Type"] == "Fail"
    else:  # every top-level node continues on error: nothing can fail the run
        assert all(flow.node(n).on_error == "continue" for n in tasks if not by_name[n].scope)


# -- properties -------------------------------------------------------------------------------------------


def _order_ok(p: object, done: set[str], preds: dict[str, tuple[str, ...]]) -> set[str]:
    """Walk the plan as Step Functions would: a node's predecessors must be done before it starts."""
    if isinstance(p, Step):
        missing = set(preds[p.node]) - done
        assert not missing, f"{p.node} scheduled before {missing}"
        return done | {p.node}
    if isinstance(p, Seq):
        for item in p.items:
            done = _order_ok(item, done, preds)
        return done
    assert isinstance(p, Par)
    finished = set(done)
    for branch in p.branches:  # branches see only what was done before the Parallel started
        finished |= _order_ok(branch, done, preds)
    return finished


@settings(max_examples=300, deadline=None)
@given(random_flows())
def test_random_flows_compile_to_well_formed_asl_that_is_the_flow(doc: dict):
    # Given a random valid flow with conditions, true/false arms, on_error, waits and retries
    flow = validate(doc)
    # When it is planned and compiled
    p = sequence_exclusive(flow, gating(flow)[0], plan(flow.dag))
    compiled = compile_flow(flow)
    # Then every node appears exactly once in the plan, after all of its predecessors
    assert sorted(plan_nodes(p)) == sorted(flow.dag.order)
    _order_ok(p, set(), flow.dag.pred)
    # And the machine, walked state by state, is well formed and says what the flow says
    check_structure(flow, compiled)


@settings(max_examples=100, deadline=None)
@given(random_dags())
def test_plain_dags_need_no_gates(doc: dict):
    # Given a DAG without conditions of any kind or on_error
    doc["edges"] = [{k: v for k, v in e.items() if k != "condition"} for e in doc["edges"]]
    compiled = compile_flow(validate(doc))
    # Then nothing is gated and no node carries decisions in the state
    assert compiled.gated == set() and compiled.carried == set()
    assert not any(s.body["Type"] == "Choice" for s in all_states(compiled.asl))


@settings(max_examples=200, deadline=None)
@given(random_flows())
def test_validation_is_deterministic_and_compilation_stable(doc: dict):
    assert compile_flow(validate(doc)).asl == compile_flow(validate(json.loads(json.dumps(doc)))).asl
