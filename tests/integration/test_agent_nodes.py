"""Agent and crew nodes in flows, end to end in local mode: the launcher parks the node and starts the real
agent runner (CrewAI, the agents venv) as a subprocess holding only the broker's URL and a capability token;
the runner's model calls go through the broker to a scripted OpenAI-compatible server with the workspace's
key; its result completes the node through the callback completions."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from functions.steps import agent_launcher
from nexod.adapters.launcher_local import SubprocessLauncher
from nexod.local.boot import LocalStack
from nexod.ports.agents import TaskScope
from tests.support.api import Api
from tests.support.scripted_llm import _Server, conversation, facts_endpoint, scripted_openai
from tests.unit.flows import edge, node

from .conftest import publish, saved_but_unpublishable
from .test_agent_runner import API_TOKEN, FACT, LLM_KEY, agents_venv, agents_workspace, system_of  # noqa: F401

MODEL = "openai/scripted-model"


@pytest.fixture(scope="module")
def facts() -> Any:
    with facts_endpoint({"fact": FACT}) as server:
        yield server


def spec(role: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"{role} {uuid.uuid4().hex[:6]}",
        "role": role,
        "goal": f"Do the {role.lower()}'s job well",
        "backstory": f"A careful {role.lower()}.",
        "model": MODEL,
        "max_iterations": 5,
        **extra,
    }


def published_agent(api: Api, ws: str, body: dict[str, Any], versions: int = 1) -> str:
    agent = api.ok("POST", f"/v1/workspaces/{ws}/agents", {"spec": body})
    for n in range(versions):
        if n:
            api.ok(
                "PUT",
                f"/v1/workspaces/{ws}/agents/{agent['id']}",
                {"spec": {**body, "goal": f"{body['goal']} (v{n + 1})"}},
            )
        api.ok("POST", f"/v1/workspaces/{ws}/agents/{agent['id']}/versions", {"description": f"v{n + 1}"})
    return str(agent["id"])


def launcher() -> SubprocessLauncher:
    tools = agent_launcher.runner().tools
    assert tools.agents is not None and isinstance(tools.agents.launcher, SubprocessLauncher)
    return tools.agents.launcher


def start(api: Api, ws: str, flow_id: str, run_input: Any) -> str:
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": run_input})
    assert status == 202, started
    return str(started["id"])


def events(api: Api, ws: str, run_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = f"?after={cursor}" if cursor else ""
        page = api.ok("GET", f"/v1/workspaces/{ws}/runs/{run_id}/events{query}")
        found += page["items"]
        if not page["items"]:
            return found
        cursor = page["items"][-1]["cursor"]


def runner_logs(stack: LocalStack) -> str:
    folder = stack.platform.settings.blob_dir and os.path.dirname(stack.platform.settings.blob_dir)
    where = os.path.join(folder or ".", "logs", "agents")
    logs = sorted(os.scandir(where), key=lambda p: p.stat().st_mtime) if os.path.isdir(where) else []
    return "\n".join(open(p.path, errors="replace").read()[-2000:] for p in logs[-3:])


def test_a_flow_runs_a_sequential_crew_with_a_credentialed_tool_and_records_each_agent(
    stack: LocalStack, alice: Api, facts: _Server
) -> None:
    # Given a scripted model: the researcher calls the http tool once, then answers; the writer writes
    def script(request: dict[str, Any]) -> str:
        text = conversation(request)
        if "You are Researcher" in system_of(request):
            if FACT not in text:
                return (
                    "Thought: I should look the fact up.\nAction: http\n"
                    f'Action Input: {{"url": "{facts.origin}/facts", "method": "GET"}}'
                )
            return f"Thought: I now know the final answer\nFinal Answer: The fact is {FACT}."
        return f"Thought: I now can give a great answer\nFinal Answer: ARTICLE on {FACT}."

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        # And two published agents: the researcher at v2 live (the flow pins v1), the writer live
        researcher = published_agent(
            alice, ws, spec("Researcher", tools=[{"name": "http", "config": {"credential": "facts-api"}}]), versions=2
        )
        writer = published_agent(alice, ws, spec("Writer"))
        crew = node(
            "crew",
            "crew",
            agents=[
                {"key": "researcher", "agent": researcher, "version": 1},
                {"key": "writer", "agent": writer, "version": "live"},
            ],
            tasks=[
                {
                    "id": "research",
                    "agent": "researcher",
                    "description": "Find the fact about {{ input.topic }}.",
                    "expected_output": "A fact",
                },
                {
                    "id": "write",
                    "agent": "writer",
                    "description": "Write an article about the research.",
                    "expected_output": "An article",
                    "context": ["research"],
                },
            ],
            heartbeat_seconds=10,
        )
        definition = {
            "nodes": [node("start", "input"), crew, node("end", "output", value="{{ nodes.crew.output.tasks.write }}")],
            "edges": [edge("start", "crew"), edge("crew", "end")],
        }
        flow_id = publish(alice, ws, definition, name="crew flow")
        # When the flow runs
        run_id = start(alice, ws, flow_id, {"topic": "answers"})
        finished = alice.wait_run(ws, run_id, timeout=240)
    # Then the run succeeded with the writer's article, downstream of the crew node
    assert finished["status"] == "SUCCEEDED", (finished, runner_logs(stack))
    assert finished["output"] == f"ARTICLE on {FACT}."
    crew_run = alice.nodes(ws, run_id)["crew"]
    assert crew_run["output"]["tasks"]["research"] == f"The fact is {FACT}."
    assert crew_run["output"]["final"] == crew_run["output"]["tasks"]["write"]
    # And the rendered task reached the model, and the credential was applied by the broker
    assert any("Find the fact about answers." in conversation(r) for r in llm.requests)
    assert facts.requests[-1]["headers"]["Authorization"] == f"Bearer {API_TOKEN}"
    # And the node's usage is per agent (from the broker's record) and its tokens and cost are the node run's
    agents = crew_run["output"]["usage"]["agents"]
    assert agents["researcher"]["calls"] == 2 and agents["writer"]["calls"] == 1
    calls = crew_run["output"]["usage"]["calls"]  # and per call, in order
    assert [c["agent"] for c in calls] == ["researcher", "researcher", "writer"]
    assert sum(c["tokens_in"] for c in calls) == crew_run["output"]["usage"]["tokens_in"]
    assert crew_run["tokens_in"] == sum(a["tokens_in"] for a in agents.values()) > 0
    # And each agent's runs name the version that ran: the pinned v1 and the writer's live v1
    researcher_runs = alice.ok("GET", f"/v1/workspaces/{ws}/agents/{researcher}/runs")["items"]
    assert [(r["run_id"], r["node_id"], r["agent_version"]) for r in researcher_runs] == [(run_id, "crew", 1)]
    assert researcher_runs[0]["tokens_in"] == agents["researcher"]["tokens_in"]
    listed = {a["id"]: a for a in alice.ok("GET", f"/v1/workspaces/{ws}/agents")["items"]}
    assert listed[writer]["usage"]["runs"] == 1 and listed[writer]["usage"]["tokens"] > 0
    # And the run's event stream shows the agents' steps live: the tool call with its result, the answers
    steps = [e for e in events(alice, ws, run_id) if e["type"] == "agent.step"]
    kinds = [e["data"]["step"] for e in steps]
    assert "tool_call" in kinds and kinds.count("final_answer") >= 2, kinds
    assert all(e["node_id"] == "crew" for e in steps)
    # And neither the provider key nor the credential reached the runner or the recorded run
    seen = json.dumps([steps, crew_run]) + runner_logs(stack)
    assert LLM_KEY not in seen and API_TOKEN not in seen


def test_a_killed_agent_runner_times_out_by_heartbeat_and_the_retry_succeeds(
    stack: LocalStack, alice: Api, facts: _Server
) -> None:
    # Given a model that hangs on the first runner's call and answers the second's
    calls: list[str] = []

    def script(request: dict[str, Any]) -> str:
        calls.append("call")
        if len(calls) == 1:
            time.sleep(120)  # the first runner is killed meanwhile
        return "Thought: I now can give a great answer\nFinal Answer: done on the retry"

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        solo = published_agent(alice, ws, spec("Solo"))
        definition = {
            "nodes": [
                node("start", "input"),
                node("solo", "agent", agent=solo, task="Do it.", heartbeat_seconds=10),
            ],
            "edges": [edge("start", "solo")],
        }
        flow_id = publish(alice, ws, definition, name="retry flow")
        run_id = start(alice, ws, flow_id, {})
        # When the runner is killed inside its first model call
        deadline = time.monotonic() + 120
        while not calls and time.monotonic() < deadline:
            time.sleep(0.2)
        assert calls, runner_logs(stack)
        pids = [pid for pid, p in launcher().processes.items() if p.poll() is None]
        for pid in pids:
            os.killpg(int(pid), signal.SIGKILL)
        # Then the node times out by heartbeat, is retried on a new runner, and the run succeeds
        finished = alice.wait_run(ws, run_id, timeout=240)
    assert finished["status"] == "SUCCEEDED", (finished, runner_logs(stack))
    solo_run = alice.nodes(ws, run_id)["solo"]
    assert solo_run["output"]["final"] == "done on the retry"
    assert solo_run["attempts"] >= 2
    # And the first runner's token no longer opens anything: its claim is not the parked one any more
    stale = stack.platform.broker.tokens.mint(TaskScope(ws, run_id, "solo", 0, 1))  # type: ignore[union-attr]
    request = urllib.request.Request(
        f"{stack.url}/v1/broker/heartbeat", method="POST", data=b"{}", headers={"Authorization": f"Bearer {stale}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 409


def test_an_agent_searches_a_knowledge_base_and_runs_a_sub_flow_through_the_broker(
    stack: LocalStack, alice: Api, facts: _Server
) -> None:
    doc = {"name": "cats.txt", "content": "Cats purr when they are content. The secret number is 21."}
    doubles = {  # a flow that answers `{"doubled": [n, n]}`: the sub-flow's output the agent reads
        "nodes": [node("start", "input"), node("end", "transform", expression="{doubled: [input.n, input.n]}")],
        "edges": [edge("start", "end")],
    }
    doubler: list[str] = []

    # Given a scripted agent that searches, then runs a doubler flow on what it found, then answers
    def script(request: dict[str, Any]) -> str:
        text = conversation(request)
        if "secret number is 21" not in text:
            return 'Thought: look it up.\nAction: knowledge_search\nAction Input: {"query": "the secret number"}'
        if '"doubled": [21, 21]' not in text:
            flow = doubler[0]
            return f'Thought: double it.\nAction: run_flow\nAction Input: {{"flow": "{flow}", "input": {{"n": 21}}}}'
        return "Thought: I now know the final answer\nFinal Answer: 42"

    with scripted_openai(script) as llm:
        # And a knowledge base (offline embeddings) with a document, and a flow that doubles a number
        ws_llm = agents_workspace(alice, llm, facts)
        kb = alice.ok("POST", f"/v1/workspaces/{ws_llm}/knowledge-bases", {"name": "handbook"})["id"]
        alice.ok("POST", f"/v1/workspaces/{ws_llm}/knowledge-bases/{kb}/documents", doc)
        doubler.append(publish(alice, ws_llm, doubles, name="doubler"))
        run_flow = {"name": "run_flow", "config": {"flow": doubler[0], "max_depth": 1}}
        tools = [{"name": "knowledge_search", "config": {}}, run_flow]
        clerk = published_agent(alice, ws_llm, spec("Clerk", tools=tools, knowledge_bases=[kb]))
        definition = {
            "nodes": [node("start", "input"), node("clerk", "agent", agent=clerk, task="Double the secret number.")],
            "edges": [edge("start", "clerk")],
        }
        flow_id = publish(alice, ws_llm, definition, name="clerk flow")
        # When the flow runs
        run_id = start(alice, ws_llm, flow_id, {})
        finished = alice.wait_run(ws_llm, run_id, timeout=240)
    # Then the agent found the chunk, ran the doubler as a sub-flow and answered
    assert finished["status"] == "SUCCEEDED", (finished, runner_logs(stack))
    assert alice.nodes(ws_llm, run_id)["clerk"]["output"]["final"] == "42"
    children = [
        r
        for r in alice.ok("GET", f"/v1/workspaces/{ws_llm}/runs?flow={doubler[0]}")["items"]
        if r["started_by"] == {"kind": "system", "id": f"run_flow:{run_id}:clerk"}
    ]
    assert len(children) == 1 and children[0]["status"] == "SUCCEEDED" and children[0]["trigger"] == "agent"
    # And the tool calls are in the run's events with their results
    steps = [e["data"] for e in events(alice, ws_llm, run_id) if e["type"] == "agent.step"]
    called = {s.get("tool"): s.get("result", "") for s in steps if s.get("step") == "tool_call"}
    assert "secret number is 21" in called["knowledge_search"] and '"doubled": [21, 21]' in called["run_flow"]


@pytest.mark.parametrize(("memory", "recalled"), [("long_term", True), ("run", False)])
def test_an_agent_with_memory_recalls_earlier_runs_only_when_long_term(
    stack: LocalStack, alice: Api, facts: _Server, memory: str, recalled: bool
) -> None:
    # Given an agent with memory, and a model that answers with a code word the first time it is asked
    prompts: list[str] = []

    def script(request: dict[str, Any]) -> str:
        prompts.append(conversation(request))
        word = "PLUM-7731" if len(prompts) == 1 else "no new word"
        return f"Thought: I now can give a great answer\nFinal Answer: The code word is {word}."

    with scripted_openai(script) as llm:
        ws = agents_workspace(alice, llm, facts)
        keeper = published_agent(alice, ws, spec("Keeper", memory=memory))
        definition = {
            "nodes": [node("start", "input"), node("k", "agent", agent=keeper, task="Tell me the code word.")],
            "edges": [edge("start", "k")],
        }
        flow_id = publish(alice, ws, definition, name=f"memory {memory}")
        # When the flow runs twice
        first = alice.wait_run(ws, start(alice, ws, flow_id, {}), timeout=240)
        second = alice.wait_run(ws, start(alice, ws, flow_id, {}), timeout=240)
    assert first["status"] == second["status"] == "SUCCEEDED", runner_logs(stack)
    # Then the second run's prompt carries the first run's answer only with long-term memory
    assert ("PLUM-7731" in prompts[-1]) is recalled, prompts[-1]
    # And the memories are readable in the agent's memory knowledge base, one per run
    bases = {b["name"]: b for b in alice.ok("GET", f"/v1/workspaces/{ws}/knowledge-bases")["items"]}
    kb = bases[f"agent-memory-{keeper}"]
    docs = alice.ok("GET", f"/v1/workspaces/{ws}/knowledge-bases/{kb['id']}/documents")["items"]
    assert sorted(d["metadata"]["run"] for d in docs) == sorted([first["id"], second["id"]])


def test_an_agent_node_naming_an_agent_without_a_version_fails_clearly(
    stack: LocalStack, alice: Api, facts: _Server
) -> None:
    # Given an agent that was never published, and one that does not exist
    with scripted_openai(lambda r: "Final Answer: x") as llm:
        ws = agents_workspace(alice, llm, facts)
    draft = alice.ok("POST", f"/v1/workspaces/{ws}/agents", {"spec": spec("Draft")})["id"]
    for agent_id, expected in ((draft, "has no published version"), (str(uuid.uuid4()), "does not exist")):
        definition = {
            "nodes": [node("start", "input"), node("a", "agent", agent=agent_id, task="Do it.")],
            "edges": [edge("start", "a")],
        }
        flow_id = publish(alice, ws, definition, name=f"bad {expected}")
        # When the flow runs
        finished = alice.wait_run(ws, start(alice, ws, flow_id, {}), timeout=60)
        # Then the run fails, and the node's error names the node, the field and why
        assert finished["status"] == "FAILED"
        error = alice.nodes(ws, finished["id"])["a"]["error"]
        assert "node 'a' config.agent" in error["message"] and expected in error["message"], error


def test_a_crew_config_that_names_no_member_saves_with_its_problem_and_is_refused_at_publish(
    alice: Api, workspace: str
) -> None:
    # Given a crew whose task names an agent key that is not a member
    crew = node(
        "c",
        "crew",
        agents=[{"key": "writer", "agent": str(uuid.uuid4())}],
        tasks=[{"id": "t", "agent": "editor", "description": "Edit."}],
    )
    definition = {"nodes": [node("start", "input"), crew], "edges": [edge("start", "c")]}
    # When it is saved / Then the draft names the problem on the node, and publishing it is a 422 naming it
    problems = saved_but_unpublishable(alice, workspace, definition, "bad crew")
    assert "'editor' is not a member" in problems and '"node": "c"' in problems
