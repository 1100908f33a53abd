"""The composition roots hand the deployment's LLM provider policy to the adapter they build."""

from __future__ import annotations

import pytest

from nexod.runtime.errors import NodeFailedError
from nexod.settings import Settings
from nexod.wiring import llm_from_settings


def ask(llm, model: str):
    return llm.complete(model=model, system=None, prompt="hi", temperature=0, max_tokens=5, json_mode=False, timeout=2)


def test_the_node_runner_llm_refuses_a_provider_the_deployment_did_not_enable():
    # Given a deployment that enables only Anthropic
    llm = llm_from_settings(Settings(mode="aws", llm_providers=["anthropic"]))
    # When a flow names an OpenAI model / Then it is refused before any call, naming the provider
    with pytest.raises(NodeFailedError, match="provider 'openai'"):
        ask(llm, "openai/gpt-4o-mini")


def test_a_provider_that_signs_with_the_runner_role_is_refused_without_an_operator_role():
    # Given a deployment that enables bedrock but maps no role for it
    llm = llm_from_settings(Settings(mode="aws", llm_providers=["bedrock"]))
    # When a flow names a bedrock model / Then it is refused (it would act with the node runner's IAM role)
    with pytest.raises(NodeFailedError, match="bedrock"):
        ask(llm, "bedrock/anthropic.claude-3-haiku-20240307-v1:0")
