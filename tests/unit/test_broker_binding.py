"""How the deployed functions bind the agent broker: only the Broker function (it holds the broker key's
ARN) builds one; the API function, and a build without the agent task board, answer 503 with a clear error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.api import broker, handler


def _task_request() -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/v1/broker/task",
        "rawQueryString": "",
        "headers": {"authorization": "Bearer nxc1.claims.mac"},
        "requestContext": {"http": {"method": "GET", "path": "/v1/broker/task"}},
        "isBase64Encoded": False,
    }


@pytest.fixture
def aws_binding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The binding handler.py makes at import (local mode and other tests rebind their own)
    monkeypatch.setattr(broker, "_broker", handler._broker_from_settings)
    handler._broker_from_settings.cache_clear()
    yield
    handler._broker_from_settings.cache_clear()


def test_without_the_broker_key_setting_the_function_serves_no_broker(
    aws_binding: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function without NEXOD_BROKER_KEY_SECRET_ARN (the API function's environment)
    monkeypatch.delenv(handler.BROKER_KEY_ENV, raising=False)
    # When a runner's request reaches it
    answer = handler.broker_handler(_task_request())
    # Then it answers 503 broker_unavailable, as JSON
    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["error"]["code"] == "broker_unavailable"
