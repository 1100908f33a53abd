"""The agent runner, run as a subprocess exactly as local mode starts it, against the real broker of the
local stack (capability token, the LLM gateway with the workspace's key, the vault, the outbound guard) and a
scripted OpenAI-compatible server: real CrewAI crews, offline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from nexod.adapters.agent_tasks_memory import MemoryAgentTaskBoard
from nexod.adapters.launcher_local import SubprocessLauncher, agents_python
from nexod.local.boot import LocalStack
from nexod.ports.agents import TaskScope
from nexod.services.broker import Broker, start_agent_task
from tests.support.api import Api
from tests.support.scripted_llm import Hang, _Server, conversation, facts_endpoint, scripted_openai

LLM_KEY = "sk-agents-provider-key-0123456789"
API_TOKEN = "facts-api-token-secret-9876"
MODEL = "openai/scripted-model"
FACT = "FACT-42-the-answer"


def system_of(request: dict[str, Any]) -> str:
    return str(request["messages"][0]["content"]) if request.get("messages") else ""


@pytest.fixture(scope="module", autouse=True)
def agents_venv() -> None:
    """The runner needs crewai: the agents venv `make agents-venv` builds (never the main venv)."""
    python = agents_python()
    if subprocess.run([python, "-c", "import crewai"], capture_output=True, check=False).returncode != 0:
        pytest.fail(f"{python} cannot import crewai: run `make agents-venv` (it creates .venv-agents)")


@pytest.fixture(scope="module", autouse=True)
def memory_board(stack: LocalStack) -> Iterator[MemoryAgentTaskBoard]:
    """These tests drive the runner directly, with tasks of no run: the broker serves them from a board in
    memory (the flows' board, in Postgres, is tested in test_agent_nodes.py)."""
    broker = stack.platform.broker
    assert broker is not None
    kept, broker.board = broker.board, MemoryAgentTaskBoard()
    yield broker.board
    broker.board = kept


@pytest.fixture(scope="module")
def facts() -> Iterator[_Server]:
    with facts_endpoint({"fact": FACT}) as server:
        yield server


def agents_workspace(alice: Api, llm: _Server, facts: _Server) -> str:
    """A workspace whose openai key points at the scripted server, with an API credential for the http tool."""
    ws = str(alice.ok("POST", "/v1/workspaces", {"name": f"agents-{uuid.uuid4().hex[:6]}"})["id"])
    alice.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": [llm.hostport, facts.hostport]})
    value = {"provider": "openai", "key": LLM_KEY, "base_url": llm.origin + "/v1"}
    alice.ok("POST", f"/v1/workspaces/{ws}/credentials", {"name": "openai", "type": "llm_provider", "value": value})
    alice.ok(
        "POST",
        f"/v1/workspaces/{ws}/credentials",
        {"name": "facts-api", "type": "bearer", "value": {"token": API_TOKEN}},
    )
    return ws


def broker_of(stack: LocalStack) -> tuple[Broker, MemoryAgentTaskBoard]:
    broker = stack.platform.broker
    assert broker is not None and isinstance(broker.board, MemoryAgentTaskBoard)
    return broker, broker.board


def launch(stack: LocalStack, ws: str, task: dict[str, Any], tmp_path: Any) -> tuple[TaskScope, SubprocessLauncher]:
    broker, board = broker_of(stack)
    scope = TaskScope(ws, f"run-{uuid.uuid4().hex[:8]}", "crew", 0, 1)
    launcher = SubprocessLauncher(log_dir=tmp_path)
    start_agent_task(board, broker.tokens, launcher, stack.url, scope, task)
    return scope, launcher


def finished(stack: LocalStack, scope: TaskScope, tmp_path: Any, timeout: float = 180) -> dict[str, Any]:
    _, board = broker_of(stack)
    result = board.wait_result(scope, timeout)
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("runner-*.log"))
    assert result is not None, f"the runner reported nothing in {timeout} s; its log:\n{logs}"
    return result


def agent(role: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": role.lower(),
        "role": role,
        "goal": f"Do the {role.lower()}'s job well",
        "backstory": f"A careful {role.lower()}.",
        "model": MODEL,
        "max_iterations": 5,
        **extra,
    }


def test_a_sequential_crew_researches_with_a_credentialed_http_call_and_writes(
    stack: LocalStack, alice: Api, facts: _Server, tmp_path: Any
) -> None:
    # Given a scripted model: the researcher calls the http tool once, then answers with what it found;
    # the writer turns the research into an article
    def script(request: dict[str, Any]) -> str:
        text = conversation(request)
        if "You are Researcher" in system_of(request):
            if FACT not in text:
                return (
                    "Thought: I should look the fact up.\nAction: http\n"
                    f'Action Input: {{"url": "{facts.origin}/facts", "method": "GET"}}'
                )
            return f"Thought: I now know the final answer\nFinal Answer: The fact is {FACT}."
        return f"Thought: I now can give a great answer\nFinal Answer: ARTICLE: everyone should know {FACT}."

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        task = {
            "agents": {
                "researcher": agent("Researcher", tools=[{"name": "http", "config": {"credential": "facts-api"}}]),
                "writer": agent("Writer"),
            },
            "tasks": [
                {"id": "research", "agent": "researcher", "description": "Find the fact.", "expected_output": "A fact"},
                {
                    "id": "write",
                    "agent": "writer",
                    "description": "Write an article about the research.",
                    "expected_output": "An article",
                    "context": ["research"],
                },
            ],
            "process": "sequential",
            "heartbeat_seconds": 1,
        }
        # When local mode's launcher starts the runner for this task
        scope, launcher = launch(stack, ws, task, tmp_path)
        result = finished(stack, scope, tmp_path)
    # Then the crew succeeded with each task's output and the writer's article as the final answer
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["tasks"]["research"] == f"The fact is {FACT}."
    assert result["output"]["final"] == result["output"]["tasks"]["write"]
    assert FACT in result["output"]["tasks"]["write"]
    # And the endpoint got exactly one call, with the credential the broker applied from the vault
    assert [r["path"] for r in facts.requests[-1:]] == ["/facts"]
    assert facts.requests[-1]["headers"]["Authorization"] == f"Bearer {API_TOKEN}"
    # And every model call reached the provider with the workspace's key, through the gateway
    assert {r["model"] for r in llm.requests} == {"scripted-model"}
    assert len(llm.requests) == 3
    # And usage is per agent and per call, from the broker's own record
    usage = result["usage"]
    assert [c["agent"] for c in usage["calls"]] == ["researcher", "researcher", "writer"]
    assert usage["agents"]["researcher"]["calls"] == 2 and usage["agents"]["writer"]["calls"] == 1
    assert usage["tokens_in"] == sum(c["tokens_in"] for c in usage["calls"]) > 0
    # And progress shows the thought, the tool call with its arguments and result, and the final answers
    _, board = broker_of(stack)
    state = board.get(scope)
    assert state is not None
    kinds = [e["type"] for e in state.events]
    assert "tool_call" in kinds and "final_answer" in kinds and "thought" in kinds
    tool_call = next(e for e in state.events if e["type"] == "tool_call")
    assert tool_call["tool"] == "http" and f"{facts.origin}/facts" in tool_call["args"] and FACT in tool_call["result"]
    # And it heartbeated, and neither the provider key nor the credential ever reached the runner
    assert state.heartbeats
    (process,) = launcher.processes.values()
    assert process.wait(30) == 0
    seen = json.dumps([state.events, result]) + "".join(p.read_text() for p in tmp_path.glob("runner-*.log"))
    assert LLM_KEY not in seen and API_TOKEN not in seen


def test_a_hierarchical_crew_has_its_manager_delegate_through_the_broker(
    stack: LocalStack, alice: Api, facts: _Server, tmp_path: Any
) -> None:
    # Given a scripted manager that delegates the task to the analyst once, then answers with its result
    def script(request: dict[str, Any]) -> str:
        system, text = system_of(request), conversation(request)
        if "You are Crew Manager" in system:
            if "ANALYSIS-7" not in text:
                return (
                    "Thought: The analyst should do this.\nAction: Delegate work to coworker\n"
                    'Action Input: {"task": "Analyse the numbers", "context": "Q3 numbers", "coworker": "Analyst"}'
                )
            return "Thought: I now know the final answer\nFinal Answer: REPORT based on ANALYSIS-7"
        return "Thought: I now can give a great answer\nFinal Answer: ANALYSIS-7: growth is steady"

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        task = {
            "agents": {"analyst": agent("Analyst")},
            "tasks": [{"id": "report", "description": "Report on Q3.", "expected_output": "A report"}],
            "process": "hierarchical",
            "manager_model": MODEL,
            "heartbeat_seconds": 1,
        }
        # When the runner runs it
        scope, _ = launch(stack, ws, task, tmp_path)
        result = finished(stack, scope, tmp_path)
    # Then the manager's answer is the output, and both the manager's and the analyst's calls went through
    # the broker, each under its own name
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["final"] == "REPORT based on ANALYSIS-7"
    agents = [c["agent"] for c in result["usage"]["calls"]]
    assert agents == ["__manager__", "analyst", "__manager__"]


def test_a_final_answer_is_repaired_once_to_match_the_output_schema(
    stack: LocalStack, alice: Api, facts: _Server, tmp_path: Any
) -> None:
    # Given an agent whose answers must match a schema, and a model that first answers prose, then (asked to
    # repair it) JSON that matches
    schema = {
        "type": "object",
        "required": ["title", "score"],
        "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
        "additionalProperties": False,
    }

    def script(request: dict[str, Any]) -> str:
        if "matches a JSON Schema" in system_of(request):
            return '```json\n{"title": "Q3", "score": 7}\n```'
        return "Thought: I now can give a great answer\nFinal Answer: The title is Q3 and the score is seven."

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        task = {
            "agents": {"rater": agent("Rater", output_schema=schema)},
            "tasks": [{"id": "rate", "agent": "rater", "description": "Rate Q3.", "expected_output": "A rating"}],
            "heartbeat_seconds": 1,
        }
        scope, _ = launch(stack, ws, task, tmp_path)
        result = finished(stack, scope, tmp_path)
    # Then the task's output is the repaired JSON, after exactly one repair call
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["tasks"]["rate"] == {"title": "Q3", "score": 7}
    assert len(result["usage"]["calls"]) == 2


def test_an_answer_that_cannot_be_repaired_fails_with_a_typed_error(
    stack: LocalStack, alice: Api, facts: _Server, tmp_path: Any
) -> None:
    # Given a model that never produces the JSON the schema asks for
    def script(request: dict[str, Any]) -> str:
        return "Thought: I now can give a great answer\nFinal Answer: no JSON here, sorry"

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        task = {
            "agents": {"rater": agent("Rater", output_schema={"type": "object", "required": ["score"]})},
            "tasks": [{"id": "rate", "agent": "rater", "description": "Rate Q3.", "expected_output": "A rating"}],
        }
        scope, _ = launch(stack, ws, task, tmp_path)
        result = finished(stack, scope, tmp_path)
    # Then the node's failure says the output did not match its schema
    assert result["status"] == "FAILED"
    assert result["error"]["type"] == "OutputSchemaMismatch"
    assert "rater" in result["error"]["message"]


def test_a_killed_runner_stops_heartbeating(stack: LocalStack, alice: Api, facts: _Server, tmp_path: Any) -> None:
    # Given a runner whose model never answers, heartbeating every second
    def script(request: dict[str, Any]) -> str:
        raise Hang

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        task = {
            "agents": {"slow": agent("Slow")},
            "tasks": [{"id": "wait", "agent": "slow", "description": "Wait.", "expected_output": "Nothing"}],
            "heartbeat_seconds": 1,
        }
        scope, launcher = launch(stack, ws, task, tmp_path)
        _, board = broker_of(stack)
        deadline = time.monotonic() + 90
        while not llm.requests and time.monotonic() < deadline:  # the runner is inside its first LLM call
            time.sleep(0.2)
        assert llm.requests, "the runner never called the model"
        state = board.get(scope)
        assert state is not None
        beats = len(state.heartbeats)
        time.sleep(2.5)
        assert len(state.heartbeats) > beats, "the runner does not heartbeat while it waits for the model"
        # When the runner is killed mid-task
        (process,) = launcher.processes.values()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        killed_at = time.time()
        time.sleep(3)
    # Then the broker hears no heartbeat after the kill and no result: the node's HeartbeatSeconds will fire
    assert not [t for t in state.heartbeats if t > killed_at]
    assert state.result is None


def _call(url: str, method: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_over_http_a_token_reaches_its_own_task_only_and_is_no_user_credential(
    stack: LocalStack, alice: Api, facts: _Server
) -> None:
    # Given two launched tasks in two workspaces of different owners
    broker, board = broker_of(stack)
    first = alice.ok("POST", "/v1/workspaces", {"name": f"one-{uuid.uuid4().hex[:6]}"})["id"]
    second = alice.ok("POST", "/v1/workspaces", {"name": f"two-{uuid.uuid4().hex[:6]}"})["id"]
    scope_a = TaskScope(str(first), "run-a", "crew", 0, 1)
    scope_b = TaskScope(str(second), "run-b", "crew", 0, 1)
    board.put(scope_a, {"agents": {}, "tasks": [], "inputs": {"secret": "inputs of A"}})
    board.put(scope_b, {"agents": {}, "tasks": [], "inputs": {"secret": "inputs of B"}})
    token_a, token_b = broker.tokens.mint(scope_a), broker.tokens.mint(scope_b)
    # When each token fetches its task over the API's broker surface
    # Then each sees its own inputs only
    assert _call(f"{stack.url}/v1/broker/task", "GET", token_a) == (200, board.get(scope_a).task)  # type: ignore[union-attr]
    status, body = _call(f"{stack.url}/v1/broker/task", "GET", token_b)
    assert status == 200 and body["inputs"]["secret"] == "inputs of B"
    # And a token with B's claims under A's signature, a user's JWT, and no token are all 401
    prefix, _, mac_a = token_a.split(".")
    forged = f"{prefix}.{token_b.split('.')[1]}.{mac_a}"
    for token in (forged, alice.token, None):
        status, body = _call(f"{stack.url}/v1/broker/task", "GET", token)
        assert status == 401, body
        assert "inputs of" not in json.dumps(body)
    # And a capability token opens no user route of its own workspace
    status, _ = _call(f"{stack.url}/v1/workspaces/{first}/credentials", "GET", token_a)
    assert status == 401
    # And a runner cannot record anything on another task: its heartbeat lands on its own task only
    assert _call(f"{stack.url}/v1/broker/heartbeat", "POST", token_a, {})[0] == 200
    assert board.get(scope_a).heartbeats and not board.get(scope_b).heartbeats  # type: ignore[union-attr]
