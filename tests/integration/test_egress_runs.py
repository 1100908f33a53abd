"""Egress through whole runs: credentials stay with their origin and are stored redacted, and an llm node
naming a provider the deployment does not enable fails clearly, naming the node and field."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.api import Api
from tests.support.recording_server import Recorder, serving
from tests.unit.flows import edge, node

from .conftest import publish, run

SECRET = "sk-e2e-0123456789abcdef"
COOKIE = "sid=cookie-0123456789abcdef"
QUERY_KEY = "qk-0123456789abcdef"


@pytest.fixture
def origins(alice: Api, workspace: str) -> Iterator[tuple[Recorder, Recorder]]:
    with serving(name="first") as first, serving(name="second") as second:
        first.redirect_to = second.origin
        hosts = {"allowed_hosts": [first.hostport, second.hostport]}
        alice.ok("PUT", f"/v1/workspaces/{workspace}/allowed-hosts", hosts)
        yield first, second


def test_credentials_do_not_follow_a_redirect_and_are_stored_redacted(
    alice: Api, workspace: str, origins: tuple[Recorder, Recorder]
):
    first, second = origins
    credentials = {"Authorization": f"Bearer {SECRET}", "Cookie": COOKIE, "X-Trace": "trace-1"}
    # Given a flow whose http node sends credentials to an allow-listed host that redirects elsewhere,
    # and another that calls an API reflecting the credentials it received
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [
                node("start", "input"),
                node(
                    "call",
                    "http",
                    url=f"{first.origin}/away/302",
                    headers=credentials,
                    query={"api_key": QUERY_KEY, "page": "1"},
                ),
                node("echo", "http", url=f"{first.origin}/echo-headers", headers=credentials),
            ],
            "edges": [edge("start", "call"), edge("call", "echo")],
        },
    )
    # When it runs
    finished = run(alice, workspace, flow_id)
    assert finished["status"] == "SUCCEEDED", (finished.get("error"), alice.nodes(workspace, finished["id"]))
    # Then the redirect target received none of the credentials, the first origin all of them
    assert first.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    landed = second.requests[0]["headers"]
    assert "Authorization" not in landed and "Cookie" not in landed and landed["X-Trace"] == "trace-1"
    # And the stored node inputs and outputs show them redacted, everything else as sent
    nodes = alice.nodes(workspace, finished["id"])
    recorded = nodes["call"]["input"]
    assert recorded["headers"] == {"Authorization": "[redacted]", "Cookie": "[redacted]", "X-Trace": "trace-1"}
    assert recorded["query"] == {"api_key": "[redacted]", "page": "1"}
    echo = nodes["echo"]["output"]
    assert echo["headers"]["set-cookie"] == "[redacted]"
    assert echo["body"]["received"]["Authorization"] == "[redacted]"
    assert nodes["call"]["output"]["url"] == f"{second.origin}/landed"
    stored = json.dumps([nodes, finished])
    assert SECRET not in stored and QUERY_KEY not in stored and "cookie-0123456789" not in stored


def test_a_failed_http_node_records_its_error_without_the_credentials(
    alice: Api, workspace: str, origins: tuple[Recorder, Recorder]
):
    first, _ = origins
    # Given an API that answers 401 and reflects the request's headers in its error body
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [
                node("start", "input"),
                node("call", "http", url=f"{first.origin}/echo-headers/401", headers={"X-Api-Key": SECRET}),
            ],
            "edges": [edge("start", "call")],
        },
    )
    finished = run(alice, workspace, flow_id)
    # Then the node fails, and neither its error nor the run's carries the key
    assert finished["status"] == "FAILED"
    call = alice.nodes(workspace, finished["id"])["call"]
    assert call["error"]["details"]["body"]["received"]["X-Api-Key"] == "[redacted]"
    assert call["input"]["headers"] == {"X-Api-Key": "[redacted]"}
    assert SECRET not in json.dumps([call, finished])


def test_an_llm_node_naming_a_provider_the_deployment_does_not_enable_fails_clearly(alice: Api, workspace: str):
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [node("start", "input"), node("ask", "llm", model="ollama/llama3", prompt="hi")],
            "edges": [edge("start", "ask")],
        },
    )
    finished = run(alice, workspace, flow_id)
    assert finished["status"] == "FAILED"
    ask = alice.nodes(workspace, finished["id"])["ask"]
    assert ask["attempts"] == 1  # not retried: retrying cannot help
    assert ask["error"]["message"].startswith("node 'ask' config.model: model 'ollama/llama3' uses the LLM provider")
    assert "NEXOD_LLM_PROVIDERS" in ask["error"]["message"]
