"""The Vault port's two adapters: AES-256-GCM in Postgres (local mode) and Secrets Manager (AWS, moto)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import boto3
import psycopg
import pytest
from moto import mock_aws

from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.adapters.postgres.db import Database
from nexod.adapters.vault_local import KeyFileExposed, PostgresVault, load_or_create_key
from nexod.adapters.vault_secretsmanager import SecretsManagerVault, TaggedReaders
from nexod.domain.errors import VaultUnavailable
from nexod.local.boot import LocalStack
from tests.support.api import Api

CANARY = "canary-" + uuid.uuid4().hex


# -- the key file -------------------------------------------------------------------------------------------
def test_the_key_file_is_created_private_and_reused(tmp_path: Path):
    # Given no key yet
    path = tmp_path / "keys" / "vault.key"
    # When it is loaded twice
    first, second = load_or_create_key(path), load_or_create_key(path)
    # Then it was created once, 32 bytes, readable by its owner only, in a private folder
    assert first == second and len(first) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int):
    # Given a key file someone made readable by others
    path = tmp_path / "vault.key"
    load_or_create_key(path)
    path.chmod(mode)
    # When it is loaded / Then it is refused with the command that fixes it
    with pytest.raises(KeyFileExposed, match=f"chmod 600 {path}"):
        load_or_create_key(path)


def test_a_key_file_of_the_wrong_size_is_refused(tmp_path: Path):
    path = tmp_path / "vault.key"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(VaultUnavailable, match="not a 32-byte AES-256 key"):
        load_or_create_key(path)


# -- local mode: ciphertexts in Postgres ------------------------------------------------------------------------
@pytest.fixture
def two_workspaces(alice: Api) -> tuple[str, str]:
    made = [alice.ok("POST", "/v1/workspaces", {"name": f"vault-{i}"})["id"] for i in range(2)]
    return str(made[0]), str(made[1])


@pytest.fixture
def vault(stack: LocalStack, tmp_path: Path) -> PostgresVault:
    return PostgresVault(Database(stack.platform.postgres.app_url, max_size=1), load_or_create_key(tmp_path / "k"))


def test_a_value_round_trips_and_is_stored_only_as_ciphertext(stack: LocalStack, vault, two_workspaces):
    # Given a credential value holding a canary
    ws, _ = two_workspaces
    vault.put(ws, "gh", {"token": CANARY})
    # When it is read back / Then it is the same value
    assert vault.get(ws, "gh") == {"token": CANARY}
    # And the table holds no plaintext, and after a checkpoint neither do Postgres' data files
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        row = admin.execute("SELECT ciphertext::text FROM credential_values WHERE name = 'gh'").fetchone()
        assert row is not None and CANARY not in row[0] and CANARY.encode().hex() not in row[0]
        admin.execute("CHECKPOINT")
    pgdata = stack.platform.postgres.server.pgdata
    found = subprocess.run(["grep", "-rl", "--", CANARY, str(pgdata)], capture_output=True, text=True)
    assert found.stdout == "", f"plaintext found in {found.stdout}"


def test_rotating_replaces_the_value_with_a_fresh_nonce(stack: LocalStack, vault, two_workspaces):
    ws, _ = two_workspaces
    vault.put(ws, "k", {"key": "one"})
    with psycopg.connect(stack.platform.postgres.admin_url) as admin:
        before = admin.execute("SELECT nonce FROM credential_values WHERE workspace_id = %s", (ws,)).fetchone()
    vault.put(ws, "k", {"key": "two"})
    with psycopg.connect(stack.platform.postgres.admin_url) as admin:
        after = admin.execute("SELECT nonce FROM credential_values WHERE workspace_id = %s", (ws,)).fetchone()
    assert vault.get(ws, "k") == {"key": "two"}
    assert before != after


def test_another_workspace_cannot_read_it(vault, two_workspaces):
    # Given a value in one workspace
    ws, other = two_workspaces
    vault.put(ws, "gh", {"token": CANARY})
    # When the other workspace asks for the same name / Then row-level security shows it nothing
    assert vault.get(other, "gh") is None


def test_a_ciphertext_moved_to_another_workspace_does_not_decrypt(stack: LocalStack, vault, two_workspaces):
    # Given a value, and an attacker with database access who copies its row to another workspace
    ws, other = two_workspaces
    vault.put(ws, "gh", {"token": CANARY})
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        admin.execute(
            "INSERT INTO credential_values (workspace_id, name, key_id, nonce, ciphertext)"
            " SELECT %s, name, key_id, nonce, ciphertext FROM credential_values WHERE workspace_id = %s",
            (other, ws),
        )
    # When the other workspace reads it / Then the associated data (workspace, name) does not match
    with pytest.raises(VaultUnavailable, match="its stored value was altered") as caught:
        vault.get(other, "gh")
    assert CANARY not in str(caught.value)


def test_a_replaced_key_gives_a_clear_error(stack: LocalStack, vault, two_workspaces, tmp_path: Path):
    ws, _ = two_workspaces
    vault.put(ws, "gh", {"token": CANARY})
    other_key = PostgresVault(Database(stack.platform.postgres.app_url, max_size=1), os.urandom(32))
    with pytest.raises(VaultUnavailable, match="sealed with another vault key"):
        other_key.get(ws, "gh")


def test_delete_removes_the_value(vault, two_workspaces):
    ws, _ = two_workspaces
    vault.put(ws, "gh", {"token": CANARY})
    vault.delete(ws, "gh")
    vault.delete(ws, "gh")  # idempotent
    assert vault.get(ws, "gh") is None


# -- AWS: Secrets Manager ---------------------------------------------------------------------------------------
@pytest.fixture
def aws():
    with mock_aws(config=MOTO_CONFIG):
        yield boto3.session.Session(region_name="us-east-1")


def test_secrets_manager_names_tags_and_encrypts_each_credential(aws):
    # Given the vault with the deployment's key
    sm = aws.client("secretsmanager")
    key_id = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    vault = SecretsManagerVault("nexod/prod/ws", sm, lambda ws: sm, kms_key_id=key_id)
    # When a credential is stored
    vault.put("ws-1", "gh", {"token": CANARY})
    # Then it is one secret under the workspace prefix, tagged with the workspace, encrypted with the key
    described = sm.describe_secret(SecretId="nexod/prod/ws/ws-1/gh")
    assert described["KmsKeyId"] == key_id
    assert {"Key": "nexod:workspace", "Value": "ws-1"} in described["Tags"]
    assert CANARY not in described["Description"]
    assert vault.get("ws-1", "gh") == {"token": CANARY}


def test_secrets_manager_rotates_deletes_and_recreates(aws):
    sm = aws.client("secretsmanager")
    vault = SecretsManagerVault("nexod/prod/ws", sm, lambda ws: sm)
    vault.put("ws-1", "gh", {"token": "one"})
    vault.put("ws-1", "gh", {"token": "two"})
    assert vault.get("ws-1", "gh") == {"token": "two"}
    # Given a deleted credential (scheduled for deletion, restorable for a week)
    vault.delete("ws-1", "gh")
    assert vault.get("ws-1", "gh") is None
    vault.delete("ws-1", "gh")
    # When one of the same name is created again / Then the secret is restored with the new value
    vault.put("ws-1", "gh", {"token": "three"})
    assert vault.get("ws-1", "gh") == {"token": "three"}
    assert vault.get("ws-1", "missing") is None


def test_a_function_without_the_reader_cannot_read_and_without_the_manager_cannot_write(aws):
    sm = aws.client("secretsmanager")
    api_side = SecretsManagerVault("nexod/prod/ws", sm, None)
    runner_side = SecretsManagerVault("nexod/prod/ws", None, lambda ws: sm)
    api_side.put("ws-1", "gh", {"token": CANARY})
    with pytest.raises(VaultUnavailable, match="may not read"):
        api_side.get("ws-1", "gh")
    with pytest.raises(VaultUnavailable, match="may not change"):
        runner_side.put("ws-1", "gh", {"token": "x"})


def test_readers_assume_the_reader_role_with_the_workspace_session_tag(aws):
    # Given the tag-scoped reader role
    iam = aws.client("iam")
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    calls: list[dict] = []
    sts = aws.client("sts")
    original = sts.assume_role

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    sts.assume_role = spy  # type: ignore[method-assign]
    readers = TaggedReaders(sts, role, lambda **creds: aws.client("secretsmanager", **creds))
    # When clients for two workspaces are asked for, one of them twice
    readers("ws-1"), readers("ws-1"), readers("ws-2")
    # Then each workspace assumed the role once, tagged with its own id
    assert [c["Tags"] for c in calls] == [
        [{"Key": "nexod:workspace", "Value": "ws-1"}],
        [{"Key": "nexod:workspace", "Value": "ws-2"}],
    ]
    assert all(c["RoleArn"] == role for c in calls)
