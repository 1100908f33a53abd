"""Property test: compiled ASL, executed by moto's interpreter, runs random DAGs correctly.

For random DAGs with random conditional edges, a recording node runner decides each conditional edge
by a hash. Then: every node starts only after all of its executed predecessors finished, exactly the
nodes that dead-path elimination predicts are executed, and none twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid

import boto3
from hypothesis import HealthCheck, given, settings
from moto import mock_aws

from nexod.domain.compiler import compile_flow, substitute
from nexod.domain.validation import validate
from nexod.local import moto_glue
from tests.unit.test_properties import random_dags

ARN = "arn:aws:lambda:us-east-1:123456789012:function:asl-semantics"


def decide(run: str, source: str, target: str) -> bool:
    return hashlib.sha256(f"{run}:{source}:{target}".encode()).digest()[0] % 2 == 0


def expected_executed(flow, run: str) -> set[str]:
    executed: set[str] = set()
    for n in flow.dag.topo_order():
        incoming = flow.edges_in[n]
        if not incoming or any(
            e.source in executed and (e.condition is None or decide(run, e.source, n)) for e in incoming
        ):
            executed.add(n)
    return executed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dags())
def test_compiled_asl_executes_in_topological_order_with_dead_path_elimination(doc: dict):
    flow = validate(doc)
    run = uuid.uuid4().hex
    lock = threading.Lock()
    spans: dict[str, list[float]] = {}

    def handler(event: dict) -> dict:
        if event.get("op"):
            return {}
        node = event["node"]
        assert node != compiled.inline_entry, "the input node has no Task"
        with lock:
            assert node not in spans, f"{node} executed twice"
            spans[node] = [time.monotonic(), 0.0]
        time.sleep(0.002)
        take = {e.target: e.condition is None or decide(run, node, e.target) for e in flow.edges_out[node]}
        with lock:
            spans[node][1] = time.monotonic()
        return {"take": take}

    compiled = compile_flow(flow)
    asl = substitute(compiled.asl, ARN)
    seed = {}
    if compiled.inline_entry:  # what the API does when it creates the run
        entry = compiled.inline_entry
        spans[entry] = [time.monotonic(), time.monotonic()]
        seed[entry] = {
            "take": {e.target: e.condition is None or decide(run, entry, e.target) for e in flow.edges_out[entry]}
        }
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
    assert status == "SUCCEEDED"
    assert set(spans) == expected_executed(flow, run)
    for node, (start, _) in spans.items():
        for pred in flow.dag.pred[node]:
            if pred in spans:
                assert spans[pred][1] <= start, f"{node} started before its input {pred} finished"
