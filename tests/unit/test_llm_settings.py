"""The operator's LLM provider settings: safe defaults, JSON from the environment."""

from __future__ import annotations

from nexod.settings import DEFAULT_LLM_PROVIDERS, Settings


def test_by_default_only_hosted_api_providers_are_enabled_and_no_role_is_mapped(monkeypatch):
    monkeypatch.delenv("NEXOD_LLM_PROVIDERS", raising=False)
    monkeypatch.delenv("NEXOD_LLM_PROVIDER_ROLES", raising=False)
    settings = Settings()
    assert settings.llm_providers == list(DEFAULT_LLM_PROVIDERS)
    assert settings.llm_provider_roles == {}
    loopback_or_ambient = {"ollama", "ollama_chat", "llamafile", "lm_studio", "hosted_vllm", "bedrock", "vertex_ai"}
    assert not loopback_or_ambient & set(settings.llm_providers)


def test_operators_set_providers_and_roles_as_json(monkeypatch):
    monkeypatch.setenv("NEXOD_LLM_PROVIDERS", '["openai", "bedrock"]')
    monkeypatch.setenv("NEXOD_LLM_PROVIDER_ROLES", '{"bedrock": "arn:aws:iam::123456789012:role/nexod-bedrock"}')
    settings = Settings()
    assert settings.llm_providers == ["openai", "bedrock"]
    assert settings.llm_provider_roles == {"bedrock": "arn:aws:iam::123456789012:role/nexod-bedrock"}
