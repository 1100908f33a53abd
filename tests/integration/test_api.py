"""The HTTPS API: authentication, roles, isolation, error bodies, flows and versions."""

from __future__ import annotations

import json
import urllib.request

import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.unit.flows import demo_flow, edge, fan_out, node

from .conftest import publish

SIMPLE = {
    "nodes": [node("start", "input"), node("double", "transform", expression="input.n")],
    "edges": [edge("start", "double")],
}


def assert_error(status: int, body: dict, expected_status: int, code: str) -> dict:
    assert status == expected_status, body
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


# -- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/me", "/v1/workspaces", "/v1/node-types"])
def test_every_route_needs_a_token(stack: LocalStack, path: str):
    status, body = Api(stack.url, None).get(path)
    assert_error(status, body, 401, "unauthorized")


def test_unauthenticated_writes_are_refused_before_the_body_is_read(stack: LocalStack, demo_ws: str):
    status, body = Api(stack.url, None).post(f"/v1/workspaces/{demo_ws}/flows", {"bogus": True})
    assert_error(status, body, 401, "unauthorized")


def test_a_forged_token_is_refused(stack: LocalStack):
    token = stack.platform.issuer.token("alice")
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[::-1]])
    status, body = Api(stack.url, forged).get("/v1/me")
    assert_error(status, body, 401, "unauthorized")


def test_me_lists_my_workspaces_with_roles(alice: Api, vera: Api, demo_ws: str):
    me = alice.ok("GET", "/v1/me")
    assert me["user"]["sub"] == "local|alice"
    assert {"id": demo_ws, "name": "Demo", "role": "admin"}.items() <= me["workspaces"][0].items()
    # (vera may be a viewer of workspaces other tests of the session made too: she is nothing more anywhere)
    vera_in = {w["id"]: w["role"] for w in vera.ok("GET", "/v1/me")["workspaces"]}
    assert vera_in[demo_ws] == "viewer" and set(vera_in.values()) == {"viewer"}


def test_openapi_document_describes_the_contract(stack: LocalStack):
    with urllib.request.urlopen(stack.url + "/v1/openapi.json") as resp:
        spec = json.loads(resp.read())
    paths = spec["paths"]
    for path in [
        "/v1/me",
        "/v1/node-types",
        "/v1/workspaces/{ws}/flows",
        "/v1/workspaces/{ws}/flows/validate",
        "/v1/workspaces/{ws}/flows/{flow}/versions",
        "/v1/workspaces/{ws}/flows/{flow}/live",
        "/v1/workspaces/{ws}/flows/{flow}/runs",
        "/v1/workspaces/{ws}/runs/{run}/nodes",
        "/v1/workspaces/{ws}/runs/{run}/redrive",
        "/v1/workspaces/{ws}/runs/{run}/cancel",
    ]:
        assert path in paths, path


def test_node_types_carry_their_config_schema(alice: Api):
    items = {t["type"]: t for t in alice.ok("GET", "/v1/node-types")["items"]}
    assert set(items) >= {"input", "output", "transform", "condition", "http", "llm", "wait"}
    assert "url" in items["http"]["config_schema"]["properties"]
    assert items["http"]["config_schema"]["required"] == ["url"]


# -- isolation and roles --------------------------------------------------------------------------
def test_another_workspace_is_not_found_never_forbidden(bob: Api, alice: Api, demo_ws: str):
    flow_id = alice.ok("GET", f"/v1/workspaces/{demo_ws}/flows")["items"][0]["id"]
    for path in [
        f"/v1/workspaces/{demo_ws}",
        f"/v1/workspaces/{demo_ws}/flows",
        f"/v1/workspaces/{demo_ws}/flows/{flow_id}",
        f"/v1/workspaces/{demo_ws}/runs",
    ]:
        status, body = bob.get(path)
        assert_error(status, body, 404, "not_found")
    status, body = bob.post(f"/v1/workspaces/{demo_ws}/flows/{flow_id}/runs", {"input": {}})
    assert_error(status, body, 404, "not_found")


def test_ids_of_one_workspace_do_not_resolve_in_another(bob: Api, alice: Api, demo_ws: str, lab_ws: str):
    # Given a flow id from the demo workspace, asked for inside bob's own workspace
    flow_id = alice.ok("GET", f"/v1/workspaces/{demo_ws}/flows")["items"][0]["id"]
    status, body = bob.get(f"/v1/workspaces/{lab_ws}/flows/{flow_id}")
    # Then it does not exist there
    assert_error(status, body, 404, "not_found")


def test_malformed_ids_are_not_found(alice: Api, demo_ws: str):
    status, body = alice.get(f"/v1/workspaces/{demo_ws}/flows/not-a-uuid")
    assert_error(status, body, 404, "not_found")


def test_viewers_read_but_cannot_build_or_run(vera: Api, alice: Api, demo_ws: str):
    flows = vera.ok("GET", f"/v1/workspaces/{demo_ws}/flows")["items"]
    assert len(flows) >= 3
    flow_id = flows[0]["id"]
    for method, path, body in [
        ("POST", f"/v1/workspaces/{demo_ws}/flows", {"name": "x", "definition": SIMPLE}),
        ("PUT", f"/v1/workspaces/{demo_ws}/flows/{flow_id}", {"name": "renamed"}),
        ("POST", f"/v1/workspaces/{demo_ws}/flows/{flow_id}/versions", {}),
        ("POST", f"/v1/workspaces/{demo_ws}/flows/{flow_id}/runs", {"input": {}}),
        ("PUT", f"/v1/workspaces/{demo_ws}/members/local|mallory", {"role": "admin"}),
    ]:
        status, payload = vera.call(method, path, body)
        error = assert_error(status, payload, 403, "forbidden")
        assert "viewer" in error["message"]


def test_admins_manage_members_and_keep_one_admin(alice: Api, workspace: str):
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|carol", {"role": "member"})
    assert {m["user_sub"]: m["role"] for m in alice.ok("GET", f"/v1/workspaces/{workspace}/members")["items"]} == {
        "local|alice": "admin",
        "local|carol": "member",
    }
    status, body = alice.call("PUT", f"/v1/workspaces/{workspace}/members/local|alice", {"role": "viewer"})
    assert_error(status, body, 409, "conflict")
    assert alice.call("DELETE", f"/v1/workspaces/{workspace}/members/local|carol")[0] == 204


# -- bad input -------------------------------------------------------------------------------------
def test_an_invalid_draft_saves_with_its_problems_and_publishing_it_is_422_naming_them(alice: Api, workspace: str):
    bad = {"nodes": [node("start", "input"), node("a")], "edges": [edge("start", "a"), edge("a", "ghost")]}
    status, body = alice.post(f"/v1/workspaces/{workspace}/flows", {"name": "bad", "definition": bad})
    assert status == 201 and body["valid"] is False
    assert body["problems"][0]["edge"] == "a->ghost" and "'ghost'" in body["problems"][0]["message"]
    assert [f["id"] for f in alice.ok("GET", f"/v1/workspaces/{workspace}/flows")["items"]] == [body["id"]]
    status, refused = alice.post(f"/v1/workspaces/{workspace}/flows/{body['id']}/versions", {})
    assert assert_error(status, refused, 422, "invalid_flow")["details"] == body["problems"]


def test_validate_endpoint_checks_without_saving(alice: Api, workspace: str):
    assert alice.ok("POST", f"/v1/workspaces/{workspace}/flows/validate", {"definition": demo_flow()})["valid"]
    status, body = alice.post(
        f"/v1/workspaces/{workspace}/flows/validate",
        {"definition": {"nodes": [node("s", "input"), node("x", "nope")], "edges": [edge("s", "x")]}},
    )
    assert assert_error(status, body, 422, "invalid_flow")["details"][0]["node"] == "x"


def test_unknown_body_fields_are_rejected_with_the_field_named(alice: Api, workspace: str):
    status, body = alice.post(f"/v1/workspaces/{workspace}/flows", {"name": "x", "definition": SIMPLE, "colour": 1})
    error = assert_error(status, body, 422, "invalid_request")
    assert error["details"][0]["field"] == "colour"


def test_missing_required_fields_are_named(alice: Api, workspace: str):
    status, body = alice.post(f"/v1/workspaces/{workspace}/flows", {"definition": SIMPLE})
    assert assert_error(status, body, 422, "invalid_request")["details"][0]["field"] == "name"


def test_malformed_json_is_a_422_not_a_500(alice: Api, workspace: str):
    status, body = alice.call("POST", f"/v1/workspaces/{workspace}/flows", raw=b'{"name": ')
    assert status == 422, body


def test_a_flow_of_500_nodes_is_accepted_and_a_huge_body_is_413(alice: Api, workspace: str):
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "big", "definition": fan_out(498)})
    assert len(flow["definition"]["nodes"]) == 500
    huge = {
        "name": "huge",
        "definition": {"nodes": [node("s", "input", example={"x": "y" * 3_000_000})], "edges": []},
    }
    status, body = alice.post(f"/v1/workspaces/{workspace}/flows", huge)
    assert_error(status, body, 413, "payload_too_large")


def test_unknown_routes_are_json_404(alice: Api):
    status, body = alice.get("/v1/nothing-here")
    assert_error(status, body, 404, "not_found")


# -- flows and versions ----------------------------------------------------------------------------
def test_flow_crud_and_soft_delete(alice: Api, workspace: str):
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "one", "definition": SIMPLE})
    assert flow["live_version"] is None and flow["latest_version"] == 0
    renamed = alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow['id']}", {"name": "two"})
    assert renamed["name"] == "two" and renamed["definition"]["nodes"][1]["id"] == "double"
    assert alice.call("DELETE", f"/v1/workspaces/{workspace}/flows/{flow['id']}")[0] == 204
    status, body = alice.get(f"/v1/workspaces/{workspace}/flows/{flow['id']}")
    assert_error(status, body, 404, "not_found")


def test_runs_need_a_published_version(alice: Api, workspace: str):
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "draft", "definition": SIMPLE})
    status, body = alice.post(f"/v1/workspaces/{workspace}/flows/{flow['id']}/runs", {"input": {}})
    assert "publish it first" in assert_error(status, body, 409, "conflict")["message"]


def test_a_run_says_who_started_it(alice: Api, workspace: str):
    # Given a published flow
    flow_id = publish(alice, workspace, SIMPLE)
    me = alice.ok("GET", "/v1/me")["user"]["sub"]
    # When alice starts a run through the API
    started = alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/runs", {"input": {"n": 1}})
    # Then the run, as started and as listed, names her as a user (created_by keeps her subject)
    listed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow_id}")["items"]
    for run in (started, alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}"), *listed):
        assert run["started_by"] == {"kind": "user", "id": me}
        assert run["created_by"] == me


def test_publishing_stores_immutable_versions_with_compiled_asl(alice: Api, workspace: str):
    flow_id = publish(alice, workspace, SIMPLE)
    v1 = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions/1")
    assert v1["is_live"] and v1["asl"]["StartAt"] == "double"  # the input node is recorded with the run
    assert v1["state_machine_version_arn"].endswith(":1")
    assert "${NodeRunnerArn}" in json.dumps(v1["asl"])  # stored portable; substituted at publish
    # editing the draft does not touch v1
    changed = {**SIMPLE, "nodes": [node("start", "input"), node("double", "transform", expression="input.m")]}
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}", {"definition": changed})
    again = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions/1")
    assert again["definition"]["nodes"][1]["config"]["expression"] == "input.n"
    status, body = alice.get(f"/v1/workspaces/{workspace}/flows/{flow_id}/versions/9")
    assert_error(status, body, 404, "not_found")


def test_live_pointer_moves_and_rejects_unknown_versions(alice: Api, workspace: str):
    flow_id = publish(alice, workspace, SIMPLE)
    changed = {**SIMPLE, "nodes": [node("start", "input"), node("double", "transform", expression="input.m")]}
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}", {"definition": changed})
    alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions", {})
    versions = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions")["items"]
    assert [(v["version"], v["is_live"]) for v in versions] == [(2, True), (1, False)]
    assert alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}/live", {"version": 1})["live_version"] == 1
    status, body = alice.put(f"/v1/workspaces/{workspace}/flows/{flow_id}/live", {"version": 7})
    assert_error(status, body, 409, "conflict")
    status, body = alice.put(f"/v1/workspaces/{workspace}/flows/{flow_id}/live", {"version": 0})
    assert_error(status, body, 422, "invalid_request")


def test_the_live_alias_follows_the_pointer_in_step_functions(alice: Api, workspace: str, stack: LocalStack):
    flow_id = publish(alice, workspace, SIMPLE)
    alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions", {})
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}/live", {"version": 1})
    flow = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}")
    sfn = stack.platform.orchestrator.client
    alias = sfn.describe_state_machine_alias(stateMachineAliasArn=flow["state_machine_arn"] + ":live")
    assert alias["routingConfiguration"][0]["stateMachineVersionArn"] == flow["state_machine_arn"] + ":1"


def test_list_pagination_uses_opaque_cursors(alice: Api, workspace: str):
    for i in range(3):
        alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": f"f{i}", "definition": SIMPLE})
    page = alice.ok("GET", f"/v1/workspaces/{workspace}/flows?limit=2")
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = alice.ok("GET", f"/v1/workspaces/{workspace}/flows?limit=2&cursor={page['next_cursor']}")
    assert [f["name"] for f in page["items"] + rest["items"]] == ["f2", "f1", "f0"]
    for listing in ("flows", "runs"):
        status, body = alice.get(f"/v1/workspaces/{workspace}/{listing}?cursor=garbage")
        assert assert_error(status, body, 422, "invalid_input")["details"] == {"field": "cursor"}


def test_concurrent_requests_never_see_each_others_identity(alice: Api, bob: Api):
    # Given many simultaneous /v1/me calls from two users
    from concurrent.futures import ThreadPoolExecutor

    def who(api: Api) -> str:
        return str(api.ok("GET", "/v1/me")["user"]["sub"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(who, [alice, bob] * 40))
    # Then every answer belongs to the caller who asked
    assert results == ["local|alice", "local|bob"] * 40
