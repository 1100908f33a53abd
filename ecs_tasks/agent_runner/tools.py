"""The tools an agent may be given. `http`, `web_fetch`, `knowledge_search` and `run_flow` run in the broker
(the network, the outbound guard and any credential stay there); `calculator` runs here. A tool's error is
the tool's answer to the model: it never ends the run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from crewai.tools import BaseTool
from pydantic import BaseModel, Field

from .calc import calculate
from .client import BrokerClient, BrokerRefused

RESULT_CHARS = 8_000
RUN_FLOW_SECONDS = 3600  # the longest a run_flow tool call waits for its sub-flow (in calls of ~20 s each)


class HttpArgs(BaseModel):
    url: str = Field(..., description="The http(s) URL to call")
    method: str = Field("GET", description="GET, POST, PUT, PATCH or DELETE")
    headers: dict[str, str] | None = Field(None, description="Extra request headers")
    body: Any = Field(None, description="A JSON body (POST, PUT, PATCH)")


class FetchArgs(BaseModel):
    url: str = Field(..., description="The http(s) URL of the page")


class SearchArgs(BaseModel):
    query: str = Field(..., description="What to look for")
    knowledge_base: str | None = Field(None, description="Which knowledge base (default: the first allowed)")
    top_k: int = Field(5, description="How many chunks")


class FlowArgs(BaseModel):
    input: Any = Field(None, description="The flow's input (JSON)")
    flow: str | None = Field(None, description="The flow id (when the tool does not fix one)")


class CalcArgs(BaseModel):
    expression: str = Field(..., description="An arithmetic expression, e.g. (3 + 4) * 2 ** 3 / sqrt(16)")


DESCRIPTIONS = {
    "http": "Call an HTTP API (through Nexod's guarded egress; any configured credential is added for you)."
    " Answers the status and the body.",
    "web_fetch": "Fetch a web page and answer its readable text (size-capped).",
    "knowledge_search": "Search the workspace's knowledge bases this agent may use; answers chunks with scores.",
    "run_flow": "Run another Nexod flow with an input and answer its output.",
    "calculator": "Evaluate an arithmetic expression exactly (+ - * / // % **, parentheses, sqrt, log, pi, e).",
}
SCHEMAS: dict[str, type[BaseModel]] = {
    "http": HttpArgs,
    "web_fetch": FetchArgs,
    "knowledge_search": SearchArgs,
    "run_flow": FlowArgs,
    "calculator": CalcArgs,
}

Progress = Callable[[dict[str, Any]], None]


def clip(text: str, limit: int = RESULT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def _still_running(reply: dict[str, Any]) -> str | None:
    result = reply.get("result")
    if isinstance(result, dict) and result.get("note") and result.get("run_id"):
        return str(result["run_id"])
    return None


class NexodTool(BaseTool):
    """One tool of one agent; its calls and (truncated) results are reported as progress."""

    agent_name: str = ""
    broker: Any = None
    progress: Any = None

    def _until_done(self, client: BrokerClient, reply: dict[str, Any]) -> dict[str, Any]:
        """A sub-flow still running after the broker's wait: ask again (each call waits up to ~20 s)."""
        deadline = time.monotonic() + RUN_FLOW_SECONDS
        while (run_id := _still_running(reply)) and time.monotonic() < deadline:
            reply = client.tool(self.name, self.agent_name, {"run_id": run_id})
        return reply

    def _run(self, **kwargs: Any) -> str:
        try:
            if self.name == "calculator":
                answer = json.dumps({"result": calculate(str(kwargs.get("expression") or ""))})
            else:
                client: BrokerClient = self.broker
                reply = client.tool(self.name, self.agent_name, kwargs)
                if self.name == "run_flow":
                    reply = self._until_done(client, reply)
                answer = json.dumps(reply, default=str)
        except BrokerRefused as exc:
            answer = json.dumps({"error": {"type": exc.type, "message": exc.message}})
        except Exception as exc:  # the model hears about it and may try again
            answer = json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}})
        answer = clip(answer)
        if self.progress is not None:
            self.progress(
                {"type": "tool_call", "agent": self.agent_name, "tool": self.name, "args": kwargs, "result": answer}
            )
        return answer


def build_tools(agent: str, specs: list[dict[str, Any]], broker: BrokerClient, progress: Progress) -> list[BaseTool]:
    tools: list[BaseTool] = []
    for spec in specs:
        name = str(spec.get("name"))
        if name not in SCHEMAS:
            raise ValueError(f"agent '{agent}': unknown tool '{name}' (known: {', '.join(SCHEMAS)})")
        tools.append(
            NexodTool(
                name=name,
                description=DESCRIPTIONS[name],
                args_schema=SCHEMAS[name],
                agent_name=agent,
                broker=broker,
                progress=progress,
            )
        )
    return tools
