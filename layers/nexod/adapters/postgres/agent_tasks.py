"""Agent runners' tasks (migration 0016): one row per claim of an agent or crew node run."""

from __future__ import annotations

from typing import Any

from ...domain.records import AgentTask
from .rows import Jsonb, Queries, maybe

_KEY = "run_id = %s AND node_id = %s AND iteration = %s AND attempt = %s AND workspace_id = %s"


class PostgresAgentTasks(Queries):
    def put(self, run_id: str, node_id: str, iteration: int, attempt: int, task: dict[str, Any]) -> None:
        self._run(
            "INSERT INTO agent_tasks (workspace_id, run_id, node_id, iteration, attempt, task)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, node_id, iteration, attempt)"
            " DO UPDATE SET task = EXCLUDED.task, calls = '[]', result = NULL, runner = NULL, finished_at = NULL",
            (self.workspace_id, run_id, node_id, iteration, attempt, Jsonb(task)),
        )

    def get(self, run_id: str, node_id: str, iteration: int, attempt: int) -> AgentTask | None:
        row = self._one(
            f"SELECT run_id, node_id, iteration, attempt, task, calls, result, runner FROM agent_tasks WHERE {_KEY}",
            (run_id, node_id, iteration, attempt, self.workspace_id),
        )
        return maybe(AgentTask, row)

    def add_call(self, run_id: str, node_id: str, iteration: int, attempt: int, call: dict[str, Any]) -> None:
        self._run(
            f"UPDATE agent_tasks SET calls = calls || jsonb_build_array(%s::jsonb) WHERE {_KEY}",
            (Jsonb(call), run_id, node_id, iteration, attempt, self.workspace_id),
        )

    def started(self, run_id: str, node_id: str, iteration: int, attempt: int, runner: str) -> None:
        self._run(
            f"UPDATE agent_tasks SET runner = %s WHERE {_KEY}",
            (runner, run_id, node_id, iteration, attempt, self.workspace_id),
        )

    def finish(self, run_id: str, node_id: str, iteration: int, attempt: int, result: dict[str, Any]) -> bool:
        return (
            self._run(
                f"UPDATE agent_tasks SET result = %s, finished_at = now() WHERE {_KEY} AND result IS NULL",
                (Jsonb(result), run_id, node_id, iteration, attempt, self.workspace_id),
            )
            == 1
        )
