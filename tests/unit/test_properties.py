"""Property tests: random DAGs validate, compile, and their plan honours every edge."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from nexod.domain.compiler import compile_flow, gating, sequence_exclusive
from nexod.domain.graph import Par, Seq, Step, plan, plan_nodes
from nexod.domain.validation import validate


@st.composite
def random_dags(draw: st.DrawFn) -> dict:
    """A connected DAG below one input node; edges only go from lower to higher index."""
    n = draw(st.integers(min_value=1, max_value=14))
    ids = ["start"] + [f"n{i}" for i in range(n)]
    edges: set[tuple[str, str]] = set()
    for j in range(1, len(ids)):
        parents = draw(st.sets(st.integers(min_value=0, max_value=j - 1), min_size=1, max_size=min(3, j)))
        edges |= {(ids[p], ids[j]) for p in parents}
    extra = draw(st.lists(st.tuples(st.integers(0, len(ids) - 1), st.integers(0, len(ids) - 1)), max_size=6))
    edges |= {(ids[a], ids[b]) for a, b in extra if a < b}
    conditional = draw(st.sets(st.sampled_from(sorted(edges)), max_size=3)) if edges else set()
    nodes = [{"id": "start", "type": "input", "config": {}}]
    nodes += [{"id": i, "type": "transform", "config": {"expression": "input"}} for i in ids[1:]]
    return {
        "nodes": nodes,
        "edges": [
            {"from": a, "to": b, **({"condition": "input.go"} if (a, b) in conditional else {})}
            for a, b in sorted(edges)
        ],
    }


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
@given(random_dags())
def test_random_dags_compile_and_respect_topological_order(doc: dict):
    # Given a random valid DAG
    flow = validate(doc)
    # When it is planned and compiled
    p = sequence_exclusive(flow, gating(flow)[0], plan(flow.dag))
    compiled = compile_flow(flow)
    asl = compiled.asl
    # Then every node appears exactly once, after all of its predecessors
    assert sorted(plan_nodes(p)) == sorted(flow.dag.order)
    _order_ok(p, set(), flow.dag.pred)
    # And every node id but the input node (recorded with the run) is a state of the machine
    text = json.dumps(asl)
    assert compiled.inline_entry == "start"
    assert all(f'"{n}"' in text for n in flow.dag.order if n != "start")


@settings(max_examples=200, deadline=None)
@given(random_dags())
def test_validation_is_deterministic_and_compilation_stable(doc: dict):
    assert compile_flow(validate(doc)).asl == compile_flow(validate(json.loads(json.dumps(doc)))).asl
