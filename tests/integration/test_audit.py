"""The audit log: every administrative action, who did it and what changed, never a secret; append-only."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.unit.flows import edge, node

CANARY = "canary-" + uuid.uuid4().hex


def test_every_administrative_action_is_in_the_log_with_its_actor_and_no_secret(alice: Api, bob: Api):
    # Given a workspace where an admin does each administrative thing once
    ws = alice.ok("POST", "/v1/workspaces", {"name": "audited"})["id"]
    base = f"/v1/workspaces/{ws}"
    alice.ok("PUT", f"{base}/members/local|carol", {"role": "member"})
    alice.ok("PUT", f"{base}/members/local|carol", {"role": "viewer"})
    alice.ok("DELETE", f"{base}/members/local|carol")
    alice.ok("PUT", f"{base}/allowed-hosts", {"allowed_hosts": ["api.example.com"]})
    alice.ok("POST", f"{base}/credentials", {"name": "k", "type": "api_key", "value": {"key": CANARY}})
    alice.ok("PUT", f"{base}/credentials/k", {"value": {"key": CANARY + "-2"}})
    alice.ok("DELETE", f"{base}/credentials/k")
    definition = {"nodes": [node("start", "input"), node("t")], "edges": [edge("start", "t")]}
    flow = alice.ok("POST", f"{base}/flows", {"name": "f", "definition": definition})["id"]
    alice.ok("POST", f"{base}/flows/{flow}/versions", {"description": "one"})
    alice.ok("POST", f"{base}/flows/{flow}/versions", {"description": "two"})
    alice.ok("PUT", f"{base}/flows/{flow}/live", {"version": 1})
    # When the admin reads the log
    page = alice.ok("GET", f"{base}/audit?limit=200")
    # Then every action is there, newest first, by the admin, with what changed
    actions = [e["action"] for e in page["items"]]
    for expected in (
        "workspace.create",
        "member.put",
        "member.remove",
        "workspace.allowed_hosts",
        "credential.create",
        "credential.rotate",
        "credential.delete",
        "flow.publish",
        "flow.live",
    ):
        assert expected in actions, (expected, actions)
    assert actions[0] == "flow.live" and actions[-1] == "workspace.create"
    assert {e["actor"] for e in page["items"]} == {"local|alice"}
    changed = next(e for e in page["items"] if e["action"] == "member.put" and e["details"]["role"] == "viewer")
    assert changed["details"]["previous_role"] == "member"
    hosts = next(e for e in page["items"] if e["action"] == "workspace.allowed_hosts")
    assert hosts["details"]["added"] == ["api.example.com"]
    assert CANARY not in json.dumps(page)
    # And a family filter and paging work
    creds = alice.ok("GET", f"{base}/audit?action=credential.")["items"]
    assert [e["action"] for e in creds] == ["credential.delete", "credential.rotate", "credential.create"]
    first = alice.ok("GET", f"{base}/audit?limit=2")
    second = alice.ok("GET", f"{base}/audit?limit=2&cursor={first['next_cursor']}")
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in page["items"][:4]]
    # And outsiders do not see the workspace at all
    assert bob.call("GET", f"{base}/audit")[0] == 404


@pytest.mark.parametrize(
    ("query", "field"), [("cursor=abc", "cursor"), ("cursor=0", "cursor"), ("action=DROP%20TABLE", "action")]
)
def test_bad_paging_and_filters_are_422_naming_the_field(alice: Api, query: str, field: str):
    ws = alice.ok("POST", "/v1/workspaces", {"name": "audit-422"})["id"]
    status, answer = alice.call("GET", f"/v1/workspaces/{ws}/audit?{query}")
    assert status == 422 and answer["error"]["details"]["field"] == field


def test_members_and_viewers_cannot_read_the_log(stack: LocalStack, alice: Api):
    ws = alice.ok("POST", "/v1/workspaces", {"name": "audit-roles"})["id"]
    for sub, role in (("carol", "member"), ("valerie", "viewer")):
        alice.ok("PUT", f"/v1/workspaces/{ws}/members/local|{sub}", {"role": role})
        caller = Api(stack.url, stack.platform.issuer.token(sub))
        assert caller.call("GET", f"/v1/workspaces/{ws}/audit")[0] == 403


def test_the_log_is_append_only_for_every_role(stack: LocalStack, alice: Api):
    ws = alice.ok("POST", "/v1/workspaces", {"name": "append-only"})["id"]
    # Given the app's own role: no UPDATE or DELETE right at all
    with psycopg.connect(stack.platform.postgres.app_url) as app:
        app.execute("SELECT set_config('app.workspace_id', %s, false)", (ws,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("UPDATE audit_log SET action = 'forged' WHERE workspace_id = %s", (ws,))
    # And the owner: the trigger refuses UPDATE, DELETE and TRUNCATE
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        for statement in (
            "UPDATE audit_log SET action = 'forged' WHERE workspace_id = %s",
            "DELETE FROM audit_log WHERE workspace_id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                admin.execute(statement, (ws,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            admin.execute("TRUNCATE audit_log")
        assert admin.execute("SELECT count(*) FROM audit_log WHERE workspace_id = %s", (ws,)).fetchone()[0] == 1
        # Except an explicit purge, named in its own transaction
        with admin.transaction():
            admin.execute("SET LOCAL nexod.audit_purge = 'on'")
            admin.execute("DELETE FROM audit_log WHERE workspace_id = %s", (ws,))
        assert admin.execute("SELECT count(*) FROM audit_log WHERE workspace_id = %s", (ws,)).fetchone()[0] == 0
