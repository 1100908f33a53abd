"""The runner: fetch the task from the broker, heartbeat, run the crew, report progress and the result."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from typing import Any

from .client import BrokerClient, BrokerRefused

DEFAULT_HEARTBEAT_SECONDS = 10.0
EVENT_CHARS = 2_000


class AgentFailure(Exception):
    """A failure with a type the node reports (Step Functions matches it in Retry/Catch)."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(f"{type_}: {message}")
        self.type = type_
        self.message = message


def log(message: str) -> None:
    sys.stderr.write(f"agent_runner: {message}\n")
    sys.stderr.flush()


class Heartbeat(threading.Thread):
    """Tells the broker every `interval` seconds that this runner is alive (SendTaskHeartbeat behind it)."""

    def __init__(self, client: BrokerClient, interval: float) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.client = client
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.client.heartbeat()
            except Exception as exc:  # a missed beat is the broker's to notice; keep trying
                log(f"heartbeat failed: {exc}")
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


class Progress:
    """Posts each step (thought, tool call, final answer) to the broker; never fails the run."""

    def __init__(self, client: BrokerClient) -> None:
        self.client = client
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        shown = {k: _clip(v) for k, v in event.items()}
        with self.lock:
            try:
                self.client.events([shown])
            except Exception as exc:
                log(f"progress event not recorded: {exc}")


def _clip(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        text = value if isinstance(value, str) else None
    else:
        text = json.dumps(value, default=str)
    if text is None:
        return value
    return text if len(text) <= EVENT_CHARS else text[:EVENT_CHARS] + "…"


def parse_json(text: str) -> Any:
    """The JSON in a final answer (a fenced block or the outermost object/array)."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    candidate = fenced.group(1) if fenced else text
    try:
        return json.loads(candidate)
    except ValueError:
        start = min((i for i in (candidate.find("{"), candidate.find("[")) if i >= 0), default=-1)
        if start < 0:
            raise
        end = max(candidate.rfind("}"), candidate.rfind("]"))
        return json.loads(candidate[start : end + 1])


def conform(client: BrokerClient, agent: str, text: str, schema: dict[str, Any]) -> Any:
    """The final answer as JSON matching `schema`, after at most one repair request to the model."""
    import jsonschema

    def problems(answer: str) -> tuple[Any, list[str]]:
        try:
            value = parse_json(answer)
        except ValueError as exc:
            return None, [f"not JSON: {exc}"]
        found = [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(value)
        ]
        return value, found[:10]

    value, found = problems(text)
    if not found:
        return value
    repair = [
        {"role": "system", "content": "You correct JSON so that it matches a JSON Schema. Answer with the JSON only."},
        {
            "role": "user",
            "content": f"JSON Schema:\n{json.dumps(schema)}\n\nAnswer to correct:\n{text}\n\nProblems:\n"
            + "\n".join(found),
        },
    ]
    repaired = str(client.llm(agent, repair, 0.0).get("text") or "")
    value, again = problems(repaired)
    if again:
        raise AgentFailure(
            "OutputSchemaMismatch",
            f"agent '{agent}': the final answer does not match its output schema after one repair: {'; '.join(again)}",
        )
    return value


def run_crew(task: dict[str, Any], client: BrokerClient, progress: Progress, refusals: list[BrokerRefused]) -> Any:
    from crewai import Agent, Crew, Process, Task

    from .llm import BrokerLLM
    from .tools import build_tools

    specs: dict[str, dict[str, Any]] = task.get("agents") or {}
    task_specs: list[dict[str, Any]] = task.get("tasks") or []
    if not specs or not task_specs:
        raise AgentFailure("InvalidAgentTask", "the task names no agents or no tasks")
    hierarchical = task.get("process") == "hierarchical"

    def stepper(name: str) -> Any:
        def step(step: Any) -> None:
            kind = type(step).__name__
            if kind == "AgentAction":
                progress(
                    {
                        "type": "thought",
                        "agent": name,
                        "thought": step.thought,
                        "tool": step.tool,
                        "tool_input": step.tool_input,
                    }
                )

        return step

    def finisher(tid: str, name: str | None) -> Any:
        def done(output: Any) -> None:
            progress({"type": "final_answer", "agent": name or "__manager__", "task": tid, "output": str(output.raw)})

        return done

    agents: dict[str, Any] = {}
    for name, spec in specs.items():
        llm = BrokerLLM(
            model=str(spec.get("model") or "default"),
            temperature=spec.get("temperature"),
            agent_name=name,
            broker=client,
            refusals=refusals,
        )
        agents[name] = Agent(
            role=str(spec.get("role") or name),
            goal=str(spec.get("goal") or ""),
            backstory=str(spec.get("backstory") or ""),
            llm=llm,
            tools=build_tools(name, list(spec.get("tools") or []), client, progress),
            allow_delegation=bool(spec.get("allow_delegation")),
            max_iter=int(spec.get("max_iterations") or 10),
            max_execution_time=spec.get("max_execution_seconds"),
            step_callback=stepper(name),
            verbose=False,
        )

    def remembers(name: str | None) -> bool:
        return name is not None and str((specs.get(name) or {}).get("memory") or "none") != "none"

    tasks: dict[str, Any] = {}
    for spec in task_specs:
        tid = str(spec["id"])
        agent_name = spec.get("agent")
        if agent_name is not None and agent_name not in agents:
            raise AgentFailure("InvalidAgentTask", f"task '{tid}': no agent '{agent_name}'")
        missing = [c for c in spec.get("context") or [] if c not in tasks]
        if missing:
            raise AgentFailure("InvalidAgentTask", f"task '{tid}': context names no earlier task {missing}")
        description = str(spec.get("description") or "")
        if remembers(agent_name):
            description = with_memories(client, str(agent_name), description, progress)
        tasks[tid] = Task(
            name=tid,
            description=description,
            expected_output=str(spec.get("expected_output") or "A complete answer."),
            agent=agents[agent_name] if agent_name is not None else None,
            context=[tasks[c] for c in spec.get("context") or []] or None,
            callback=finisher(tid, agent_name),
        )
    crew_args: dict[str, Any] = {}
    if hierarchical:
        crew_args["process"] = Process.hierarchical
        crew_args["manager_llm"] = BrokerLLM(
            model=str(task.get("manager_model") or "default"),
            agent_name="__manager__",
            broker=client,
            refusals=refusals,
        )
    else:
        crew_args["process"] = Process.sequential
    crew = Crew(agents=list(agents.values()), tasks=list(tasks.values()), verbose=False, **crew_args)
    crew.kickoff()
    outputs: dict[str, Any] = {}
    for spec in task_specs:
        tid = str(spec["id"])
        raw = tasks[tid].output.raw if tasks[tid].output is not None else ""
        agent_name = spec.get("agent")
        schema = spec.get("output_schema") or (specs.get(agent_name) or {}).get("output_schema")
        outputs[tid] = conform(client, agent_name or "__manager__", raw, schema) if schema else raw
    for spec in task_specs:  # what each agent with memory learnt, for its next tasks and runs
        if remembers(spec.get("agent")):
            answer = outputs[str(spec["id"])]
            text = (
                f"Task: {spec.get('description')}\nAnswer: {answer if isinstance(answer, str) else json.dumps(answer)}"
            )
            try:
                client.remember(str(spec["agent"]), text)
            except (BrokerRefused, OSError) as exc:
                log(f"memory not saved: {exc}")
    final = outputs[str(task_specs[-1]["id"])]
    return {"tasks": outputs, "final": final}


def with_memories(client: BrokerClient, agent: str, description: str, progress: Progress) -> str:
    """The task's description with what the agent remembers about it (nothing when recall fails)."""
    try:
        memories = client.recall(agent, description)
    except (BrokerRefused, OSError) as exc:
        log(f"memory not recalled: {exc}")
        return description
    if not memories:
        return description
    progress({"type": "memory", "agent": agent, "recalled": len(memories)})
    notes = "\n".join(f"- {m}" for m in memories)
    return f"{description}\n\nWhat you remember from earlier work (use it if relevant):\n{notes}"


def main() -> int:
    url, token = os.environ.get("NEXOD_BROKER_URL"), os.environ.get("NEXOD_BROKER_TOKEN")
    if not url or not token:
        log("NEXOD_BROKER_URL and NEXOD_BROKER_TOKEN are required")
        return 2
    client = BrokerClient(url, token)
    try:
        task = client.task()
    except (BrokerRefused, OSError) as exc:
        log(f"cannot fetch the task: {exc}")
        return 3
    heartbeat = Heartbeat(client, float(task.get("heartbeat_seconds") or DEFAULT_HEARTBEAT_SECONDS))
    heartbeat.start()
    progress = Progress(client)
    refusals: list[BrokerRefused] = []
    started = time.monotonic()
    try:
        output = run_crew(task, client, progress, refusals)
    except AgentFailure as exc:
        body: dict[str, Any] = {"error": {"type": exc.type, "message": exc.message}}
    except BrokerRefused as exc:
        body = {"error": {"type": exc.type, "message": exc.message}}
    except Exception as exc:  # CrewAI may wrap the broker's refusal: its type is the story
        if refusals:
            body = {"error": {"type": refusals[-1].type, "message": refusals[-1].message}}
        else:
            body = {"error": {"type": "AgentError", "message": f"{type(exc).__name__}: {exc}"}}
    else:
        body = {"output": output}
    finally:
        heartbeat.stop()
    log(f"finished in {time.monotonic() - started:.1f} s: {'error' if 'error' in body else 'ok'}")
    try:
        client.result(body)
    except (BrokerRefused, OSError) as exc:
        log(f"cannot report the result: {exc}")
        return 4
    return 1 if "error" in body else 0
