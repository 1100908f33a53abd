"""What the broker's `knowledge_search` and `run_flow` tools reach, in the services' words.

`run_flow` starts another flow's live version for an agent task, as the system acting for that task (the run's
`started_by` is `system:run_flow:<run>:<node>`), so the chain of sub-flows is recorded and bounded: its depth
is the number of such starts above a run. A task may wait only for the runs it started.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from ..domain.actor import SystemActor
from ..domain.errors import KnowledgeUnavailable, NotFound
from ..ports.agents import TaskScope
from . import runs
from .access import parse_id
from .context import Services
from .outputs import stored_output

PREFIX = "run_flow:"
MAX_CHAIN = 20  # how far `depth` walks up (a chain longer than any depth limit)
POLL_SECONDS = 0.25


def _starter(scope: TaskScope) -> str:
    return f"{PREFIX}{scope.run_id}:{scope.node_id}"


class FlowRuns:
    """The broker's FlowStarter over the run service."""

    def __init__(self, services: Services, clock: Any = time.monotonic, sleep: Any = time.sleep) -> None:
        self.services = services
        self.clock = clock
        self.sleep = sleep

    def depth(self, workspace_id: str, run_id: str) -> int:
        depth = 0
        with self.services.store.tx(workspace_id) as uow:
            current = uow.runs.get(run_id)
            while current is not None and depth < MAX_CHAIN:
                ref = current.started_by
                if ref.kind != "system" or not ref.id.startswith(PREFIX):
                    break
                depth += 1
                current = uow.runs.get(ref.id[len(PREFIX) :].split(":", 1)[0])
        return depth

    def start(self, scope: TaskScope, flow_id: str, run_input: Any) -> str:
        actor = SystemActor(_starter(scope))
        started = runs.start(self.services, actor, scope.workspace_id, flow_id, run_input, None, trigger="agent")
        return str(started["id"])

    def wait(self, scope: TaskScope, run_id: str, seconds: float) -> dict[str, Any]:
        run_id = parse_id(run_id, "run_id")
        deadline = self.clock() + seconds
        while True:
            with self.services.store.tx(scope.workspace_id) as uow:
                run = uow.runs.get(run_id)
                if run is None or run.started_by.id != _starter(scope):
                    raise NotFound(f"run '{run_id}' was not started by this task")
                if run.is_terminal:
                    detail = uow.runs.detail(run_id)
            if run.is_terminal:
                assert detail is not None
                answer: dict[str, Any] = {"run_id": run_id, "status": run.status}
                if run.status == "SUCCEEDED":
                    answer["output"] = stored_output(self.services.blobs, scope.workspace_id, run_id, detail)
                else:
                    answer["error"] = detail.error
                return answer
            if self.clock() >= deadline:
                return {"run_id": run_id, "status": run.status, "note": "still running: call again with run_id"}
            self.sleep(POLL_SECONDS)


class KnowledgeBases:
    """The broker's KnowledgeSearch over the deployment's knowledge worker (its embedding keys and stores); the
    query's embedding cost counts in the workspace's spend like an API query's."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def search(self, workspace_id: str, knowledge_base: str, text: str, top_k: int) -> list[dict[str, Any]]:
        if self.services.knowledge is None:
            raise KnowledgeUnavailable("this deployment has no knowledge-base worker configured")
        with self.services.store.tx(workspace_id) as uow:
            kb = uow.knowledge.base(parse_id(knowledge_base, "knowledge_base"))
        if kb is None:
            raise NotFound(f"knowledge base '{knowledge_base}' not found")
        found = self.services.knowledge.search(workspace_id, kb, text, max(1, min(top_k, 20)))
        if found.embedding.cost_usd:
            with self.services.store.tx(workspace_id) as uow:
                uow.budgets.add_spend(found.embedding.cost_usd)
        return [asdict(m) for m in found.matches]
