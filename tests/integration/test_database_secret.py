"""The deployment's database secret, read through Powertools parameters from (moto's) Secrets Manager:
cached between connections, and re-read at once when the server refuses a rotated password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from moto import mock_aws
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.adapters.postgres import Database
from nexod.local import pg
from nexod.settings import Settings
from nexod.wiring import DatabaseConninfo

REGION = "us-east-1"
ROLE = "nexod_rotating"


@pytest.fixture(scope="module")
def password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pg.LocalPostgres]:
    """An embedded server where ROLE must log in with its password (scram), as on Aurora."""
    server = pg.start(tmp_path_factory.mktemp("password-pg"))
    hba = Path(server.server.pgdata) / "pg_hba.conf"
    hba.write_text(f"local all {ROLE} scram-sha-256\n" + hba.read_text())
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'first'").format(sql.Identifier(ROLE)))
        conn.execute("SELECT pg_reload_conf()")
    yield server
    server.stop()


def _secret(server: pg.LocalPostgres, password: str) -> str:
    socket_dir = conninfo_to_dict(server.admin_url)["host"]
    return json.dumps({"username": ROLE, "password": password, "host": socket_dir, "port": 5432, "dbname": "nexod"})


def _backend(db: Database) -> tuple[str, int]:
    with db.tenant(None) as conn:
        row = conn.execute("SELECT current_user AS who, pg_backend_pid() AS pid").fetchone()
    assert row is not None
    return str(row["who"]), int(row["pid"])


def _terminate(server: pg.LocalPostgres, pid: int) -> None:
    with psycopg.connect(server.admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_rotated_password_is_picked_up_after_the_server_refuses_the_old_one(
    password_server: pg.LocalPostgres,
) -> None:
    with mock_aws(config=MOTO_CONFIG):
        # Given the app's secret in Secrets Manager, read through a Powertools provider that counts its calls
        client = boto3.client("secretsmanager", region_name=REGION)
        arn = client.create_secret(Name="nexod/app", SecretString=_secret(password_server, "first"))["ARN"]
        reads: list[Any] = []
        client.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: reads.append(1))
        settings = Settings(mode="aws", database_secret_arn=arn, region=REGION)
        db = Database(DatabaseConninfo(settings, secrets=SecretsProvider(boto3_client=client)), max_size=1)
        try:
            who, first = _backend(db)
            assert who == ROLE and len(reads) == 1
            # When the connection is lost and a new one is made with the same password
            _terminate(password_server, first)
            _, second = _backend(db)
            # Then the cached secret serves it: Secrets Manager is not asked again
            assert second != first and len(reads) == 1

            # When the password rotates (the role and the secret change) and the connection is lost again
            with psycopg.connect(password_server.admin_url, autocommit=True) as admin:
                admin.execute(sql.SQL("ALTER ROLE {} PASSWORD 'second'").format(sql.Identifier(ROLE)))
            client.put_secret_value(SecretId=arn, SecretString=_secret(password_server, "second"))
            _terminate(password_server, second)
            # Then the next transaction works: the refused password made the provider fetch the new secret
            who, third = _backend(db)
            assert who == ROLE and third != second
            assert len(reads) == 2
        finally:
            db.close()


def test_a_refused_password_that_did_not_rotate_is_a_503_within_the_budget(password_server: pg.LocalPostgres) -> None:
    from nexod.adapters.postgres.db import DatabaseUnavailable

    with mock_aws(config=MOTO_CONFIG):
        # Given a secret whose password the server does not accept, and no newer one
        client = boto3.client("secretsmanager", region_name=REGION)
        arn = client.create_secret(Name="nexod/wrong", SecretString=_secret(password_server, "wrong"))["ARN"]
        settings = Settings(mode="aws", database_secret_arn=arn, region=REGION)
        secrets = SecretsProvider(boto3_client=client)
        db = Database(DatabaseConninfo(settings, secrets=secrets), max_size=1, connect_retry_seconds=1)
        # When a transaction starts / Then it gives up within its budget instead of hanging
        try:
            with pytest.raises(DatabaseUnavailable), db.tenant(None):
                pass
        finally:
            db.close()
