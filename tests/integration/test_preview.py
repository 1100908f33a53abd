"""The editor's live preview (issue 13): a field's template or expression rendered by the domain's own renderer
against the flow's last run, through the API, the local orchestrator and real PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api
from tests.unit.flows import edge, node

CHAIN = {
    "nodes": [
        node("start", "input"),
        node("shape", "transform", expression="{items: [{name: 'a', n: input.n}], total: input.n}"),
        node("check", "condition", expression="nodes.shape.output.total > `1`"),
        node("end", "output"),
    ],
    "edges": [edge("start", "shape"), edge("shape", "check"), edge("check", "end")],
}


def _preview(api: Api, ws: str, flow_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    return api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/preview", body)


def test_a_field_previews_against_the_last_run_with_upstream_outputs_only(alice: Api, workspace: str):
    # Given a draft that has never run
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "preview", "definition": CHAIN})
    flow_id = flow["id"]
    # When a field is previewed, Then there is nothing to render against yet
    status, empty = _preview(alice, workspace, flow_id, {"node": "check", "text": "{{ input.n }}"})
    assert (status, empty) == (200, {"value": None, "run": None, "run_number": None, "truncated": False})

    # Given a test run of the draft
    started = alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/test-runs", {"input": {"n": 3}})
    run = alice.wait_run(workspace, started["id"])
    assert run["status"] == "SUCCEEDED", run

    # When a template reads an upstream node's output through a list index
    status, shown = _preview(
        alice, workspace, flow_id, {"node": "check", "text": "first: {{ nodes.shape.output.items[0].name }}"}
    )
    # Then it is rendered from that run, as the node runner would
    assert status == 200, shown
    assert (shown["value"], shown["run"], shown["truncated"]) == ("first: a", run["id"], False)
    # And a whole-value template keeps the value's type
    assert (
        _preview(alice, workspace, flow_id, {"node": "end", "text": "{{ nodes.shape.output.total }}"})[1]["value"] == 3
    )

    # And a JSON field's document renders its templated strings (a whole-value template keeps the value)
    status, doc = _preview(
        alice,
        workspace,
        flow_id,
        {"node": "end", "text": '{"got": "{{ nodes.shape.output.items }}", "n": 1}', "json": True},
    )
    assert (status, doc["value"]) == (200, {"got": [{"name": "a", "n": 3}], "n": 1})

    # When a JMESPath and a JSONata expression are previewed, Then they see {input, nodes, run}
    status, jp = _preview(
        alice, workspace, flow_id, {"node": "check", "text": "nodes.shape.output.total > input.n", "kind": "jmespath"}
    )
    assert (status, jp["value"]) == (200, False)
    status, ja = _preview(
        alice, workspace, flow_id, {"node": "end", "text": "nodes.shape.output.total * 2", "kind": "jsonata"}
    )
    assert (status, ja["value"]) == (200, 6)

    # And an edge condition leaving `shape` sees its own output as `output`, as the runner evaluates it
    status, cond = _preview(
        alice,
        workspace,
        flow_id,
        {"node": "shape", "text": "output.total == input.n", "kind": "jmespath", "edge": True},
    )
    assert (status, cond["value"]) == (200, True)

    # When a template names a secret, Then its value is never read: a placeholder stands in
    status, secret = _preview(alice, workspace, flow_id, {"node": "end", "text": "Bearer {{ secrets.api.key }}"})
    assert (status, secret["value"]) == (200, "Bearer «secret:api.key»")

    # When a node reads a node downstream of it, Then that output is not in its data: a 422 naming `text`
    status, downstream = _preview(alice, workspace, flow_id, {"node": "shape", "text": "{{ nodes.check.output }}"})
    assert status == 422 and downstream["error"]["details"]["field"] == "text"
    assert "node 'check' has no output" in downstream["error"]["message"]
    # And a missing path names the keys that exist
    status, missing = _preview(alice, workspace, flow_id, {"node": "check", "text": "{{ nodes.shape.output.nope }}"})
    assert status == 422 and "keys: items, total" in missing["error"]["message"]
    # And a JMESPath that does not parse is a 422 naming `text`
    status, bad = _preview(alice, workspace, flow_id, {"node": "check", "text": "a[", "kind": "jmespath"})
    assert status == 422 and bad["error"]["details"]["field"] == "text"
    # And an unknown node, or a run of another flow, are 422s naming their field
    status, ghost = _preview(alice, workspace, flow_id, {"node": "ghost", "text": "{{ input }}"})
    assert status == 422 and ghost["error"]["details"]["field"] == "node"
    other = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "other", "definition": CHAIN})
    status, foreign = _preview(alice, workspace, other["id"], {"node": "end", "text": "{{ input }}", "run": run["id"]})
    assert status == 422 and foreign["error"]["details"]["field"] == "run"
    # And a JSON field nested beyond the API's depth limit, or a JSON field that is not JSON, is a 422 naming `text`
    deep = "[" * 900 + "]" * 900
    for text in (deep, '{"a": "{{ input.n }}"'):
        status, refused = _preview(alice, workspace, flow_id, {"node": "end", "text": text, "json": True})
        assert status == 422 and refused["error"]["details"]["field"] == "text", refused
    # And a value larger than 64 KiB comes back cut, saying so
    status, big = _preview(alice, workspace, flow_id, {"node": "end", "text": "[1..20000]", "kind": "jsonata"})
    assert status == 200 and (big["truncated"], isinstance(big["value"], str)) == (True, True)
    # And text over the field limit is refused before anything is read
    status, long = _preview(alice, workspace, flow_id, {"node": "end", "text": "x" * 20_001})
    assert status == 422 and long["error"]["details"][0]["field"] == "text"
