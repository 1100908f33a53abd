"""Agents through the API: a spec in markdown or JSON, drafts, immutable versions, the live pointer and
rollback, the spec read back in both forms, the node runs that used an agent, and a delete refused while
a flow's live version uses the agent. Real embedded Postgres behind the local server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from nexod.domain.agents import from_json, render
from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run

MD = {"Content-Type": "text/markdown"}
SPEC: dict[str, Any] = {
    "name": "Researcher",
    "role": "Senior researcher",
    "goal": "Find three facts about {topic}.",
    "backstory": "You check every source.\n\n## Habits\n\n- cite\n- be brief",
    "tools": [{"name": "http", "config": {"credential": "github"}}, {"name": "calculator", "config": {}}],
    "output_schema": {"type": "object", "properties": {"facts": {"type": "array"}}, "required": ["facts"]},
}
MARKDOWN = render(from_json(SPEC))


def _send_markdown(api: Api, method: str, path: str, text: str) -> tuple[int, Any]:
    return api.call(method, path, raw=text.encode(), headers=MD)


def _create(api: Api, ws: str, text: str = MARKDOWN) -> dict[str, Any]:
    status, agent = _send_markdown(api, "POST", f"/v1/workspaces/{ws}/agents", text)
    assert status == 201, agent
    return dict(agent)


def test_create_from_markdown_publish_two_versions_read_both_back_and_roll_back(alice: Api, workspace: str) -> None:
    base = f"/v1/workspaces/{workspace}/agents"
    # Given an agent created from a markdown spec
    agent = _create(alice, workspace)
    assert agent["name"] == "Researcher" and agent["latest_version"] == 0 and agent["live_version"] is None
    assert agent["markdown"] == MARKDOWN
    assert agent["spec"] == from_json(SPEC).document()
    # When v1 is published, the draft edited (JSON this time) and v2 published
    status, v1 = alice.call("POST", f"{base}/{agent['id']}/versions", {"description": "first"})
    assert status == 201 and v1["version"] == 1 and v1["is_live"] and v1["unchanged"] is False
    changed = {**SPEC, "goal": "Find five facts about {topic}.", "temperature": 0.3}
    alice.ok("PUT", f"{base}/{agent['id']}", {"spec": changed})
    status, v2 = alice.call("POST", f"{base}/{agent['id']}/versions", {})
    assert status == 201 and v2["version"] == 2
    # Then each version's spec reads back, byte for byte, in both forms
    status, md1 = alice.call("GET", f"{base}/{agent['id']}/versions/1/spec.md")
    assert status == 200 and md1 == MARKDOWN
    md2 = alice.call("GET", f"{base}/{agent['id']}/versions/2/spec.md")[1]
    assert md2 == render(from_json(changed)) and "Find five facts" in md2 and "temperature: 0.3" in md2
    assert alice.ok("GET", f"{base}/{agent['id']}/versions/1/spec.json") == from_json(SPEC).document()
    # And the versions list says which is live; a rollback moves live to v1 and is audited
    versions = alice.ok("GET", f"{base}/{agent['id']}/versions")["items"]
    assert [(v["version"], v["is_live"]) for v in versions] == [(2, True), (1, False)]
    moved = alice.ok("PUT", f"{base}/{agent['id']}/live", {"version": 1})
    assert moved["live_version"] == 1 and moved["latest_version"] == 2
    assert alice.ok("GET", f"{base}/{agent['id']}/versions/2")["is_live"] is False
    audit = alice.ok("GET", f"/v1/workspaces/{workspace}/audit?action=agent.")["items"]
    assert [(e["action"], e["details"].get("to")) for e in audit if e["action"] in ("agent.publish", "agent.live")] == [
        ("agent.live", 1),
        ("agent.publish", 2),
        ("agent.publish", 1),
    ]


def test_publishing_an_unchanged_draft_returns_the_existing_version(alice: Api, workspace: str) -> None:
    base = f"/v1/workspaces/{workspace}/agents"
    agent = _create(alice, workspace)
    alice.ok("POST", f"{base}/{agent['id']}/versions", {})
    # Given the draft re-sent as it is (same spec, other key order)
    alice.ok("PUT", f"{base}/{agent['id']}", {"spec": dict(reversed(list(SPEC.items())))})
    # When it is published again
    status, again = alice.call("POST", f"{base}/{agent['id']}/versions", {})
    # Then nothing new exists: 200, version 1, and the answer says so
    assert status == 200 and again["version"] == 1 and again["unchanged"] is True
    assert "identical to version 1" in again["message"]
    assert len(alice.ok("GET", f"{base}/{agent['id']}/versions")["items"]) == 1


def test_a_malformed_markdown_spec_is_a_422_naming_the_line_and_the_section(alice: Api, workspace: str) -> None:
    broken = MARKDOWN.replace("max_iterations: 15", "max_iterations: lots")
    status, body = _send_markdown(alice, "POST", f"/v1/workspaces/{workspace}/agents", broken)
    assert status == 422, body
    problem = body["error"]["details"][0]
    assert (problem["line"], problem["section"], problem["field"]) == (7, "front matter", "max_iterations")
    assert body["error"]["message"].startswith("line 7 (front matter): max_iterations:")
    # A bad tool config names the tool's heading line
    bad_tool = MARKDOWN.replace('"credential": "github"', '"credential": 42')
    status, body = _send_markdown(alice, "POST", f"/v1/workspaces/{workspace}/agents/validate", bad_tool)
    assert status == 422
    problem = body["error"]["details"][0]
    assert problem["section"] == "Tools" and problem["line"] == bad_tool.splitlines().index("## http") + 1


def test_validate_converts_between_the_two_forms(vera: Api, alice: Api, workspace: str) -> None:
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|vera", {"role": "viewer"})
    # A viewer may convert (nothing is saved) but not create
    forms = vera.ok("POST", f"/v1/workspaces/{workspace}/agents/validate", {"spec": SPEC})
    assert forms["markdown"] == MARKDOWN
    assert (
        vera.ok("POST", f"/v1/workspaces/{workspace}/agents/validate", {"markdown": MARKDOWN})["spec"] == forms["spec"]
    )
    assert _send_markdown(vera, "POST", f"/v1/workspaces/{workspace}/agents", MARKDOWN)[0] == 403


def test_json_bodies_name_the_field_and_need_exactly_one_form(alice: Api, workspace: str) -> None:
    path = f"/v1/workspaces/{workspace}/agents"
    status, body = alice.call("POST", path, {"spec": {**SPEC, "memory": "forever"}})
    assert status == 422 and body["error"]["details"][0]["field"] == "spec.memory"
    status, body = alice.call("POST", path, {"spec": SPEC, "markdown": MARKDOWN})
    assert status == 422 and "exactly one" in body["error"]["message"]
    # Markdown is only taken where a spec is: elsewhere text/markdown is still a 415
    status, body = _send_markdown(alice, "POST", f"/v1/workspaces/{workspace}/flows", MARKDOWN)
    assert status == 415, body


def test_another_workspace_cannot_see_or_change_an_agent(alice: Api, bob: Api, workspace: str) -> None:
    agent = _create(alice, workspace)
    bob_ws = bob.ok("POST", "/v1/workspaces", {"name": "bob's"})["id"]
    for method, path in (
        ("GET", f"/v1/workspaces/{workspace}/agents/{agent['id']}"),
        ("GET", f"/v1/workspaces/{bob_ws}/agents/{agent['id']}"),
        ("GET", f"/v1/workspaces/{bob_ws}/agents/{agent['id']}/versions/1/spec.md"),
        ("DELETE", f"/v1/workspaces/{bob_ws}/agents/{agent['id']}"),
    ):
        assert bob.call(method, path)[0] == 404, (method, path)
    assert bob.ok("GET", f"/v1/workspaces/{bob_ws}/agents")["items"] == []


def _live_flow_naming(stack: LocalStack, ws: str, agent_id: str, name: str) -> str:
    """A flow whose live version has an agent node (written directly: its version needs no state machine)."""
    definition = {
        "nodes": [
            {"id": "start", "type": "input", "config": {}},
            {"id": "research", "type": "agent", "config": {"agent": agent_id, "task": "Research the topic."}},
        ],
        "edges": [{"from": "start", "to": "research"}],
    }
    flow_id = str(uuid.uuid4())
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        admin.execute(
            "INSERT INTO flows (id, workspace_id, name, definition, live_version, latest_version, created_by)"
            " VALUES (%s, %s, %s, %s, 1, 1, 'test')",
            (flow_id, ws, name, json.dumps(definition)),
        )
        admin.execute(
            "INSERT INTO flow_versions (workspace_id, flow_id, version, definition, asl, config_hash, created_by)"
            " VALUES (%s, %s, 1, %s, '{}', 'x', 'test')",
            (ws, flow_id, json.dumps(definition)),
        )
    return flow_id


def test_deleting_an_agent_a_live_flow_uses_is_a_409_naming_the_flow(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    agent = _create(alice, workspace)
    other = _create(alice, workspace)
    flow_id = _live_flow_naming(stack, workspace, agent["id"], "research pipeline")
    # When the used agent is deleted
    status, body = alice.call("DELETE", f"/v1/workspaces/{workspace}/agents/{agent['id']}")
    # Then 409 names the flow, its version and node
    assert status == 409, body
    assert "'research pipeline' (v1, node research)" in body["error"]["message"]
    assert body["error"]["details"]["flows"] == [
        {"flow_id": flow_id, "flow_name": "research pipeline", "version": 1, "nodes": ["research"]}
    ]
    # An agent no live flow names goes; once the flow is deleted, so does the first
    assert alice.call("DELETE", f"/v1/workspaces/{workspace}/agents/{other['id']}")[0] == 204
    assert alice.call("DELETE", f"/v1/workspaces/{workspace}/flows/{flow_id}")[0] == 204
    assert alice.call("DELETE", f"/v1/workspaces/{workspace}/agents/{agent['id']}")[0] == 204
    assert alice.call("GET", f"/v1/workspaces/{workspace}/agents/{agent['id']}")[0] == 404


def test_the_runs_of_an_agent_carry_version_tokens_and_cost(alice: Api, workspace: str, stack: LocalStack) -> None:
    agent = _create(alice, workspace)
    alice.ok("POST", f"/v1/workspaces/{workspace}/agents/{agent['id']}/versions", {})
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/agents/{agent['id']}/runs")["items"] == []
    # Given a finished run whose node is recorded as having used v1 (as agent nodes record it)
    flow = publish(
        alice,
        workspace,
        {"nodes": [node("start", "input"), node("t", expression="input")], "edges": [edge("start", "t")]},
    )
    done = run(alice, workspace, flow)
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        admin.execute(
            "INSERT INTO node_run_agents (workspace_id, run_id, node_id, iteration, member, agent_id, agent_version,"
            " calls, tokens_in, tokens_out, cost_usd) VALUES (%s, %s, 't', 0, 'agent', %s, 1, 2, 120, 30, 0.0015)",
            (workspace, done["id"], agent["id"]),
        )
    # When the agent's runs and the agents list are read
    items = alice.ok("GET", f"/v1/workspaces/{workspace}/agents/{agent['id']}/runs")["items"]
    listed = {a["id"]: a for a in alice.ok("GET", f"/v1/workspaces/{workspace}/agents")["items"]}
    # Then the node run is there with its version, tokens and costs, and the list sums them
    assert [(i["run_id"], i["node_id"], i["agent_version"], i["tokens_in"], i["tokens_out"]) for i in items] == [
        (done["id"], "t", 1, 120, 30)
    ]
    assert items[0]["cost_usd"] == pytest.approx(0.0015)
    assert items[0]["total_cost_usd"] >= 0.0015 and items[0]["flow_id"] == flow
    usage = listed[agent["id"]]["usage"]
    assert (
        usage["runs"] == 1
        and usage["tokens"] == 150
        and usage["cost_usd"] == pytest.approx(items[0]["cost_usd"], abs=1e-6)
    )
    assert listed[agent["id"]]["model"] == "default" and listed[agent["id"]]["live_version"] == 1


def test_the_agents_list_carries_each_agents_newest_runs_in_one_page(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given two agents: the first used by seven node runs, the second by one
    first, second = _create(alice, workspace), _create(alice, workspace)
    flow = publish(
        alice,
        workspace,
        {"nodes": [node("start", "input"), node("t", expression="input")], "edges": [edge("start", "t")]},
    )
    runs = [run(alice, workspace, flow)["id"] for _ in range(7)]
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        for i, run_id in enumerate(runs):
            admin.execute(
                "UPDATE node_runs SET started_at = now() - make_interval(mins => %s) WHERE run_id = %s",
                (60 - i, run_id),
            )
            for agent in [first] + ([second] if i == 2 else []):
                admin.execute(
                    "INSERT INTO node_run_agents (workspace_id, run_id, node_id, iteration, member, agent_id,"
                    " agent_version, calls, tokens_in, tokens_out, cost_usd)"
                    " VALUES (%s, %s, 't', 0, %s, %s, 1, 1, 10, 5, 0.001)",
                    (workspace, run_id, f"m-{agent['id'][:8]}", agent["id"]),
                )
    # When the agents list is read
    listed = {a["id"]: a for a in alice.ok("GET", f"/v1/workspaces/{workspace}/agents")["items"]}
    # Then each agent carries its newest node runs (at most five), newest first: no request per agent is needed
    assert [r["run_id"] for r in listed[first["id"]]["recent_runs"]] == runs[::-1][:5]
    assert [r["run_id"] for r in listed[second["id"]]["recent_runs"]] == [runs[2]]
    assert listed[first["id"]]["usage"]["runs"] == 7


def test_published_versions_are_immutable_in_the_database(alice: Api, workspace: str, stack: LocalStack) -> None:
    agent = _create(alice, workspace)
    alice.ok("POST", f"/v1/workspaces/{workspace}/agents/{agent['id']}/versions", {})
    with (
        psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin,
        pytest.raises(psycopg.errors.RestrictViolation),
    ):
        admin.execute("UPDATE agent_versions SET spec = '{}' WHERE agent_id = %s", (agent["id"],))
    # And the app role may not delete one either (nor update: its grant is revoked like flow_versions')
    with pytest.raises(psycopg.errors.InsufficientPrivilege), stack.platform.services.store.tx(workspace) as tx:
        tx.conn.execute("DELETE FROM agent_versions")
