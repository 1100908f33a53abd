"""What the broker's `knowledge_search` and `run_flow` tools reach, in the services' words.

`run_flow` starts another flow's live version for an agent task, as the system acting for that task (the run's
`started_by` is `system:run_flow:<run>:<node>`), so the chain of sub-flows is recorded and bounded: its depth
is the number of such starts above a run. A task may wait only for the runs it started.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from ..domain.actor import SystemActor
from ..domain.errors import KnowledgeUnavailable, NotFound
from ..domain.knowledge import dimensions_of
from ..domain.records import KnowledgeBase, KnowledgeDocument
from ..ports.agents import TaskScope
from ..ports.knowledge import KnowledgeWorker
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


MEMORY_PREFIX = "agent-memory-"
MEMORY_CHARS = 4_000  # what one memory keeps of a task and its answer


class AgentMemories:
    """Agents' vector memory (`memory: run | long_term` in an AgentSpec), in one knowledge base per agent
    (`agent-memory-<agent id>`, created on first use with the workspace's default embedding model), so that
    people can read and delete what an agent remembers on the Knowledge page. Each memory is a document with
    the run it came from in its metadata: `run` memory recalls that run's only, `long_term` every run's."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def _base(self, workspace_id: str, agent_id: str, create: bool) -> KnowledgeBase | None:
        name = f"{MEMORY_PREFIX}{agent_id}"
        with self.services.store.tx(workspace_id) as uow:
            found = next((b for b in uow.knowledge.bases() if b.name == name), None)
            if found is not None or not create:
                return found
            model = self.services.default_embedding_model
            created = uow.knowledge.create_base(
                name,
                f"What agent {agent_id} remembers (its AgentSpec's memory)",
                model,
                dimensions_of(model, None),
                "pgvector",
                None,
                "system:agent-memory",
            )
        return created or self._base(workspace_id, agent_id, create=False)  # a concurrent first use created it

    def _worker(self) -> KnowledgeWorker:
        if self.services.knowledge is None:
            raise KnowledgeUnavailable("this deployment has no knowledge-base worker configured")
        return self.services.knowledge

    def recall(self, workspace_id: str, agent_id: str, run_id: str | None, text: str, top_k: int) -> list[str]:
        kb = self._base(workspace_id, agent_id, create=False)
        if kb is None:
            return []
        where = {"run": {"$eq": run_id}} if run_id else None
        found = self._worker().search(workspace_id, kb, text, top_k, where)
        self._spend(workspace_id, found.embedding.cost_usd)
        return [m.text for m in found.matches]

    def remember(self, workspace_id: str, agent_id: str, run_id: str, text: str) -> None:
        kb = self._base(workspace_id, agent_id, create=True)
        assert kb is not None
        raw = text[:MEMORY_CHARS].encode()
        document_id = str(uuid.uuid4())
        indexed = self._worker().ingest(workspace_id, kb, document_id, raw, "text/plain", {"run": run_id})
        with self.services.store.tx(workspace_id) as uow:
            if indexed.cost_usd:
                uow.budgets.add_spend(indexed.cost_usd)
            uow.knowledge.add_document(
                KnowledgeDocument(
                    id=document_id,
                    knowledge_base_id=kb.id,
                    name=f"run {run_id}",
                    content_type="text/plain",
                    size_bytes=len(raw),
                    sha256=hashlib.sha256(raw).hexdigest(),
                    chunks=indexed.chunks,
                    metadata={"run": run_id},
                    embedding_tokens=indexed.tokens,
                    embedding_cost_usd=indexed.cost_usd,
                    created_by="system:agent-memory",
                    created_at=datetime.now(UTC),
                )
            )

    def _spend(self, workspace_id: str, usd: float | None) -> None:
        if usd:
            with self.services.store.tx(workspace_id) as uow:
                uow.budgets.add_spend(usd)
