"""The agent broker's capability tokens and scoping: a token reaches its one task and nothing else."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from nexod.adapters.agent_tasks_memory import MemoryAgentTaskBoard
from nexod.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from nexod.ports import Completion
from nexod.ports.agents import TaskScope
from nexod.runtime.errors import BudgetExceeded, LLMProviderError
from nexod.runtime.llm_gateway import Call
from nexod.services.broker import Broker, BrokerError, CapabilityTokens, flatten

KEY = b"k" * 32
A = TaskScope("ws-a", "run-1", "crew", 0, 1)
B = TaskScope("ws-b", "run-2", "crew", 0, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Gateway:
    """Answers each call with the model it was asked for; models named in `failing` raise."""

    def __init__(self, failing: dict[str, Exception] | None = None) -> None:
        self.calls: list[tuple[str, Call]] = []
        self.failing = failing or {}

    def complete(self, workspace_id: str, call: Call) -> Completion:
        self.calls.append((workspace_id, call))
        if call.model in self.failing:
            raise self.failing[call.model]
        return Completion(text=f"answer from {call.model}", model=call.model, tokens_in=3, tokens_out=2, cost_usd=0.5)


def task(secret: str, **agent: Any) -> dict[str, Any]:
    spec = {"role": "R", "goal": "G", "model": "openai/m1", "tools": [{"name": "calculator", "config": {}}], **agent}
    return {"agents": {"r": spec}, "tasks": [{"id": "t", "agent": "r", "description": secret}]}


def world(gateway: Gateway | None = None) -> tuple[Broker, MemoryAgentTaskBoard, CapabilityTokens, Clock]:
    clock = Clock()
    tokens = CapabilityTokens(KEY, clock)
    board = MemoryAgentTaskBoard()
    board.put(A, task("inputs of A"))
    board.put(B, task("inputs of B"))
    return Broker(tokens, board, gateway or Gateway(), clock=clock), board, tokens, clock


def test_a_token_reads_its_own_task_and_only_that() -> None:
    # Given tasks of two workspaces
    broker, _, tokens, _ = world()
    # When each token fetches its task
    # Then each gets its own inputs, never the other's
    assert broker.task(tokens.mint(A))["tasks"][0]["description"] == "inputs of A"
    assert broker.task(tokens.mint(B))["tasks"][0]["description"] == "inputs of B"


def _forged(token: str, **claims: Any) -> str:
    prefix, body, mac = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    decoded.update(claims)
    body = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{prefix}.{body}.{mac}"


@pytest.mark.parametrize(
    "claims",
    [{"ws": "ws-b"}, {"run": "run-2"}, {"node": "other"}, {"it": 1}, {"att": 2}, {"exp": 9_999_999_999}],
)
def test_a_token_whose_claims_were_changed_is_refused(claims: dict[str, Any]) -> None:
    # Given A's token with one claim rewritten (another workspace, run, node, iteration, attempt or a later expiry)
    broker, _, tokens, _ = world()
    forged = _forged(tokens.mint(A), **claims)
    # When it is used, Then the broker refuses it before reading anything
    with pytest.raises(Unauthorized, match="signature"):
        broker.task(forged)


def test_tokens_of_another_key_expired_tokens_and_no_token_are_refused() -> None:
    broker, _, tokens, clock = world()
    other = CapabilityTokens(b"x" * 32, clock).mint(A)
    with pytest.raises(Unauthorized, match="signature"):
        broker.task(other)
    token = tokens.mint(A, ttl_seconds=60)
    clock.now += 61
    with pytest.raises(Unauthorized, match="expired"):
        broker.task(token)
    for bad in (None, "", "Bearer x", "nxc1.abc", "jwt.a.b"):
        with pytest.raises(Unauthorized):
            broker.task(bad)


def test_a_token_for_a_task_that_was_never_launched_finds_nothing() -> None:
    broker, _, tokens, _ = world()
    with pytest.raises(NotFound):
        broker.task(tokens.mint(TaskScope("ws-a", "run-1", "crew", 0, 2)))  # the next attempt: not launched


def test_llm_calls_use_the_agents_model_with_fallbacks_and_are_recorded_per_agent() -> None:
    # Given an agent whose model fails with a retryable error and a fallback that answers
    gateway = Gateway({"openai/m1": LLMProviderError("down")})
    broker, board, tokens, _ = world(gateway)
    board.put(A, task("x", fallback_models=["openai/m2"], temperature=0.2))
    token = tokens.mint(A)
    # When the runner asks for a completion, naming a model of its own in the body
    answer = broker.llm(
        token, {"agent": "r", "model": "openai/expensive", "messages": [{"role": "user", "content": "hi"}]}
    )
    # Then the spec's model then its fallback were called, in A's workspace, and the answer is the fallback's
    assert [(ws, c.model) for ws, c in gateway.calls] == [("ws-a", "openai/m1"), ("ws-a", "openai/m2")]
    assert gateway.calls[0][1].temperature == 0.2
    assert answer["text"] == "answer from openai/m2"
    # And the result's usage is the broker's record, not what the runner claims
    broker.finish(token, {"output": {"final": "done"}, "usage": {"cost_usd": 0}})
    state = board.get(A)
    assert state is not None and state.result is not None
    assert state.result["usage"]["agents"]["r"] == {"calls": 1, "tokens_in": 3, "tokens_out": 2, "cost_usd": 0.5}


def test_a_budget_refusal_reaches_the_runner_typed() -> None:
    broker, _, tokens, _ = world(Gateway({"openai/m1": BudgetExceeded("the monthly budget is spent")}))
    with pytest.raises(BrokerError) as refused:
        broker.llm(tokens.mint(A), {"agent": "r", "messages": [{"role": "user", "content": "hi"}]})
    assert (refused.value.status, refused.value.type) == (402, "BudgetExceeded")


def test_an_agent_the_task_does_not_have_or_a_tool_it_was_not_given_is_refused() -> None:
    broker, _, tokens, _ = world()
    token = tokens.mint(A)
    with pytest.raises(InvalidInput, match="agent"):
        broker.llm(token, {"agent": "intruder", "messages": [{"role": "user", "content": "hi"}]})
    with pytest.raises(InvalidInput, match="no tool 'http'"):
        broker.tool(token, "http", {"agent": "r", "args": {"url": "http://example.com"}})


def test_a_finished_task_accepts_nothing_more() -> None:
    broker, _, tokens, _ = world()
    token = tokens.mint(A)
    broker.finish(token, {"error": {"type": "AgentError", "message": "boom"}})
    for call in (
        lambda: broker.heartbeat(token),
        lambda: broker.finish(token, {"output": 1}),
        lambda: broker.task(token),
    ):
        with pytest.raises(Conflict):
            call()


def test_heartbeats_and_events_are_recorded_on_the_tokens_task_only() -> None:
    broker, board, tokens, clock = world()
    broker.heartbeat(tokens.mint(A))
    broker.events(tokens.mint(A), {"events": [{"type": "thought", "agent": "r", "thought": "x" * 5000}]})
    a, b = board.get(A), board.get(B)
    assert a is not None and b is not None
    assert a.heartbeats == [clock.now] and not b.heartbeats and not b.events
    assert len(a.events[0]["thought"]) < 2100  # clipped
    with pytest.raises(InvalidInput):
        broker.events(tokens.mint(A), {"events": "not a list"})


def test_a_conversation_becomes_the_gateways_system_and_prompt() -> None:
    assert flatten([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]) == ("S", "U")
    system, prompt = flatten(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}]
    )
    assert system == "S" and prompt == "User: U\n\nAssistant: A"


def test_the_key_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CapabilityTokens(b"short")


class BlockingOutbound:
    def request(self, method: str, url: str, **_: Any) -> Any:
        from nexod.runtime.errors import BlockedDestinationError

        raise BlockedDestinationError(f"{url}: loopback addresses are refused")


def test_a_tool_error_is_the_tools_answer_not_a_failed_request() -> None:
    # Given an agent with a web_fetch tool and a destination the outbound guard refuses
    broker, board, tokens, _ = world()
    broker.outbound = BlockingOutbound
    board.put(A, task("x", tools=[{"name": "web_fetch", "config": {}}]))
    # When the runner calls the tool
    answer = broker.tool(tokens.mint(A), "web_fetch", {"agent": "r", "args": {"url": "http://127.0.0.1/"}})
    # Then the refusal is the tool's answer, typed, for the model to read
    assert answer == {
        "error": {"type": "BlockedDestinationError", "message": "http://127.0.0.1/: loopback addresses are refused"}
    }


def test_knowledge_search_and_run_flow_answer_not_available_where_not_wired() -> None:
    broker, board, tokens, _ = world()
    board.put(
        A,
        task(
            "x",
            tools=[
                {"name": "knowledge_search", "config": {"knowledge_bases": ["kb"]}},
                {"name": "run_flow", "config": {}},
            ],
        ),
    )
    for name in ("knowledge_search", "run_flow"):
        answer = broker.tool(tokens.mint(A), name, {"agent": "r", "args": {"query": "q"}})
        assert "not available" in answer["error"]["message"]


def test_the_calculator_evaluates_arithmetic_and_nothing_else() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ecs_tasks"))
    try:
        from agent_runner.calc import calculate
    finally:
        sys.path.pop(0)
    assert calculate("(3 + 4) * 2 ** 3 / sqrt(16)") == 14.0
    for hostile in ("__import__('os').system('id')", "open('/etc/passwd')", "2 ** 1000", "x" * 501):
        with pytest.raises(ValueError):
            calculate(hostile)


class Knowledge:
    def __init__(self) -> None:
        self.searches: list[tuple[str, str, str, int]] = []

    def search(self, workspace_id: str, knowledge_base: str, text: str, top_k: int) -> list[dict[str, Any]]:
        self.searches.append((workspace_id, knowledge_base, text, top_k))
        return [{"text": "chunk", "score": 0.9}]


def test_knowledge_search_reaches_only_the_knowledge_bases_of_the_agent_spec_in_the_tokens_workspace() -> None:
    # Given an agent that may search "handbook", behind a wired KnowledgeSearch port
    broker, board, tokens, _ = world()
    broker.knowledge = knowledge = Knowledge()
    board.put(A, task("x", knowledge_bases=["handbook"], tools=[{"name": "knowledge_search", "config": {}}]))
    token = tokens.mint(A)
    # When the runner searches it, and then another knowledge base
    found = broker.tool(token, "knowledge_search", {"agent": "r", "args": {"query": "leave policy", "top_k": 3}})
    refused = broker.tool(
        token, "knowledge_search", {"agent": "r", "args": {"query": "q", "knowledge_base": "payroll"}}
    )
    # Then the first searched A's handbook, and the second was answered with the allowed list, unsearched
    assert found == {"result": [{"text": "chunk", "score": 0.9}]}
    assert knowledge.searches == [("ws-a", "handbook", "leave policy", 3)]
    assert refused == {"result": {"error": "knowledge_base: one of ['handbook']"}}
