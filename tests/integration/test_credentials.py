"""Credentials through the API and a run: write-only values, workspace scoped, resolved at the moment of use.

The canary test follows one value from the moment it is stored to the moment an http node sends it, and
looks for it everywhere a value could leak: API answers, node inputs, outputs and errors, the ASL, the
execution history, the server log and the Postgres data files.
"""

from __future__ import annotations

import json
import logging
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.support.recording_server import Recorder, serving
from tests.unit.flows import edge, node

from .conftest import publish, run

CANARY = "canary-" + uuid.uuid4().hex  # never printed by anything but the server it is sent to


@pytest.fixture
def origin(alice: Api, workspace: str) -> Iterator[Recorder]:
    with serving(name="api") as server:
        alice.ok("PUT", f"/v1/workspaces/{workspace}/allowed-hosts", {"allowed_hosts": [server.hostport]})
        yield server


def _create(api: Api, ws: str, name: str, type_name: str, value: dict, **extra) -> tuple[int, dict]:
    return api.call(
        "POST", f"/v1/workspaces/{ws}/credentials", {"name": name, "type": type_name, "value": value, **extra}
    )


def test_credential_types_publish_their_fields_schema(alice: Api):
    # When the types are listed / Then each has a JSON Schema for its value, and one-field types say which
    types = {t["type"]: t for t in alice.ok("GET", "/v1/credential-types")["items"]}
    assert {"api_key", "bearer", "basic", "header", "llm_provider", "database", "smtp", "aws", "generic"} <= set(types)
    assert types["api_key"]["default_field"] == "key"
    assert types["basic"]["value_schema"]["required"] == ["username", "password"]


def test_a_credential_answers_with_its_metadata_and_never_its_value(alice: Api, workspace: str):
    # Given a member creates an API key
    status, created = _create(alice, workspace, "stripe", "api_key", {"key": CANARY}, description="billing")
    # Then the answer names the type and which fields are set, who created it, and holds no value
    assert status == 201, created
    assert created["name"] == "stripe" and created["type"] == "api_key" and created["fields"] == ["key"]
    assert created["created_by"] == "local|alice" and created["rotated_at"] is None and created["used_by"] == []
    listed = alice.ok("GET", f"/v1/workspaces/{workspace}/credentials")
    one = alice.ok("GET", f"/v1/workspaces/{workspace}/credentials/stripe")
    assert CANARY not in json.dumps([created, listed, one])
    # When it is rotated / Then who and when are recorded, still without the value
    rotated = alice.ok("PUT", f"/v1/workspaces/{workspace}/credentials/stripe", {"value": {"key": CANARY + "-2"}})
    assert rotated["rotated_by"] == "local|alice" and rotated["rotated_at"] is not None
    assert CANARY not in json.dumps(rotated)


def test_bad_input_is_refused_naming_the_field_and_loses_nothing(alice: Api, workspace: str):
    cases = [
        ({"name": "2fa", "type": "api_key", "value": {"key": "x"}}, "name"),
        ({"name": "ok", "type": "keychain", "value": {"key": "x"}}, "type"),
        ({"name": "ok", "type": "basic", "value": {"username": CANARY}}, "value.password"),
        ({"name": "ok", "type": "header", "value": {"name": "Bad Header", "value": CANARY}}, "value.name"),
    ]
    for body, field in cases:
        status, answer = alice.call("POST", f"/v1/workspaces/{workspace}/credentials", body)
        assert status == 422, (body, answer)
        assert field in answer["error"]["message"] and CANARY not in json.dumps(answer)
    # And nothing was recorded
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/credentials")["items"] == []
    # A duplicate name is a conflict that keeps the first value
    assert _create(alice, workspace, "dup", "api_key", {"key": "one"})[0] == 201
    status, answer = _create(alice, workspace, "dup", "api_key", {"key": "two"})
    assert status == 409 and "rotates it" in answer["error"]["message"]


def test_viewers_read_metadata_only_and_other_workspaces_see_nothing(alice: Api, bob: Api, vera: Api, workspace: str):
    # Given a credential, a viewer of the workspace and a user of another workspace
    assert _create(alice, workspace, "gh", "bearer", {"token": CANARY})[0] == 201
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|vera", {"role": "viewer"})
    # Then the viewer lists it but cannot create, rotate or delete
    assert [c["name"] for c in vera.ok("GET", f"/v1/workspaces/{workspace}/credentials")["items"]] == ["gh"]
    assert _create(vera, workspace, "mine", "api_key", {"key": "x"})[0] == 403
    assert vera.call("PUT", f"/v1/workspaces/{workspace}/credentials/gh", {"value": {"token": "x"}})[0] == 403
    assert vera.call("DELETE", f"/v1/workspaces/{workspace}/credentials/gh")[0] == 403
    # And someone outside the workspace gets 404 for all of it
    assert bob.call("GET", f"/v1/workspaces/{workspace}/credentials")[0] == 404
    assert bob.call("GET", f"/v1/workspaces/{workspace}/credentials/gh")[0] == 404
    assert alice.call("GET", f"/v1/workspaces/{workspace}/credentials/nope")[0] == 404


def test_a_canary_sent_by_an_http_node_appears_nowhere_else(
    alice: Api, workspace: str, origin: Recorder, stack: LocalStack, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)  # what a deployment logs
    # Given a credential holding a canary, and a flow whose http node sends it as a header and in the query
    # to an API that reflects it back (plainly, base64-encoded and URL-encoded)
    assert _create(alice, workspace, "svc", "api_key", {"key": CANARY})[0] == 201
    definition = {
        "nodes": [
            node("start", "input"),
            node(
                "call",
                "http",
                url=f"{origin.origin}/echo-encoded?q={{{{ secrets.svc }}}}",
                headers={"X-Api-Key": "{{ secrets.svc.key }}"},
            ),
            node("echo", "http", url=f"{origin.origin}/echo-headers", headers={"X-Api-Key": "{{ secrets.svc }}"}),
        ],
        "edges": [edge("start", "call"), edge("call", "echo")],
    }
    flow_id = publish(alice, workspace, definition)
    # When it runs
    finished = run(alice, workspace, flow_id)
    assert finished["status"] == "SUCCEEDED", finished
    # Then the server received the value, in the header and the query
    assert origin.requests[0]["headers"]["X-Api-Key"] == CANARY
    assert CANARY in origin.requests[0]["path"]
    # And the recorded input keeps the reference, and nothing the API answers holds the value in any form
    nodes = alice.nodes(workspace, finished["id"])
    assert nodes["call"]["input"]["url"].endswith("?q={{ secrets.svc }}")
    flow = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}")
    version = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions/1")
    answers = json.dumps([nodes, finished, flow, version, alice.ok("GET", f"/v1/workspaces/{workspace}/credentials")])
    for form in (CANARY, quote(CANARY, safe=""), __import__("base64").b64encode(CANARY.encode()).decode()):
        assert form not in answers
    assert "[redacted]" in json.dumps(nodes["call"]["output"])
    # And the credential records when it was last used and by which flow
    used = alice.ok("GET", f"/v1/workspaces/{workspace}/credentials/svc")
    assert used["last_used_at"] is not None
    assert used["used_by"] == [{"flow_id": flow_id, "flow_name": "flow", "draft": True, "live": True}]
    # And neither the ASL, the execution history nor the database's files hold it
    assert CANARY not in json.dumps(version["asl"])
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        row = admin.execute("SELECT execution_arn FROM runs WHERE id = %s", (finished["id"],)).fetchone()
        admin.execute("CHECKPOINT")
    assert row is not None
    client = stack.platform.orchestrator.client
    events = client.get_execution_history(executionArn=row[0], maxResults=1000)["events"]
    assert len(events) > 5 and CANARY not in json.dumps(events, default=str)
    # And no log line of the platform's own
    assert CANARY not in caplog.text
    pgdata = stack.platform.postgres.server.pgdata
    found = subprocess.run(["grep", "-rl", "--", CANARY, str(pgdata)], capture_output=True, text=True)
    assert found.stdout == "", f"plaintext canary in {found.stdout}"


def test_a_missing_credential_warns_at_save_and_fails_the_node_naming_it(alice: Api, workspace: str, origin: Recorder):
    # Given a flow naming a credential the workspace does not have
    definition = {
        "nodes": [
            node("start", "input"),
            node("call", "http", url=f"{origin.origin}/x", headers={"Authorization": "Bearer {{ secrets.nope }}"}),
        ],
        "edges": [edge("start", "call")],
    }
    status, saved = alice.call("POST", f"/v1/workspaces/{workspace}/flows", {"name": "f", "definition": definition})
    # Then saving works and warns, naming it
    assert status == 201
    assert saved["warnings"] == [
        {
            "code": "missing_credential",
            "credential": "nope",
            "message": "credential 'nope' does not exist in this workspace: runs will fail until it is created",
        }
    ]
    # And a run fails that node with a message naming it, without calling out
    alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{saved['id']}/versions", {"description": "v1"})
    finished = run(alice, workspace, saved["id"])
    assert finished["status"] == "FAILED"
    error = alice.nodes(workspace, finished["id"])["call"]["error"]
    assert "credential 'nope' does not exist in this workspace" in error["message"]
    assert origin.requests == []


def test_deleting_a_credential_a_live_version_uses_is_a_conflict_naming_the_flow(
    alice: Api, workspace: str, origin: Recorder
):
    assert _create(alice, workspace, "tok", "bearer", {"token": CANARY})[0] == 201
    definition = {
        "nodes": [node("start", "input"), node("call", "http", url=f"{origin.origin}/x?t={{{{ secrets.tok }}}}")],
        "edges": [edge("start", "call")],
    }
    flow_id = publish(alice, workspace, definition, name="billing sync")
    # When it is deleted / Then 409 names the flow whose live version uses it
    status, answer = alice.call("DELETE", f"/v1/workspaces/{workspace}/credentials/tok")
    assert status == 409, answer
    assert "'billing sync'" in answer["error"]["message"]
    assert answer["error"]["details"]["flows"] == [{"flow_id": flow_id, "flow_name": "billing sync"}]
    # And with force it goes, and the audit trail has create and delete
    assert alice.call("DELETE", f"/v1/workspaces/{workspace}/credentials/tok?force=true")[0] == 204
    assert alice.call("GET", f"/v1/workspaces/{workspace}/credentials/tok")[0] == 404
