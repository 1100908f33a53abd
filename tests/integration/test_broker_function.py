"""The deployed agent broker (the Broker function: functions/api/handler.broker_handler): built from the deployment's settings alone (its capability key
from Secrets Manager, the database, the gateway), answering runners the way local mode's broker does."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.api import broker as broker_api
from functions.api import handler as api_handler
from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.local.boot import LocalStack
from nexod.ports.agents import TaskScope
from nexod.services.broker import CapabilityTokens


@pytest.fixture
def deployed(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[bytes]:
    """The function's environment as the CDK sets it: mode aws, the database, the key's secret."""
    key = secrets.token_bytes(32)
    with mock_aws(config=MOTO_CONFIG):
        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="nexod-broker-key", SecretString=base64.b64encode(key).decode()
        )["ARN"]
        for name, value in {
            "NEXOD_MODE": "aws",
            "NEXOD_REGION": "us-east-1",
            "NEXOD_DATABASE_URL": stack.platform.settings.database_url,
            "NEXOD_BROKER_KEY_SECRET_ARN": arn,
        }.items():
            monkeypatch.setenv(name, str(value))
        api_handler._broker_from_settings.cache_clear()
        kept = broker_api._broker
        broker_api.bind(api_handler._broker_from_settings)  # what handler.py binds at import in AWS
        try:
            yield key
        finally:
            broker_api.bind(kept)
            api_handler._broker_from_settings.cache_clear()


def request(path: str, token: str | None, body: Any = None, method: str = "POST") -> dict[str, Any]:
    event = {
        "rawPath": f"/v1/broker/{path}",
        "requestContext": {"http": {"method": method}},
        "headers": {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        "body": json.dumps(body) if body is not None else None,
    }
    return api_handler.broker_handler(event)


def test_the_deployed_broker_verifies_tokens_with_the_deployments_key(deployed: bytes, stack: LocalStack) -> None:
    # Given the function built from its settings, and tokens minted with the deployment's key or another
    ours = CapabilityTokens(deployed).mint(TaskScope(stack.seeded["demo"], "run", "node", 0, 1))
    theirs = CapabilityTokens(secrets.token_bytes(32)).mint(TaskScope(stack.seeded["demo"], "run", "node", 0, 1))
    # When a runner asks for its task with each, and with none
    # Then only the deployment's token is taken (and finds no such task), the others are 401
    assert request("task", ours, method="GET")["statusCode"] == 404
    for token in (theirs, None):
        answer = request("task", token, method="GET")
        assert answer["statusCode"] == 401, answer
    # And a body the door refuses never reaches the broker
    assert request("events", ours, {"events": ["x" * 7_000_000]})["statusCode"] == 413
