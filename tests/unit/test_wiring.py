"""The composition roots hand the deployment's LLM provider policy to the adapter they build, and share one
node-runner builder."""

from __future__ import annotations

import pytest

from nexod.adapters.outbound_http import GuardedHttp
from nexod.adapters.postgres import PostgresStore
from nexod.domain.nodes import Runtime
from nexod.runtime.errors import NodeFailedError
from nexod.settings import Settings
from nexod.wiring import build_node_runner, llm_from_settings, runner_arns


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


class NoStore:
    """The node runner only keeps the store until a node runs: nothing here runs one."""


def test_the_llm_runner_builds_the_llm_it_is_given_once_on_first_use():
    # Given a composition root with its own model client (local mode's offline model)
    built = []

    def offline():
        built.append(object())
        return built[-1]

    runner = build_node_runner(Settings(mode="local"), NoStore(), offline, runtime=Runtime.LLM)
    # When no LLM node has run yet / Then nothing was built (litellm stays off the cold path)
    assert built == []
    # When LLM nodes ask for the model twice / Then the same client, built once and metered, answers both
    assert runner.tools.llm() is runner.tools.llm()
    assert runner.tools.llm().inner is built[0]
    assert len(built) == 1


def test_the_llm_runner_defaults_to_the_deployment_s_postgres_litellm_and_guarded_http():
    # Given the Lambda's settings (no connection is opened until a node runs)
    settings = Settings(mode="aws", database_url="postgresql://nexod@127.0.0.1:9/nexod", llm_providers=["anthropic"])
    # When the LLM runner is built from settings alone
    runner = build_node_runner(settings, runtime=Runtime.LLM)
    # Then it uses the Postgres store, guarded outbound HTTP and the policy-bound LiteLLM
    assert runner.tools.runtime is Runtime.LLM
    assert isinstance(runner.store, PostgresStore)
    assert isinstance(runner.tools.outbound(), GuardedHttp)
    assert runner.tools.llm is not None
    with pytest.raises(NodeFailedError, match="provider 'openai'"):
        ask(runner.tools.llm(), "openai/gpt-4o-mini")


def test_the_core_runner_has_the_store_and_guarded_http_and_no_model_client():
    # Given the Lambda's settings
    settings = Settings(mode="aws", database_url="postgresql://nexod@127.0.0.1:9/nexod")
    # When the core runner is built from them
    runner = build_node_runner(settings, runtime=Runtime.CORE)
    # Then it has the Postgres store and guarded HTTP, and no model client at all
    assert runner.tools.runtime is Runtime.CORE
    assert isinstance(runner.store, PostgresStore)
    assert isinstance(runner.tools.outbound(), GuardedHttp)
    assert runner.tools.llm is None


@pytest.mark.parametrize(
    ("runtime", "llm", "problem"),
    [
        (Runtime.CORE, lambda: object(), "'core' runner carries no model client"),
        (Runtime.SANDBOX, None, "runtime 'sandbox' has no node-runner function"),
    ],
)
def test_a_runner_is_built_only_for_a_runner_runtime_and_a_model_only_for_llm(runtime, llm, problem):
    # Given a composition root asking for a runner that cannot exist
    # When it is built / Then it is refused, saying why
    with pytest.raises(ValueError, match=problem):
        build_node_runner(Settings(mode="local"), NoStore(), llm, runtime=runtime)


def test_each_runner_runtime_has_its_function_arn_from_the_settings():
    # Given a deployment's settings naming both runner functions
    settings = Settings(
        node_runner_arn="arn:aws:lambda:eu-west-1:1:function:core",
        llm_runner_arn="arn:aws:lambda:eu-west-1:1:function:llm",
    )
    # When the API builds what it substitutes at publish / Then each runtime maps to its own function
    assert runner_arns(settings) == {
        Runtime.CORE: "arn:aws:lambda:eu-west-1:1:function:core",
        Runtime.LLM: "arn:aws:lambda:eu-west-1:1:function:llm",
    }
