"""Property test: compiled ASL, executed by moto's interpreter, runs random flows correctly.

Random flows mix condition nodes with true/false arms, expression conditions, `on_error: continue`,
wait nodes (0 s: moto really sleeps) and retry policies. A recording node runner decides every outcome by
a hash of (run, node): which edges a node takes, whether a condition node is true, whether a node that
continues on error fails, and whether one retrying node fails once with a retryable error first. Then:
exactly the nodes that dead-path elimination predicts run, none twice (a retried node twice, by policy),
each only after all of its executed predecessors finished, and the run succeeds.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from nexod.adapters import moto_glue
from nexod.domain.compiler import RETRYABLE_ERROR, compile_flow, substitute
from nexod.domain.nodes import Runtime
from nexod.domain.validation import ValidFlow, validate
from tests.unit.test_properties import check_structure, random_flows

ARN = "arn:aws:lambda:us-east-1:123456789012:function:asl-semantics"


class NodeError(Exception):
    """A node failure that no Retry matches (so `on_error: continue` catches it)."""


NodeRetryableError = type(RETRYABLE_ERROR, (Exception,), {})  # the error name the node's Retry matches


def decide(run: str, *key: str) -> bool:
    return hashlib.sha256(":".join((run, *key)).encode()).digest()[0] % 2 == 0


class Outcomes:
    """What the node runner answers for one run, decided by hashes so the test can predict it."""

    def __init__(self, flow: ValidFlow, run: str) -> None:
        self.flow, self.run = flow, run
        retrying = [n for n in flow.dag.topo_order() if (p := flow.node(n).retry) and p.max_attempts > 0]
        # One retry per run at most: moto really sleeps IntervalSeconds (>= 1 s) between attempts.
        self.retried = retrying[0] if retrying and decide(run, retrying[0], "#retry") else None

    def fails(self, node: str) -> bool:
        return self.flow.node(node).on_error == "continue" and decide(self.run, node, "#fail")

    def takes(self, node: str) -> dict[str, bool]:
        value = decide(self.run, node, "#value")  # what a condition node evaluated to
        take = {}
        for e in self.flow.edges_out[node]:
            cond = (e.condition or "").strip()
            if not cond:
                take[e.target] = True
            elif cond in ("true", "false"):
                take[e.target] = cond == ("true" if value else "false")
            else:
                take[e.target] = decide(self.run, node, e.target)
        return take

    def expected_executed(self) -> tuple[set[str], set[str]]:
        """(nodes that run, nodes that run and succeed)."""
        executed: set[str] = set()
        succeeded: set[str] = set()
        for n in self.flow.dag.topo_order():
            incoming = self.flow.edges_in[n]
            if not incoming or any(e.source in succeeded and self.takes(e.source)[n] for e in incoming):
                executed.add(n)
                if not self.fails(n):
                    succeeded.add(n)
        return executed, succeeded


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_flows(max_nodes=10, wait_seconds=st.just(0)))
def test_compiled_asl_executes_random_flows_with_dead_path_elimination(doc: dict):
    # Given a random flow, compiled, and a node runner whose answers are predictable
    flow = validate(doc)
    run = uuid.uuid4().hex
    compiled = compile_flow(flow)
    check_structure(flow, compiled)
    outcomes = Outcomes(flow, run)
    lock = threading.Lock()
    spans: dict[str, list[float]] = {}
    attempts: dict[str, int] = {}
    ops: list[str] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        if event.get("op") == "until":  # a wait node's end: already past (its Wait does not wait)
            assert flow.node(event["node"]).type == "wait"
            return {"until": "1970-01-01T00:00:00Z"}
        if event.get("op"):
            ops.append(event["op"])
            return {}
        node = event["node"]
        assert node != compiled.inline_entry, "the input node has no Task"
        with lock:
            attempts[node] = attempts.get(node, 0) + 1
            spans.setdefault(node, [time.monotonic(), 0.0])
        time.sleep(0.002)
        with lock:
            spans[node][1] = time.monotonic()
        if node == outcomes.retried and attempts[node] == 1:
            raise NodeRetryableError(f"{node}: transient")
        if outcomes.fails(node):
            raise NodeError(f"{node}: failed for good")
        return {"take": outcomes.takes(node)}

    asl = substitute(compiled.asl, {Runtime.CORE: ARN, Runtime.LLM: ARN})  # one handler answers every Task
    seed = {}
    if compiled.inline_entry:  # what the API does when it creates the run
        entry = compiled.inline_entry
        spans[entry] = [time.monotonic(), time.monotonic()]
        seed[entry] = {"take": outcomes.takes(entry)}

    # When moto's interpreter executes it
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        moto_glue.register(ARN, handler)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        sm = sfn.create_state_machine(
            name=f"p{run[:12]}", definition=json.dumps(asl), roleArn="arn:aws:iam::123456789012:role/r"
        )
        arn = sfn.start_execution(
            stateMachineArn=sm["stateMachineArn"],
            name=run,
            input=json.dumps({"run": {"id": run, "ws": "w"}, "s": seed}),
        )["executionArn"]
        deadline = time.monotonic() + 60
        while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.01)

    # Then the run succeeds, recording its end once and never a failure
    assert status == "SUCCEEDED"
    assert ops == ([] if compiled.finisher else ["finish"])
    # And exactly the predicted nodes ran: once each, a retried node once more
    executed, _ = outcomes.expected_executed()
    assert set(spans) == executed
    assert attempts == {n: 2 if n == outcomes.retried else 1 for n in executed if n != compiled.inline_entry}
    # And each started only after every executed predecessor had finished (a failed one included)
    for node, (start, _) in spans.items():
        for pred in flow.dag.pred[node]:
            if pred in spans:
                assert spans[pred][1] <= start, f"{node} started before its input {pred} finished"
