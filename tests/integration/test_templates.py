"""Templates (issue 13): every packaged template is served, valid, documented, and runs to its end offline
on the local stack (real local orchestrator, the local model, local mode's /demo endpoints; approvals are
decided by the test), so none can rot."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from nexod.services.templates import _stored
from tests.integration.conftest import publish
from tests.support.api import Api

ROOT = Path(__file__).resolve().parents[2]
IDS = [t["id"] for t in _stored()]


def test_at_least_eight_templates_are_listed_with_their_node_kinds_and_each_is_documented(alice: Api):
    # When the templates are listed
    items = alice.ok("GET", "/v1/templates")["items"]
    # Then there are at least eight, each naming the node kinds it uses, all of them kinds that exist
    assert len(items) >= 8
    kinds = {k["type"] for k in alice.ok("GET", "/v1/node-types")["items"]}
    for item in items:
        assert item["node_types"] and set(item["node_types"]) <= kinds, item["id"]
        assert item["description"] and item["category"]
    # And docs/templates.md lists every one of them
    listed = (ROOT / "docs" / "templates.md").read_text()
    assert [i["id"] for i in items if f"`{i['id']}`" not in listed] == []


def test_a_template_has_its_definition_with_this_servers_address_and_a_readme(alice: Api, stack: Any):
    # When one template is read
    got = alice.ok("GET", "/v1/templates/weather-brief")
    # Then its definition calls this server's demo endpoint (the placeholder is filled in) and it has a readme
    fetch = next(n for n in got["definition"]["nodes"] if n["id"] == "fetch")
    assert fetch["config"]["url"] == f"{stack.url}/demo/weather"
    assert got["readme"].startswith("# Weather brief") and "{{BASE_URL}}" not in got["readme"]
    # And an unknown template is a 404 JSON error
    status, body = alice.call("GET", "/v1/templates/no-such-template")
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_templates_need_a_signed_in_user(stack: Any):
    # Given no token / When templates are listed / Then 401
    status, _ = Api(stack.url, None).call("GET", "/v1/templates")
    assert status == 401


def _decide_approvals(api: Api, ws: str, run_id: str) -> None:
    for approval in api.ok("GET", f"/v1/workspaces/{ws}/approvals?status=pending&run={run_id}")["items"]:
        api.ok("POST", f"/v1/workspaces/{ws}/approvals/{approval['id']}/decide", {"decision": "approve"})


@pytest.mark.parametrize("template_id", IDS)
def test_every_template_validates_and_runs_to_success_offline(alice: Api, workspace: str, template_id: str):
    # Given the template, created as a flow in a workspace that allows the local server's host
    template = alice.ok("GET", f"/v1/templates/{template_id}")
    checked = alice.ok("POST", f"/v1/workspaces/{workspace}/flows/validate", {"definition": template["definition"]})
    assert checked["valid"] is True
    flow_id = publish(alice, workspace, template["definition"], name=template["name"])
    # When it runs with its input node's example (a fresh key for the flaky endpoint), approvals approved
    start = next(n for n in template["definition"]["nodes"] if n["type"] == "input")
    run_input = dict(start["config"].get("example") or {})
    if "key" in run_input:
        run_input["key"] = uuid.uuid4().hex
    status, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": run_input})
    assert status == 202, started
    deadline = time.monotonic() + 90
    while True:
        run = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}")
        if run["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        assert time.monotonic() < deadline, f"{template_id}: still {run['status']}"
        if "approval" in template["node_types"]:
            _decide_approvals(alice, workspace, run["id"])
        time.sleep(0.1)
    # Then it succeeded, and every node either ran or was skipped by a branch
    assert run["status"] == "SUCCEEDED", (template_id, run["error"])
    nodes = alice.nodes(workspace, run["id"])
    assert {n["status"] for n in nodes.values()} <= {"SUCCEEDED", "SKIPPED"}, nodes
    assert run["output"] is not None
