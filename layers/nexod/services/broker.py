"""The agent broker: the only door of an agent runner into Nexod, scoped by a capability token to one task.

A runner (ecs_tasks/agent_runner) holds a broker URL and a token, nothing else. Every call here first verifies
the token (HMAC-SHA256 with the deployment's broker key, expiry checked) and then acts on the task the token
names, never on ids the runner sends: the task's inputs, LLM calls through the LLM gateway (the workspace's
keys, rate limits, budget and cost; the model is the one the task's agent spec names), tool calls that need
the network or a credential (`http` with the credential the agent's tool config names, `web_fetch`, both
through the outbound guard with the workspace's allow-list), knowledge search and sub-flows behind ports,
heartbeats, progress events and the final result. Design: docs/decisions.md (2026-11-26, the broker).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Protocol

from ..domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from ..ports import Completion, Outbound, Store, Vault
from ..ports.agents import AgentMemory, AgentTaskBoard, FlowStarter, KnowledgeSearch, Launch, Launcher, TaskScope
from ..runtime.egress import egress_scope
from ..runtime.errors import LLMRateLimited, NodeError, NodeRetryableError
from ..runtime.llm_gateway import Call

TOKEN_PREFIX = "nxc1"  # noqa: S105 (the format tag, not a secret)
DEFAULT_TTL_SECONDS = 6 * 3600
MANAGER = "__manager__"  # the agent name under which a hierarchical crew's manager calls the model
TOOL_RESULT_CHARS = 16_000  # what a tool answers the model at most
EVENT_TEXT_CHARS = 2_000  # what a progress event keeps of a thought, an argument or a result
MAX_EVENTS_PER_POST = 100
MEMORY_TOP_K = 5  # memories recalled before a task
# How long one run_flow call waits for the sub-flow before answering "still running" (inside API Gateway's 30 s).
RUN_FLOW_WAIT_SECONDS = 20.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CapabilityTokens:
    """Mint and verify capability tokens: `nxc1.<claims>.<mac>`, claims base64url JSON
    {ws, run, node, it, att, exp}, mac HMAC-SHA256 over `nxc1.<claims>` with the deployment's broker key."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("the broker key must be at least 32 bytes")
        self._key = key
        self._clock = clock

    def mint(self, scope: TaskScope, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
        claims = {
            "ws": scope.workspace_id,
            "run": scope.run_id,
            "node": scope.node_id,
            "it": scope.iteration,
            "att": scope.attempt,
            "exp": int(self._clock()) + ttl_seconds,
        }
        body = f"{TOKEN_PREFIX}.{_b64(json.dumps(claims, separators=(',', ':'), sort_keys=True).encode())}"
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str | None) -> TaskScope:
        if not token:
            raise Unauthorized("a broker capability token is required (Authorization: Bearer <token>)")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise Unauthorized("not a broker capability token")
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._mac(body), parts[2]):
            raise Unauthorized("the capability token's signature does not match")
        try:
            claims = json.loads(_unb64(parts[1]))
            scope = TaskScope(
                str(claims["ws"]), str(claims["run"]), str(claims["node"]), int(claims["it"]), int(claims["att"])
            )
            expires = int(claims["exp"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise Unauthorized("the capability token's claims are malformed") from None
        if self._clock() >= expires:
            raise Unauthorized("the capability token has expired")
        return scope

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


class ChatGateway(Protocol):
    """The LLM gateway as the broker uses it (`nexod.runtime.llm_gateway.LlmGateway`)."""

    def complete(self, workspace_id: str, call: Call) -> Completion: ...


@dataclass
class BrokerError(Exception):
    """An answer the broker gives the runner as an HTTP error: status, a typed error name and a message."""

    status: int
    type: str
    message: str
    retry_after: float | None = None


# How a node error reaches the runner: its type is the error name the runner reports in its failure.
def _broker_error(exc: NodeError) -> BrokerError:
    name = type(exc).__name__
    if isinstance(exc, LLMRateLimited):
        return BrokerError(429, name, exc.message, exc.retry_after_seconds)
    if name == "BudgetExceeded":
        return BrokerError(402, name, exc.message)
    if isinstance(exc, NodeRetryableError):
        return BrokerError(503, name, exc.message)
    return BrokerError(422, name, exc.message)


def flatten(messages: list[dict[str, Any]]) -> tuple[str | None, str]:
    """An OpenAI-style conversation as the gateway's (system, prompt): the system messages joined, the rest
    as a transcript (a single user message stays as it is). The `LLM` port takes one prompt today."""
    system = "\n\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system") or None
    rest = [m for m in messages if m.get("role") != "system"]
    if len(rest) == 1 and rest[0].get("role") == "user":
        return system, str(rest[0].get("content") or "")
    lines = [f"{str(m.get('role') or 'user').capitalize()}: {m.get('content') or ''}" for m in rest]
    return system, "\n\n".join(lines)


def clip(value: Any, limit: int = EVENT_TEXT_CHARS) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def readable_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


class Broker:
    """Everything a runner may do, each call scoped by its token (see the module docstring)."""

    def __init__(
        self,
        tokens: CapabilityTokens,
        board: AgentTaskBoard,
        gateway: ChatGateway | None,
        *,
        outbound: Callable[[], Outbound] | None = None,
        store: Store | None = None,
        vault: Vault | None = None,
        knowledge: KnowledgeSearch | None = None,
        flows: FlowStarter | None = None,
        memory: AgentMemory | None = None,
        allow_hosts: list[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = tokens
        self.board = board
        self.gateway = gateway
        self.outbound = outbound
        self.store = store
        self.vault = vault
        self.knowledge = knowledge
        self.flows = flows
        self.memory = memory
        self.allow_hosts = list(allow_hosts or [])
        self.clock = clock

    # -- the task ------------------------------------------------------------------------------------
    def _state(self, token: str | None, *, open_only: bool = True) -> tuple[TaskScope, dict[str, Any]]:
        scope = self.tokens.verify(token)
        state = self.board.get(scope)
        if state is None:
            raise NotFound("no agent task for this token")
        if open_only and state.result is not None:
            raise Conflict("this agent task has already finished")
        return scope, state.task

    def task(self, token: str | None) -> dict[str, Any]:
        """The task's definition: agents (spec dicts), tasks, process, manager model, rendered inputs."""
        _, task = self._state(token)
        return task

    def heartbeat(self, token: str | None) -> dict[str, Any]:
        scope, _ = self._state(token)
        self.board.heartbeat(scope, self.clock())
        return {"ok": True}

    def events(self, token: str | None, body: Any) -> dict[str, Any]:
        scope, _ = self._state(token)
        items = body.get("events") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) > MAX_EVENTS_PER_POST:
            raise InvalidInput(f"events: a list of at most {MAX_EVENTS_PER_POST} objects", {"field": "events"})
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                raise InvalidInput("events: each event is an object with a 'type'", {"field": "events"})
            kept = {k: clip(v) if k not in ("type", "agent", "task", "tool") else str(v)[:200] for k, v in item.items()}
            self.board.event(scope, {**kept, "at": self.clock()})
        return {"accepted": len(items)}

    def finish(self, token: str | None, body: Any) -> dict[str, Any]:
        """The runner's last word: `{"output": ...}` or `{"error": {"type", "message"}}`. Usage is the broker's
        own record of the calls it made (per agent, per call), never the runner's claim."""
        scope, _ = self._state(token)
        if not isinstance(body, dict) or ("output" in body) == ("error" in body):
            raise InvalidInput("(body): exactly one of 'output' or 'error'", {"field": "(body)"})
        state = self.board.get(scope)
        assert state is not None
        usage = usage_of(state.calls)
        if "error" in body:
            error = body["error"] if isinstance(body["error"], dict) else {}
            result = {
                "status": "FAILED",
                "error": {
                    "type": str(error.get("type") or "AgentError")[:100],
                    "message": clip(str(error.get("message") or "the agent runner failed")),
                },
                "usage": usage,
            }
        else:
            result = {"status": "SUCCEEDED", "output": body["output"], "usage": usage}
        self.board.finish(scope, result)
        return {"status": result["status"]}

    # -- LLM -----------------------------------------------------------------------------------------
    def llm(self, token: str | None, body: Any) -> dict[str, Any]:
        """One chat completion for one of the task's agents (or its manager), with that agent's model and
        fallbacks, through the gateway."""
        scope, task = self._state(token)
        if not isinstance(body, dict):
            raise InvalidInput("(body): an object {agent, messages}", {"field": "(body)"})
        agent = body.get("agent")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise InvalidInput("messages: a non-empty list of {role, content}", {"field": "messages"})
        models, temperature = self._models(task, agent)
        if self.gateway is None:
            raise BrokerError(503, "LLMUnavailable", "this broker has no LLM gateway")
        system, prompt = flatten(messages)
        error: NodeError | None = None
        allowed = self._allowed(scope.workspace_id)  # a workspace key's base_url passes the guard like any host
        for model in models:
            call = Call(
                model=model,
                system=system,
                prompt=prompt,
                temperature=temperature if temperature is not None else _number(body.get("temperature"), 0.7),
                max_tokens=None,
                json_mode=bool(body.get("json_mode")),
                timeout=float(task.get("llm_timeout_seconds") or 120),
            )
            started = self.clock()
            try:
                with egress_scope(scope.node_id, allowed):
                    completion = self.gateway.complete(scope.workspace_id, call)
            except LLMRateLimited as exc:  # another model cannot lift the workspace's own limit
                raise _broker_error(exc) from None
            except NodeRetryableError as exc:
                error = exc
                continue
            except NodeError as exc:
                raise _broker_error(exc) from None
            record = {
                "agent": str(agent),
                "model": completion.model or model,
                "tokens_in": completion.tokens_in,
                "tokens_out": completion.tokens_out,
                "cost_usd": completion.cost_usd,
                "ms": round((self.clock() - started) * 1000),
            }
            self.board.call(scope, record)
            return {"text": completion.text, **record}
        assert error is not None
        raise _broker_error(error)

    def _models(self, task: dict[str, Any], agent: Any) -> tuple[list[str], float | None]:
        if agent == MANAGER and task.get("process") == "hierarchical":
            return [str(task.get("manager_model") or "default")], None
        spec = (task.get("agents") or {}).get(agent) if isinstance(agent, str) else None
        if not isinstance(spec, dict):
            raise InvalidInput("agent: not an agent of this task", {"field": "agent"})
        models = [str(spec.get("model") or "default"), *(str(m) for m in spec.get("fallback_models") or [])]
        temperature = spec.get("temperature")
        return models, float(temperature) if isinstance(temperature, int | float) else None

    # -- memory --------------------------------------------------------------------------------------
    def _memory_of(self, task: dict[str, Any], body: Any) -> tuple[str, str, str]:
        """(agent name, agent id, memory mode) of the task's agent the body names, which must have memory."""
        if self.memory is None:
            raise BrokerError(503, "MemoryUnavailable", "this broker has no agent memory")
        agent = body.get("agent") if isinstance(body, dict) else None
        spec = (task.get("agents") or {}).get(agent) if isinstance(agent, str) else None
        if not isinstance(spec, dict) or not spec.get("agent_id"):
            raise InvalidInput("agent: not an agent of this task", {"field": "agent"})
        mode = str(spec.get("memory") or "none")
        if mode == "none":
            raise InvalidInput(f"agent: '{agent}' has no memory (its spec says memory: none)", {"field": "agent"})
        return str(agent), str(spec["agent_id"]), mode

    def recall(self, token: str | None, body: Any) -> dict[str, Any]:
        """What the agent remembers near `query`: this run's memories (`run`) or every run's (`long_term`)."""
        scope, task = self._state(token)
        _, agent_id, mode = self._memory_of(task, body)
        query = str(body.get("query") or "").strip()
        if not query:
            raise InvalidInput("query: what to recall", {"field": "query"})
        assert self.memory is not None
        run = scope.run_id if mode == "run" else None
        return {"memories": self.memory.recall(scope.workspace_id, agent_id, run, query[:4_000], MEMORY_TOP_K)}

    def remember(self, token: str | None, body: Any) -> dict[str, Any]:
        scope, task = self._state(token)
        _, agent_id, _ = self._memory_of(task, body)
        text = str(body.get("text") or "").strip()
        if not text:
            raise InvalidInput("text: what to remember", {"field": "text"})
        assert self.memory is not None
        self.memory.remember(scope.workspace_id, agent_id, scope.run_id, text)
        return {"ok": True}

    # -- tools ---------------------------------------------------------------------------------------
    def tool(self, token: str | None, name: str, body: Any) -> dict[str, Any]:
        """Run one of an agent's tools that needs the broker. A tool's own failure is an answer
        (`{"error": ...}`) the runner hands the model; only a refused request is an HTTP error."""
        scope, task = self._state(token)
        if not isinstance(body, dict) or not isinstance(body.get("args"), dict):
            raise InvalidInput("args: an object", {"field": "args"})
        agent = body.get("agent")
        spec = (task.get("agents") or {}).get(agent) if isinstance(agent, str) else None
        if not isinstance(spec, dict):
            raise InvalidInput("agent: not an agent of this task", {"field": "agent"})
        config = next((t.get("config") or {} for t in spec.get("tools") or [] if t.get("name") == name), None)
        if config is None:
            raise InvalidInput(f"tool: agent '{agent}' has no tool '{name}'", {"field": "tool"})
        args = body["args"]
        try:
            if name == "http":
                result = self._http(scope, config, args)
            elif name == "web_fetch":
                result = self._web_fetch(scope, config, args)
            elif name == "knowledge_search":
                result = self._knowledge(scope, {"knowledge_bases": spec.get("knowledge_bases") or [], **config}, args)
            elif name == "run_flow":
                result = self._run_flow(scope, config, args, int(task.get("depth") or 0))
            else:
                raise InvalidInput(f"tool: '{name}' is not a broker tool", {"field": "tool"})
        except NodeError as exc:
            return {"error": {"type": type(exc).__name__, "message": exc.message}}
        return {"result": result}

    def _guarded(self) -> Outbound:
        if self.outbound is None:
            raise NodeRetryableError("this broker has no outbound HTTP")
        return self.outbound()

    def _http(self, scope: TaskScope, config: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        method = str(args.get("method") or "GET").upper()
        url = args.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return {"error": "url: an http(s) URL is required"}
        headers = {str(k): str(v) for k, v in (args.get("headers") or {}).items()}
        secret_headers: set[str] = set()
        credential = config.get("credential")
        if credential:
            applied = self._credential_headers(scope.workspace_id, str(credential), config)
            headers.update(applied)
            secret_headers.update(h.lower() for h in applied)
        response = self._guarded().request(
            method,
            url,
            headers=headers,
            body=args.get("body"),
            timeout=float(config.get("timeout_seconds") or 30),
            follow_redirects=True,
            max_redirects=5,
            allow_hosts=self._allowed(scope.workspace_id),
            secret_headers=secret_headers,
        )
        return {"status": response.status, "body": clip(response.body, TOOL_RESULT_CHARS)}

    def _credential_headers(self, workspace_id: str, name: str, config: dict[str, Any]) -> dict[str, str]:
        """The headers a credential becomes (bearer, header, basic, api_key); read from the vault here, in
        the broker, so the value never reaches the runner."""
        if self.store is None or self.vault is None:
            raise NodeRetryableError("this broker cannot read credentials")
        with self.store.tx(workspace_id) as uow:
            found = next((c for c in uow.credentials.all() if c.name == name), None)
        value = self.vault.get(workspace_id, name) if found is not None else None
        if found is None or value is None:
            raise NotFound(f"credential '{name}' does not exist in this workspace")
        if found.type == "bearer":
            return {"Authorization": f"Bearer {value['token']}"}
        if found.type == "header":
            return {str(value["name"]): str(value["value"])}
        if found.type == "basic":
            raw = f"{value['username']}:{value['password']}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if found.type == "api_key":
            return {str(config.get("header") or "X-API-Key"): str(value["key"])}
        raise InvalidInput(f"credential '{name}' is a '{found.type}' credential, which an http tool cannot send")

    def _allowed(self, workspace_id: str) -> list[str]:
        """The deployment's and the workspace's allow-list (the same rules as an http node)."""
        hosts = list(self.allow_hosts)
        if self.store is not None:
            with self.store.tx(workspace_id) as uow:
                ws = uow.workspaces.current()
                hosts += list(ws.allowed_hosts) if ws else []
        return hosts

    def _web_fetch(self, scope: TaskScope, config: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        url = args.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return {"error": "url: an http(s) URL is required"}
        response = self._guarded().request(
            "GET",
            url,
            headers={"Accept": "text/html,text/plain;q=0.9,*/*;q=0.5"},
            body=None,
            timeout=float(config.get("timeout_seconds") or 30),
            follow_redirects=True,
            max_redirects=5,
            allow_hosts=self._allowed(scope.workspace_id),
        )
        body = response.body
        text = body if isinstance(body, str) else json.dumps(body)
        if "<" in text and ">" in text:
            text = readable_text(text)
        limit = int(config.get("max_chars") or TOOL_RESULT_CHARS)
        return {"status": response.status, "url": response.url, "text": clip(text, limit)}

    def _knowledge(self, scope: TaskScope, config: dict[str, Any], args: dict[str, Any]) -> Any:
        if self.knowledge is None:
            raise NodeRetryableError("knowledge_search is not available yet in this deployment")
        allowed = [str(k) for k in config.get("knowledge_bases") or []]  # the tool's, else the agent spec's
        kb = str(args.get("knowledge_base") or (allowed[0] if allowed else ""))
        if kb not in allowed:
            return {"error": f"knowledge_base: one of {allowed}"}
        return self.knowledge.search(scope.workspace_id, kb, str(args.get("query") or ""), int(args.get("top_k") or 5))

    def _run_flow(self, scope: TaskScope, config: dict[str, Any], args: dict[str, Any], depth: int) -> Any:
        if self.flows is None:
            raise NodeRetryableError("run_flow is not available in this deployment")
        wait = min(float(config.get("timeout_seconds") or 300), RUN_FLOW_WAIT_SECONDS)
        if args.get("run_id"):  # the runner asks again about a sub-flow still running
            return self.flows.wait(scope, str(args["run_id"]), wait)
        flow = str(config.get("flow") or args.get("flow") or "")
        if config.get("flow") and args.get("flow") not in (None, config.get("flow")):
            return {"error": f"flow: this tool runs '{config['flow']}' only"}
        if not flow:
            return {"error": "flow: which flow to run (its id)"}
        if max(depth, self.flows.depth(scope.workspace_id, scope.run_id)) >= int(config.get("max_depth") or 3):
            return {"error": "run_flow: the sub-flow depth limit is reached"}
        run_id = self.flows.start(scope, flow, args.get("input"))
        return self.flows.wait(scope, run_id, wait)


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def usage_of(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-agent and total tokens and cost of the calls the broker made for a task, with the calls."""
    agents: dict[str, dict[str, Any]] = {}
    for call in calls:
        agent = agents.setdefault(call["agent"], {"calls": 0, "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0})
        agent["calls"] += 1
        agent["tokens_in"] += int(call["tokens_in"])
        agent["tokens_out"] += int(call["tokens_out"])
        agent["cost_usd"] += float(call["cost_usd"])
    return {
        "calls": list(calls),
        "agents": agents,
        "tokens_in": sum(a["tokens_in"] for a in agents.values()),
        "tokens_out": sum(a["tokens_out"] for a in agents.values()),
        "cost_usd": sum(a["cost_usd"] for a in agents.values()),
    }


def start_agent_task(
    board: AgentTaskBoard,
    tokens: CapabilityTokens,
    launcher: Launcher,
    broker_url: str,
    scope: TaskScope,
    task: dict[str, Any],
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> str:
    """What the launcher function does for an agent/crew node: leave the task on the board, mint the token
    bound to this one task, start the runner with the broker URL and the token. Returns the runner's handle."""
    board.put(scope, task)
    return launcher.launch(Launch(scope, broker_url, tokens.mint(scope, ttl_seconds)))
