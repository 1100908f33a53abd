"""An in-process local stack (embedded Postgres, moto's interpreter, the real API handler) per session."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from nexod.local.boot import LocalStack, boot
from nexod.settings import Settings
from nexod.testing.stub_llm import OpenAIStub
from tests.support.api import Api
from tests.support.openapi_check import CheckedApi, PublishedSchemas

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, openai_stub: OpenAIStub) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("nexod-state")
    settings = Settings(local_model_base_url=openai_stub.base_url)
    local = boot(state, port=0, settings=settings)
    yield local
    local.close()


@pytest.fixture(scope="session")
def published(stack: LocalStack) -> PublishedSchemas:
    """The response schemas /v1/openapi.json publishes: the users' clients check every answer against them."""
    return PublishedSchemas.of(stack.url)


@pytest.fixture(scope="session")
def alice(stack: LocalStack, published: PublishedSchemas) -> Api:
    return CheckedApi(stack.url, stack.platform.issuer.token("alice"), published)


@pytest.fixture(scope="session")
def bob(stack: LocalStack, published: PublishedSchemas) -> Api:
    return CheckedApi(stack.url, stack.platform.issuer.token("bob"), published)


@pytest.fixture(scope="session")
def vera(stack: LocalStack, published: PublishedSchemas) -> Api:
    return CheckedApi(stack.url, stack.platform.issuer.token("vera"), published)


@pytest.fixture(scope="session")
def demo_ws(stack: LocalStack) -> str:
    assert stack.seeded is not None
    return stack.seeded["demo"]


@pytest.fixture(scope="session")
def lab_ws(stack: LocalStack) -> str:
    assert stack.seeded is not None
    return stack.seeded["lab"]


@pytest.fixture
def workspace(alice: Api, stack: LocalStack) -> str:
    """A fresh workspace for alice that allows calls to the local server (for http nodes)."""
    ws = alice.ok("POST", "/v1/workspaces", {"name": f"test-{uuid.uuid4().hex[:6]}"})["id"]
    host = stack.url.split("://", 1)[1]
    alice.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": [host]})
    return str(ws)


def saved_but_unpublishable(api: Api, ws: str, definition: dict[str, Any], name: str = "flow") -> str:
    """Save a flow that is not valid: the draft saves (issue 13) with its problems, publishing is a 422 whose
    details list the same problems. Returns the text of both answers, for the caller's own assertions."""
    status, saved = api.call("POST", f"/v1/workspaces/{ws}/flows", {"name": name, "definition": definition})
    assert status == 201 and saved["valid"] is False and saved["problems"], (status, saved)
    status, refused = api.call("POST", f"/v1/workspaces/{ws}/flows/{saved['id']}/versions", {})
    assert status == 422 and refused["error"]["code"] == "invalid_flow", (status, refused)
    assert refused["error"]["details"] == saved["problems"], (refused, saved["problems"])
    return json.dumps(saved["problems"])


def publish(api: Api, ws: str, definition: dict[str, Any], name: str = "flow") -> str:
    """Create and publish a flow; returns its id."""
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": name, "definition": definition})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {"description": "test"})
    return str(flow["id"])


def run(api: Api, ws: str, flow_id: str, run_input: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": run_input or {}, **extra})
    assert status == 202, started
    return api.wait_run(ws, started["id"])


@pytest.fixture(autouse=True)
def _moto_keeps_executing_state_machines() -> Iterator[None]:
    """The session's local stack needs moto to execute state machines. A nested `mock_aws()` without
    `config=MOTO_CONFIG` replaces moto's configuration and, nested, never restores it: every later run of
    the session would fail to start ('StateMachineVersion' object has no attribute 'start_execution')."""
    from moto.core.config import default_user_config
    from moto.core.models import MockAWS

    yield
    if MockAWS._nested_count > 0:  # the local stack's mock is active (moto's own default is not to execute)
        executes = default_user_config.get("stepfunctions", {}).get("execute_state_machine")
        assert executes is True, "a test started mock_aws() without config=MOTO_CONFIG: later runs cannot start"
