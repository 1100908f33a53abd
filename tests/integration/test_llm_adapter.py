"""The LiteLLM adapter against a local OpenAI-compatible server: usage, JSON mode, tool calls, errors."""

from __future__ import annotations

import litellm
import pytest

from nexod.adapters.llm_litellm import LiteLLM
from nexod.local.stub_llm import OpenAIStub
from nexod.runtime.errors import NodeFailedError, NodeRetryableError


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
    response = litellm.completion(
        model="openai/stub-model",
        api_base=openai_stub.base_url,
        api_key="k",
        messages=[{"role": "user", "content": "weather in Oslo"}],
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    )
    call = response.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and "Oslo" in call.function.arguments


def test_server_errors_are_retryable_and_auth_errors_are_not(llm: LiteLLM):
    with pytest.raises(NodeRetryableError, match="stub-model"):
        complete(llm, "FAIL500 please")
    with pytest.raises(NodeFailedError, match="bad key") as caught:
        complete(llm, "FAIL401 please")
    assert not isinstance(caught.value, NodeRetryableError)  # retrying a rejected key cannot help


def test_unknown_provider_fails_clearly():
    llm = LiteLLM("openai/unused")
    with pytest.raises(NodeFailedError):
        llm.complete(
            model="no-such-provider/model",
            system=None,
            prompt="x",
            temperature=0,
            max_tokens=None,
            json_mode=False,
            timeout=5,
        )
