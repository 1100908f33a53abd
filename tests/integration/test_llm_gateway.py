"""The LLM gateway: each workspace's llm nodes use that workspace's own provider key, from the vault."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from nexod.adapters.llm_litellm import LiteLLM
from nexod.adapters.postgres import Database
from nexod.adapters.postgres.rate_limits import PostgresRateLimiter
from nexod.local.boot import LocalStack
from nexod.runtime.egress import egress_scope
from nexod.runtime.errors import LLMBadRequest, LLMRateLimited
from nexod.runtime.llm_gateway import Call, LlmGateway, provider_of
from nexod.testing.stub_llm import OpenAIStub
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run, saved_but_unpublishable

KEY_A = "sk-gateway-a-0123456789abcdef"
KEY_B = "sk-gateway-b-fedcba9876543210"


def _workspace_with_key(alice: Api, stub: OpenAIStub, key: str) -> str:
    ws = str(alice.ok("POST", "/v1/workspaces", {"name": f"gw-{uuid.uuid4().hex[:6]}"})["id"])
    host = urlsplit(stub.base_url).netloc
    alice.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": [host]})
    value = {"provider": "openai", "key": key, "base_url": stub.base_url}
    alice.ok("POST", f"/v1/workspaces/{ws}/credentials", {"name": "openai", "type": "llm_provider", "value": value})
    return ws


def _ask(alice: Api, ws: str, prompt: str) -> dict[str, object]:
    return _ask_model(alice, ws, "openai/stub-model", prompt)


def _ask_model(alice: Api, ws: str, model: str, prompt: str) -> dict[str, object]:
    flow_id = publish(
        alice,
        ws,
        {
            "nodes": [node("start", "input"), node("ask", "llm", model=model, prompt=prompt)],
            "edges": [edge("start", "ask")],
        },
    )
    return run(alice, ws, flow_id)


def test_each_workspace_reaches_the_provider_with_its_own_key(alice: Api, openai_stub: OpenAIStub) -> None:
    # Given two workspaces, each with its own llm_provider credential for openai pointing at the test server
    first = _workspace_with_key(alice, openai_stub, KEY_A)
    second = _workspace_with_key(alice, openai_stub, KEY_B)
    # When each runs an llm node naming an openai model
    prompts = {first: f"from-first-{uuid.uuid4().hex[:6]}", second: f"from-second-{uuid.uuid4().hex[:6]}"}
    finished = {ws: _ask(alice, ws, prompt) for ws, prompt in prompts.items()}
    # Then both succeed, and the server received each workspace's request with that workspace's key
    for ws, done in finished.items():
        assert done["status"] == "SUCCEEDED", (done.get("error"), alice.nodes(ws, str(done["id"])))
    received = {}
    for request, authorization in zip(openai_stub.requests, openai_stub.authorizations, strict=True):
        said = request["messages"][-1]["content"]
        received[said] = authorization
    assert received[prompts[first]] == f"Bearer {KEY_A}"
    assert received[prompts[second]] == f"Bearer {KEY_B}"
    # And no key appears in what the API shows about the runs
    for ws, done in finished.items():
        shown = json.dumps(
            [done, alice.nodes(ws, str(done["id"])), alice.ok("GET", f"/v1/workspaces/{ws}/credentials")]
        )
        assert KEY_A not in shown and KEY_B not in shown
        assert alice.nodes(ws, str(done["id"]))["ask"]["output"]["text"] == f"echo: {prompts[ws]}"


def test_a_key_the_provider_echoes_in_an_error_is_scrubbed(alice: Api, openai_stub: OpenAIStub) -> None:
    # Given a workspace whose key the provider rejects
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    # When its llm node runs and the provider answers 401
    done = _ask(alice, ws, "FAIL401 please")
    # Then the node fails without retrying (a bad request), and the key the provider quoted is not in its error
    assert done["status"] == "FAILED"
    ask = alice.nodes(ws, str(done["id"]))["ask"]
    assert ask["attempts"] == 1
    assert "bad key: [redacted]" in ask["error"]["message"]
    assert openai_stub.authorizations[-1] == f"Bearer {KEY_A}"
    assert KEY_A not in json.dumps([done, ask])


def test_without_environment_keys_a_provider_without_a_credential_is_refused_before_any_call(
    alice: Api, stack: LocalStack, openai_stub: OpenAIStub
) -> None:
    # Given the gateway as AWS builds it (no environment keys), over the real store and vault
    services = stack.platform.services
    host = urlsplit(openai_stub.base_url).netloc
    gateway = LlmGateway(
        services.store,
        services.vault,
        lambda: LiteLLM("openai/gpt-4o-mini"),
        environment_keys=False,
        default_model="openai/gpt-4o-mini",
    )
    bare = str(alice.ok("POST", "/v1/workspaces", {"name": f"gw-{uuid.uuid4().hex[:6]}"})["id"])
    keyed = _workspace_with_key(alice, openai_stub, KEY_B)
    call = Call("openai/stub-model", None, "aws-mode hello", 0.0, None, False, 10.0)
    before = len(openai_stub.requests)
    # When a workspace without an llm_provider credential calls openai (or the default model)
    for model in ("openai/stub-model", "default", "stub-model"):
        with pytest.raises(LLMBadRequest) as refused:
            gateway.complete(bare, replace(call, model=model))
        # Then it is refused, naming what to configure, and nothing reaches any server
        assert "llm_provider" in refused.value.message or "provider/model" in refused.value.message
    assert len(openai_stub.requests) == before
    # And a workspace with one reaches the server with its key
    with egress_scope("ask", [host]):
        answer = gateway.complete(keyed, call)
    assert answer.text == "echo: aws-mode hello"
    assert openai_stub.authorizations[-1] == f"Bearer {KEY_B}"


def test_provider_of_reads_the_litellm_prefix_or_the_model_family() -> None:
    assert provider_of("openai/gpt-4o-mini") == "openai"
    assert provider_of("anthropic/claude-3-5-haiku") == "anthropic"
    assert provider_of("azure/my-deployment") == "azure"
    assert provider_of("gpt-4o") == "openai"
    assert provider_of("claude-3-opus") == "anthropic"
    assert provider_of("my-local-model") is None


def test_the_workspace_policy_decides_which_models_run_and_what_default_means(
    alice: Api, vera: Api, openai_stub: OpenAIStub
) -> None:
    # Given a workspace with an openai key that allows one model and makes it its default
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    settings = {
        "allowed_models": ["openai/stub-model"],
        "default_model": "openai/stub-model",
        "requests_per_minute": None,
        "tokens_per_minute": None,
    }
    assert alice.ok("PUT", f"/v1/workspaces/{ws}/llm-settings", settings) == {**settings, "providers": ["openai"]}
    # And a viewer may read it but not change it
    alice.ok("PUT", f"/v1/workspaces/{ws}/members/local|vera", {"role": "viewer"})
    assert vera.ok("GET", f"/v1/workspaces/{ws}/llm-settings")["allowed_models"] == ["openai/stub-model"]
    assert vera.call("PUT", f"/v1/workspaces/{ws}/llm-settings", settings)[0] == 403
    # When a node names another model
    refused = _ask_model(alice, ws, "openai/other-model", "not allowed")
    # Then it fails once, naming the model and the allowed list
    assert refused["status"] == "FAILED"
    ask = alice.nodes(ws, str(refused["id"]))["ask"]
    assert ask["attempts"] == 1
    message = ask["error"]["message"]
    assert "'openai/other-model' is not allowed" in message and "openai/stub-model" in message
    # When a node says "default", Then the workspace's default model answers, with the workspace's key
    prompt = f"by-default-{uuid.uuid4().hex[:6]}"
    done = _ask_model(alice, ws, "default", prompt)
    assert done["status"] == "SUCCEEDED", alice.nodes(ws, str(done["id"]))
    assert openai_stub.requests[-1]["model"] == "stub-model"
    assert openai_stub.requests[-1]["messages"][-1]["content"] == prompt
    assert openai_stub.authorizations[-1] == f"Bearer {KEY_A}"
    # And the change is in the audit log
    entries = alice.ok("GET", f"/v1/workspaces/{ws}/audit?action=workspace.llm_settings")["items"]
    assert entries[0]["details"]["allowed_models"] == {"from": [], "to": ["openai/stub-model"]}


def test_llm_settings_refuse_a_default_outside_the_allowed_models(alice: Api, workspace: str) -> None:
    body = {
        "allowed_models": ["openai/a"],
        "default_model": "openai/b",
        "requests_per_minute": None,
        "tokens_per_minute": None,
    }
    status, answer = alice.call("PUT", f"/v1/workspaces/{workspace}/llm-settings", body)
    assert status == 422
    assert "openai/b" in json.dumps(answer)


def _run_llm(
    alice: Api, ws: str, retry: dict[str, object] | None = None, **config: object
) -> tuple[dict[str, object], dict[str, object]]:
    ask = node("ask", "llm", **config)
    if retry is not None:
        ask["retry"] = retry
    flow_id = publish(alice, ws, {"nodes": [node("start", "input"), ask], "edges": [edge("start", "ask")]})
    done = run(alice, ws, flow_id)
    return done, alice.nodes(ws, str(done["id"]))["ask"]


def test_fallback_models_are_tried_in_order_on_provider_errors(alice: Api, openai_stub: OpenAIStub) -> None:
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    # Given a node whose model fails at the provider (HTTP 500) and a fallback that works
    done, ask = _run_llm(
        alice, ws, model="openai/broken-fail500", fallback_models=["openai/stub-model"], prompt="fall back"
    )
    # Then the node succeeds with the fallback, and both attempts are in its output
    assert done["status"] == "SUCCEEDED", ask
    attempts = ask["output"]["attempts"]
    assert [a["model"] for a in attempts] == ["openai/broken-fail500", "openai/stub-model"]
    assert "InternalServerError" in attempts[0]["error"] and attempts[1]["error"] is None
    assert ask["output"]["text"] == "echo: fall back"
    assert ask["attempts"] == 1  # one Task attempt: the fallback happened inside it


def test_a_non_retryable_error_does_not_fall_back(alice: Api, openai_stub: OpenAIStub) -> None:
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    before = len(openai_stub.requests)
    done, ask = _run_llm(alice, ws, model="openai/stub-model", fallback_models=["openai/other"], prompt="FAIL400")
    assert done["status"] == "FAILED"
    assert ask["attempts"] == 1
    assert [r["model"] for r in openai_stub.requests[before:]] == ["stub-model"]


SCHEMA = {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}}


def test_output_schema_parses_a_valid_answer_and_repairs_an_invalid_one_once(
    alice: Api, openai_stub: OpenAIStub
) -> None:
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    # Given a node with an output schema whose first answer is not JSON
    before = len(openai_stub.requests)
    done, ask = _run_llm(alice, ws, model="openai/stub-model", output_schema=SCHEMA, prompt="REPAIRABLE question")
    # Then one repair prompt follows, naming the problem, and the repaired answer is output.json
    assert done["status"] == "SUCCEEDED", ask
    assert ask["output"]["json"] == {"answer": "fixed"}
    sent = openai_stub.requests[before:]
    assert len(sent) == 2
    assert "JSON Schema" in sent[0]["messages"][0]["content"]  # the schema is in the system prompt
    assert "not JSON" in sent[1]["messages"][-1]["content"]
    assert sent[0]["response_format"] == {"type": "json_object"}


def test_an_answer_that_stays_invalid_is_a_retryable_error(alice: Api, openai_stub: OpenAIStub) -> None:
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    # Given a node whose answers never match (the server answers {"echo", "words"})
    done, ask = _run_llm(
        alice,
        ws,
        model="openai/stub-model",
        output_schema=SCHEMA,
        prompt="plain",
        retry={"max_attempts": 1, "interval_seconds": 1},
    )
    # Then it fails after the repair prompt, retried by the state machine, naming what does not match
    assert done["status"] == "FAILED"
    assert ask["attempts"] == 2
    assert "does not match config.output_schema" in ask["error"]["message"]
    assert "'answer' is a required property" in ask["error"]["message"]


def test_an_invalid_output_schema_is_a_draft_problem_and_refused_at_publish(alice: Api, workspace: str) -> None:
    definition = {
        "nodes": [node("start", "input"), node("ask", "llm", prompt="x", output_schema={"type": "no-such-type"})],
        "edges": [edge("start", "ask")],
    }
    problems = saved_but_unpublishable(alice, workspace, definition, "bad")
    assert "not a valid JSON Schema" in problems and '"node": "ask"' in problems


def _fan_out_at_five_a_minute(
    alice: Api, stub: OpenAIStub, width: int, timeout: float = 60.0
) -> tuple[dict[str, object], dict[str, dict[str, object]], float, list[str], str]:
    """A workspace allowing 5 LLM requests per minute runs `width` llm nodes in parallel; returns the
    finished run, its nodes, the seconds it took, the node ids and the tag their prompts carry."""
    ws = _workspace_with_key(alice, stub, KEY_A)
    settings = {"allowed_models": [], "default_model": None, "requests_per_minute": 5, "tokens_per_minute": None}
    alice.ok("PUT", f"/v1/workspaces/{ws}/llm-settings", settings)
    asks = [f"ask{i}" for i in range(width)]
    tag = uuid.uuid4().hex[:6]
    definition = {
        "nodes": [
            node("start", "input"),
            *(node(a, "llm", model="openai/stub-model", prompt=f"{tag} {a}") for a in asks),
        ],
        "edges": [edge("start", a) for a in asks],
    }
    flow_id = publish(alice, ws, definition)
    started = time.monotonic()
    status, begun = alice.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": {}})
    assert status == 202, begun
    done = alice.wait_run(ws, begun["id"], timeout=timeout)
    elapsed = time.monotonic() - started
    return done, alice.nodes(ws, str(done["id"])), elapsed, asks, tag


def _sent_once(stub: OpenAIStub, tag: str, asks: list[str]) -> None:
    """Each node's call reached the server exactly once (a refused call never reached it)."""
    sent = [r["messages"][-1]["content"] for r in stub.requests if r["messages"][-1]["content"].startswith(tag)]
    assert sorted(sent) == sorted(f"{tag} {a}" for a in asks)


def test_over_the_request_limit_llm_nodes_wait_and_all_finish(alice: Api, openai_stub: OpenAIStub) -> None:
    # Given a workspace allowing 5 LLM requests per minute and a flow of 6 llm nodes in parallel (one more
    # than the minute allows: each further one adds 12 s)
    # When it runs
    done, nodes, elapsed, asks, tag = _fan_out_at_five_a_minute(alice, openai_stub, 6)
    # Then every node finishes; the one beyond the minute's allowance waited (an attempt per wait), once the
    # limit's spacing (60 s / 5 = 12 s) had passed
    assert done["status"] == "SUCCEEDED", (done.get("error"), nodes)
    assert all(nodes[a]["status"] == "SUCCEEDED" for a in asks)
    waited = sorted(nodes[a]["attempts"] for a in asks)
    assert waited[:5] == [1, 1, 1, 1, 1] and all(n > 1 for n in waited[5:]), waited
    assert elapsed >= 12, elapsed
    # And the server saw each node's call exactly once
    _sent_once(openai_stub, tag, asks)


def test_tokens_are_reserved_by_estimate_and_settled_with_the_provider_count(
    alice: Api, stack: LocalStack, openai_stub: OpenAIStub
) -> None:
    # Given a workspace allowing 100 tokens per minute and the gateway over the real store and rate limiter
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    settings = {"allowed_models": [], "default_model": None, "requests_per_minute": None, "tokens_per_minute": 100}
    alice.ok("PUT", f"/v1/workspaces/{ws}/llm-settings", settings)
    services = stack.platform.services
    gateway = LlmGateway(
        services.store,
        services.vault,
        lambda: LiteLLM("openai/gpt-4o-mini"),
        environment_keys=True,
        default_model="openai/gpt-4o-mini",
        limiter=PostgresRateLimiter(Database(stack.platform.postgres.app_url, max_size=2)),
    )
    call = Call("openai/stub-model", None, "count me", 0.0, 90, False, 10.0)
    host = urlsplit(openai_stub.base_url).netloc
    with egress_scope("ask", [host]):
        # When two calls each reserve about 92 tokens (prompt/4 + max_tokens) but use about 6
        gateway.complete(ws, call)
        gateway.complete(ws, call)  # Then the second is granted: the first's unused estimate was given back
        before = len(openai_stub.requests)
        # When a call needs more than the minute has left
        with pytest.raises(LLMRateLimited) as limited:
            gateway.complete(ws, replace(call, max_tokens=500))
    # Then it is told to wait, by the workspace's tokens limit, and nothing reached the server
    assert limited.value.details["source"] == "workspace"
    assert limited.value.details["limit"] == "tokens_per_minute"
    assert 0 < limited.value.retry_after_seconds <= 60
    assert len(openai_stub.requests) == before
    assert json.loads(str(limited.value))["wait_seconds"] >= 1  # what the state machine's Wait reads


def test_default_is_refused_when_the_allowed_models_leave_out_the_deployment_default(
    alice: Api, stack: LocalStack, openai_stub: OpenAIStub
) -> None:
    # Given a workspace that allows one model and sets no default of its own
    ws = _workspace_with_key(alice, openai_stub, KEY_A)
    settings = {"allowed_models": ["openai/stub-model"], "default_model": None}
    alice.ok(
        "PUT", f"/v1/workspaces/{ws}/llm-settings", {**settings, "requests_per_minute": None, "tokens_per_minute": None}
    )
    services = stack.platform.services
    gateway = LlmGateway(
        services.store,
        services.vault,
        lambda: LiteLLM("openai/gpt-4o-mini"),
        environment_keys=True,
        default_model="openai/gpt-4o-mini",
    )
    # When a node asks for "default", Then it is refused, naming the deployment's default and the allowed list
    with pytest.raises(LLMBadRequest) as refused:
        gateway.complete(ws, Call("default", None, "hi", 0.0, None, False, 10.0))
    assert "openai/gpt-4o-mini" in refused.value.message and "allowed: openai/stub-model" in refused.value.message


@pytest.mark.timeout(600)
def test_twenty_concurrent_llm_nodes_at_five_a_minute_all_finish_spread_over_the_minutes(
    alice: Api, openai_stub: OpenAIStub
) -> None:
    # Given a workspace allowing 5 LLM requests per minute and a flow of 20 llm nodes in parallel
    # (the acceptance case: it takes the three minutes the limit requires, (20 - 5) x 12 s)
    # When it runs
    done, nodes, elapsed, asks, tag = _fan_out_at_five_a_minute(alice, openai_stub, 20, timeout=500)
    # Then every node succeeds, the first five at once and the others after waiting, each wait an attempt
    assert done["status"] == "SUCCEEDED", (done.get("error"), nodes)
    attempts = sorted(nodes[a]["attempts"] for a in asks)
    assert attempts[:5] == [1] * 5 and all(n > 1 for n in attempts[5:]), attempts
    # And the calls were spread over the minutes the limit requires: 15 beyond the burst, 12 s apart
    assert elapsed >= 15 * 12 - 2, elapsed
    finished = sorted(nodes[a]["finished_at"] for a in asks)
    assert finished[0] != finished[-1]
    # And each node's call reached the server exactly once
    _sent_once(openai_stub, tag, asks)
