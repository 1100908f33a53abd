"""A Nexod without a database or Step Functions: the real services and node runner over the in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexod.domain.nodes import Runtime
from nexod.runtime.executors import Toolbox
from nexod.runtime.runner import NodeRunner
from nexod.services import flows, runs, workspaces
from nexod.services.context import Principal, Services
from tests.support.fakes import FakeOrchestrator, MemoryStore

RUNNER_ARNS = {
    Runtime.CORE: "arn:aws:lambda:us-east-1:000000000000:function:node-runner",
    Runtime.LLM: "arn:aws:lambda:us-east-1:000000000000:function:llm-runner",
}


def _no_port(name: str) -> Any:
    def refuse() -> Any:
        raise AssertionError(f"this test's nodes never use the {name} port")

    return refuse


@dataclass
class World:
    store: MemoryStore = field(default_factory=MemoryStore)
    orchestrator: FakeOrchestrator = field(default_factory=FakeOrchestrator)
    alice: Principal = field(default_factory=lambda: Principal("alice", "alice@example.com", "Alice"))

    def __post_init__(self) -> None:
        self.services = Services(store=self.store, orchestrator=self.orchestrator, runner_arns=RUNNER_ARNS)
        self.runner = NodeRunner(self.store, Toolbox(runtime=Runtime.CORE, outbound=_no_port("Outbound")))

    def workspace(self, principal: Principal | None = None) -> str:
        return str(workspaces.create_workspace(self.services, principal or self.alice, "test")["id"])

    def published(self, ws: str, definition: dict[str, Any], principal: Principal | None = None) -> str:
        """A flow created and published (version 1, live); returns its id."""
        who = principal or self.alice
        flow = flows.create(self.services, who, ws, "flow", "", definition)
        flows.publish(self.services, who, ws, str(flow["id"]), "v1")
        return str(flow["id"])

    def start(self, ws: str, flow_id: str, run_input: Any = None) -> str:
        started = runs.start(self.services, self.alice.actor(), ws, flow_id, run_input or {}, None)
        return str(started["id"])

    def nodes(self, ws: str, run_id: str) -> dict[str, dict[str, Any]]:
        return {n["node_id"]: n for n in runs.nodes(self.services, self.alice, ws, run_id)["items"]}

    def run(self, ws: str, run_id: str) -> dict[str, Any]:
        return runs.get(self.services, self.alice, ws, run_id)
