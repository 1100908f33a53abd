"""The LiteLLM adapter against a local OpenAI-compatible server: usage, JSON mode, tool calls, errors, and
the outbound guard on every connection it makes (trusted default endpoint, allow-lists, DNS pinning,
redirects, provider policy)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import litellm
import pytest

from nexod.adapters.llm_egress import guarded_call
from nexod.adapters.llm_litellm import LiteLLM
from nexod.runtime.egress import egress_scope
from nexod.runtime.errors import (
    BlockedDestinationError,
    LLMBadRequest,
    LLMProviderError,
    LLMRateLimited,
    LLMTimeout,
    NodeFailedError,
    NodeRetryableError,
)
from nexod.testing.stub_llm import OpenAIStub


@pytest.fixture
def llm(openai_stub: OpenAIStub) -> LiteLLM:
    return LiteLLM("openai/stub-model", openai_stub.base_url, "test-key")


def complete(llm: LiteLLM, prompt: str, **kwargs):
    args = {
        "model": "default",
        "system": None,
        "prompt": prompt,
        "temperature": 0.0,
        "max_tokens": None,
        "json_mode": False,
        "timeout": 10.0,
        **kwargs,
    }
    return llm.complete(**args)


def stub_port(stub: OpenAIStub) -> int:
    return stub.httpd.server_address[1]


def test_completion_reports_text_model_and_usage(llm: LiteLLM, openai_stub: OpenAIStub):
    result = complete(llm, "hello there", system="be kind", max_tokens=20)
    assert result.text == "echo: hello there"
    assert (result.tokens_in, result.tokens_out) == (4, 3)
    sent = openai_stub.requests[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "be kind"},
        {"role": "user", "content": "hello there"},
    ]
    assert sent["max_tokens"] == 20


def test_json_mode_asks_for_a_json_object(llm: LiteLLM, openai_stub: OpenAIStub):
    result = complete(llm, "give json", json_mode=True)
    assert openai_stub.requests[-1]["response_format"] == {"type": "json_object"}
    assert result.text == '{"echo": "give json", "words": 2}'


def test_tool_calls_are_returned(openai_stub: OpenAIStub):
    # LiteLLM used directly (as an agent would) still goes through the guard: inside a guarded call that
    # allows the stub's address it works...
    with guarded_call([f"127.0.0.1:{stub_port(openai_stub)}"], socket.getaddrinfo):
        response = litellm.completion(
            model="openai/stub-model",
            api_base=openai_stub.base_url,
            api_key="k",
            messages=[{"role": "user", "content": "weather in Oslo"}],
            tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            max_retries=0,
        )
    call = response.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and "Oslo" in call.function.arguments
    # ...and outside any call it is refused (fail closed), without reaching the stub
    before = len(openai_stub.requests)
    with pytest.raises((litellm.APIConnectionError, litellm.InternalServerError), match="Connection error"):
        litellm.completion(
            model="openai/stub-model",
            api_base=openai_stub.base_url,
            api_key="k",
            messages=[{"role": "user", "content": "x"}],
            max_retries=0,
        )
    assert len(openai_stub.requests) == before


def test_server_errors_are_retryable_and_auth_errors_are_not(llm: LiteLLM):
    with pytest.raises(NodeRetryableError, match="stub-model"):
        complete(llm, "FAIL500 please")
    with pytest.raises(NodeFailedError, match="bad key") as caught:
        complete(llm, "FAIL401 please")
    assert not isinstance(caught.value, NodeRetryableError)  # retrying a rejected key cannot help


def test_provider_errors_become_the_typed_errors_the_state_machine_retries(llm: LiteLLM):
    # Given the provider answers 500, 429 with Retry-After, 400 and 401
    # Then each is the typed error Step Functions matches by class name
    with pytest.raises(LLMProviderError, match="stub-model"):
        complete(llm, "FAIL500 please")
    with pytest.raises(LLMRateLimited) as limited:
        complete(llm, "FAIL429 please")
    assert limited.value.retry_after_seconds == 7.0  # the provider's Retry-After
    assert limited.value.details["retry_after_seconds"] == 7.0
    with pytest.raises(LLMBadRequest, match="bad request"):
        complete(llm, "FAIL400 please")
    with pytest.raises(LLMBadRequest, match="bad key"):
        complete(llm, "FAIL401 please")


def test_a_timeout_is_llm_timeout(openai_stub: OpenAIStub):
    # Given a server that accepts the connection and never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        base = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        llm = LiteLLM("openai/stub-model", base, "k")
        # When the call's timeout passes, Then it is an LLMTimeout (retryable), not a generic error
        with pytest.raises(LLMTimeout):
            complete(llm, "hello", timeout=0.5)
    finally:
        silent.close()


def test_unknown_provider_fails_clearly():
    llm = LiteLLM("openai/unused")
    with pytest.raises(NodeFailedError, match="provider/model"):
        complete(llm, "x", model="no-such-provider/model", timeout=5)


# -- the guard on LiteLLM's connections --------------------------------------------------------------


def test_only_the_default_model_may_use_the_operators_loopback_endpoint(
    monkeypatch, openai_stub: OpenAIStub, llm: LiteLLM
):
    # Given the same loopback server configured as a provider's base URL in the environment
    monkeypatch.setenv("OPENAI_API_BASE", openai_stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    before = len(openai_stub.requests)
    # When a flow names the model itself instead of "default" / Then the guard refuses, with no request
    with pytest.raises(BlockedDestinationError, match=r"127\.0\.0\.1.*loopback") as caught:
        complete(llm, "hi", model="openai/stub-model")
    assert len(openai_stub.requests) == before
    assert caught.value.details["provider"] == "openai" and caught.value.details["address"] == "127.0.0.1"
    assert "model 'openai/stub-model'" in caught.value.message
    # And a workspace that allow-lists the host reaches it
    with egress_scope("ask", [f"127.0.0.1:{stub_port(openai_stub)}"]):
        assert complete(llm, "hi", model="openai/stub-model").text == "echo: hi"


def test_the_node_allow_list_applies_and_the_connection_is_pinned(openai_stub: OpenAIStub):
    # Given a default endpoint named by a host only the injected resolver knows (system DNS would fail,
    # so a transport that re-resolved the name could not connect)
    lookups: list[str] = []

    def resolver(host, port, type=0):
        lookups.append(host)
        if host != "llm.test":
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    base = f"http://llm.test:{stub_port(openai_stub)}/v1"
    llm = LiteLLM("openai/stub-model", base, "k", resolver=resolver)
    # When the default model is called / Then it answers, after one lookup of the name
    assert complete(llm, "pinned").text == "echo: pinned"
    assert lookups == ["llm.test"]


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.send_response(307)
        self.send_header("Location", f"{self.target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def redirector(openai_stub: OpenAIStub) -> Iterator[str]:
    handler = type("Handler", (_Redirector,), {"target": f"http://127.0.0.1:{stub_port(openai_stub)}"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_redirect_from_the_trusted_endpoint_to_another_origin_is_checked(redirector: str, openai_stub: OpenAIStub):
    # Given the operator's endpoint redirecting to another loopback port (not trusted, not allow-listed)
    llm = LiteLLM("openai/stub-model", redirector, "k")
    before = len(openai_stub.requests)
    # Then the hop is refused and the other server sees nothing
    with pytest.raises(BlockedDestinationError, match=f"127.0.0.1:{stub_port(openai_stub)}"):
        complete(llm, "follow me")
    assert len(openai_stub.requests) == before


def test_providers_the_deployment_does_not_enable_are_refused_before_litellm_acts():
    # Given the default provider list
    llm = LiteLLM("openai/unused")
    for model in ("ollama/llama3", "llamafile/x", "github_copilot/gpt-4", "hosted_vllm/m", "bedrock/anthropic.x"):
        # When a flow names it / Then the error names the provider and how to enable it
        with pytest.raises(NodeFailedError, match="NEXOD_LLM_PROVIDERS") as caught:
            complete(llm, "x", model=model)
        assert caught.value.details["provider"] == model.split("/")[0]
        assert "openai" in caught.value.details["enabled"]


def test_a_bare_model_name_is_checked_against_the_provider_litellm_infers():
    llm = LiteLLM("openai/unused", providers=["anthropic"])
    with pytest.raises(NodeFailedError, match="LLM provider 'openai'"):
        complete(llm, "x", model="gpt-4o-mini")


@pytest.mark.parametrize("provider", ["bedrock", "sagemaker", "vertex_ai", "bedrock_mantle", "sagemaker_chat"])
def test_ambient_credential_providers_need_an_explicit_role(provider: str):
    # Given an operator who enabled the provider but mapped no role
    llm = LiteLLM("openai/unused", providers=[provider])
    with pytest.raises(NodeFailedError, match="NEXOD_LLM_PROVIDER_ROLES") as caught:
        complete(llm, "x", model=f"{provider}/some-model")
    assert "own cloud credentials" in caught.value.message


def test_the_role_an_operator_maps_is_what_an_aws_provider_uses():
    role = "arn:aws:iam::123456789012:role/nexod-bedrock"
    llm = LiteLLM("openai/unused", providers=["bedrock", "vertex_ai", "oci"], provider_roles={"bedrock": "bad"})
    with pytest.raises(NodeFailedError, match="must be an IAM role ARN"):
        llm._credentials("bedrock/x", "bedrock")
    llm.provider_roles = {"bedrock": role, "vertex_ai": "/etc/nexod/vertex.json", "oci": role}
    assert llm._credentials("bedrock/x", "bedrock") == {"aws_role_name": role, "aws_session_name": "nexod-llm-node"}
    assert llm._credentials("vertex_ai/x", "vertex_ai") == {"vertex_credentials": "/etc/nexod/vertex.json"}
    with pytest.raises(NodeFailedError, match="not supported"):
        llm._credentials("oci/x", "oci")
    assert llm._credentials("openai/x", "openai") == {}


def test_the_default_models_provider_needs_no_enabling(openai_stub: OpenAIStub):
    llm = LiteLLM("openai/stub-model", openai_stub.base_url, "k", providers=[])
    assert complete(llm, "still works").text == "echo: still works"
