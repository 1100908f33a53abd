"""Deleting a workspace on the real stack: embedded Postgres (row-level security, the append-only audit
log), moto's Step Functions executing the run being cancelled, the local vault's rows, and Secrets Manager
under moto (scheduled deletion with a recovery window, and an unreachable endpoint that a repeated call
gets past)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import boto3
import psycopg
import pytest
from botocore.config import Config
from moto import mock_aws

from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.adapters.vault_secretsmanager import SecretsManagerVault
from nexod.domain.errors import DeletionIncomplete
from nexod.local.boot import LocalStack
from nexod.services import credentials, workspaces
from nexod.services.context import Principal
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish

PARKED = {
    "nodes": [node("start", "input"), node("pause", "wait", seconds=600), node("end", "output", value="x")],
    "edges": [edge("start", "pause"), edge("pause", "end")],
}
ALICE = Principal("local|alice")


def _admin(stack: LocalStack) -> psycopg.Connection:
    return psycopg.connect(stack.platform.postgres.admin_url, autocommit=True)


def test_a_deleted_workspace_is_gone_its_run_stopped_its_values_destroyed_and_its_audit_kept(
    stack: LocalStack, alice: Api
):
    # Given a workspace with a member, a run parked in a 10-minute wait and a credential
    name = f"doomed-{uuid.uuid4().hex[:6]}"
    ws = alice.ok("POST", "/v1/workspaces", {"name": name})["id"]
    alice.ok("PUT", f"/v1/workspaces/{ws}/members/local|carol", {"role": "member"})
    carol = Api(stack.url, stack.platform.issuer.token("carol"))
    flow = publish(alice, ws, PARKED, name="parked")
    run_id = alice.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/runs", {"input": {}})["id"]
    alice.wait_run(ws, run_id, until=("RUNNING",))
    alice.ok("POST", f"/v1/workspaces/{ws}/credentials", {"name": "gh", "type": "bearer", "value": {"token": "t-1"}})
    # When a member tries, then the admin deletes it without and with its name
    assert carol.call("DELETE", f"/v1/workspaces/{ws}?confirm={name}")[0] == 403
    status, refused = alice.call("DELETE", f"/v1/workspaces/{ws}")
    assert status == 422
    assert refused["error"]["details"]["field"] == "confirm"
    done = alice.ok("DELETE", f"/v1/workspaces/{ws}?confirm={name}")
    # Then it sums up what was done
    assert (done["runs_cancelled"], done["credentials_destroyed"], done["deleted_by"]) == (1, ["gh"], "local|alice")
    # And at once nobody lists it and every route under it is a 404, for its admin as for its member
    for api in (alice, carol):
        assert ws not in {w["id"] for w in api.ok("GET", "/v1/workspaces")["items"]}
        for path in ("", "/flows", f"/runs/{run_id}", "/credentials", "/audit", "/members"):
            assert api.call("GET", f"/v1/workspaces/{ws}{path}")[0] == 404, path
    assert alice.call("DELETE", f"/v1/workspaces/{ws}?confirm={name}")[0] == 404
    # And its execution was stopped in Step Functions (moto's interpreter), the run recorded CANCELLED
    with _admin(stack) as admin:
        status_arn = admin.execute("SELECT status, execution_arn FROM runs WHERE id = %s", (run_id,)).fetchone()
        assert status_arn is not None
        assert status_arn[0] == "CANCELLED"
        assert stack.platform.orchestrator.status(status_arn[1]) == "ABORTED"
        # And the credential's value and metadata rows are gone
        for table in ("credential_values", "credentials"):
            count = admin.execute(f"SELECT count(*) FROM {table} WHERE workspace_id = %s", (ws,)).fetchone()
            assert count == (0,), table
        # And the audit log kept everything, the deletion last with its actor and summary
        rows = admin.execute(
            "SELECT actor, action, details FROM audit_log WHERE workspace_id = %s ORDER BY id", (ws,)
        ).fetchall()
        assert rows[0][1] == "workspace.create"
        assert [r[1] for r in rows[-3:]] == ["run.cancel", "credential.delete", "workspace.delete"]
        actor, _, details = rows[-1]
        assert actor == "local|alice"
        assert (details["name"], details["runs_cancelled"], details["credentials_destroyed"]) == (name, 1, ["gh"])
        # And the tombstone cannot be turned into a hard delete that would erase that log: the app role may
        # not delete a workspace, and the owner's cascade into the log is refused by its trigger
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="audit_log is append-only"):
            admin.execute("DELETE FROM workspaces WHERE id = %s", (ws,))
    with psycopg.connect(stack.platform.postgres.app_url) as app:
        app.execute("SELECT set_config('app.workspace_id', %s, false)", (ws,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("DELETE FROM workspaces WHERE id = %s", (ws,))


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    with mock_aws(config=MOTO_CONFIG):
        yield boto3.session.Session(region_name="us-east-1")


def test_with_secrets_manager_values_are_scheduled_for_deletion_and_an_outage_is_finished_by_a_retry(
    stack: LocalStack, aws: boto3.session.Session
):
    # Given the real store and Secrets Manager (moto) as the vault, and a workspace with two credentials
    sm = aws.client("secretsmanager")
    vault = SecretsManagerVault("nexod/prod/ws", sm, lambda ws: sm)
    services = dataclasses.replace(stack.platform.services, vault=vault)
    ws = str(workspaces.create_workspace(services, ALICE, "sm-doomed")["id"])
    for cred in ("gh", "slack"):
        credentials.create_credential(services, ALICE, ws, cred, "bearer", "", {"token": f"{cred}-token"})
    # When the admin deletes it while Secrets Manager cannot be reached
    unreachable = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    down = dataclasses.replace(services, vault=SecretsManagerVault("nexod/prod/ws", unreachable, None))
    with pytest.raises(DeletionIncomplete, match="destroying its credentials failed") as failed:
        workspaces.delete_workspace(down, ALICE, ws, "sm-doomed")
    # Then the answer says what to do, the workspace is already gone for its users, and no value was lost
    assert "repeat the DELETE" in failed.value.message
    assert ws not in {w["id"] for w in workspaces.me(services, ALICE)["workspaces"]}
    assert vault.get(ws, "gh") == {"token": "gh-token"}
    # When the admin repeats the call with Secrets Manager back
    done = workspaces.delete_workspace(services, ALICE, ws, "sm-doomed")
    # Then each secret is scheduled for deletion with the recovery window, and reads as absent
    assert done["credentials_destroyed"] == ["gh", "slack"]
    for cred in ("gh", "slack"):
        described = sm.describe_secret(SecretId=f"nexod/prod/ws/{ws}/{cred}")
        assert "DeletedDate" in described
        assert vault.get(ws, cred) is None
    # And the deletion was recorded once
    with _admin(stack) as admin:
        count = admin.execute(
            "SELECT count(*) FROM audit_log WHERE workspace_id = %s AND action = 'workspace.delete'", (ws,)
        ).fetchone()
    assert count == (1,)
