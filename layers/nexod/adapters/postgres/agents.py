"""Agents (draft specs, soft-deleted), their immutable versions, and the node runs that used them."""

from __future__ import annotations

from typing import Any

from ...domain.records import (
    Agent,
    AgentNodeRun,
    AgentSummary,
    AgentUse,
    AgentVersion,
    AgentVersionSummary,
    Cursor,
    FlowUse,
)
from ...ports.store import AgentChanges
from .rows import JsonText, Queries, maybe, record

_CHANGEABLE = frozenset(AgentChanges.__annotations__)
# What an agent's node runs consumed, for listings (one index scan per agent: node_runs_by_agent).
_USAGE = (
    " LEFT JOIN LATERAL (SELECT count(*) AS runs, COALESCE(sum(m.tokens_in + m.tokens_out), 0) AS tokens,"
    " COALESCE(sum(m.cost_usd), 0) AS cost_usd, max(n.started_at) AS last_run_at"
    " FROM node_run_agents m JOIN node_runs n"
    "  ON (n.run_id, n.node_id, n.iteration) = (m.run_id, m.node_id, m.iteration)"
    " WHERE m.workspace_id = a.workspace_id AND m.agent_id = a.id) u ON true"
)
_SUMMARY = (
    "a.id, a.name, a.spec->>'model' AS model, a.live_version, a.latest_version, a.created_at, a.updated_at,"
    " u.runs, u.tokens, u.cost_usd, u.last_run_at"
)


# An agent's node run as its dashboard reads it: the agent's own calls (a crew's node run is shared by its agents);
# compute and orchestration are the node run's.
_AGENT_NODE_RUN = (
    "n.run_id, r.flow_id, n.node_id, n.iteration, n.status, m.agent_version, n.model, m.tokens_in,"
    " m.tokens_out, m.cost_usd, n.compute_cost_usd, n.orchestration_cost_usd,"
    " m.cost_usd + COALESCE(n.compute_cost_usd, 0) + COALESCE(n.orchestration_cost_usd, 0) AS total_cost_usd,"
    " n.started_at, n.finished_at"
)
_AGENT_NODE_RUN_JOINS = (
    "JOIN node_runs n ON (n.run_id, n.node_id, n.iteration) = (m.run_id, m.node_id, m.iteration)"
    " JOIN runs r ON r.id = n.run_id"
)
_AGENT_NODE_RUN_ORDER = "n.started_at DESC NULLS LAST, n.run_id, n.node_id, n.iteration"


class PostgresAgents(Queries):
    def create(self, name: str, spec: dict[str, Any]) -> Agent:
        row = self._one(
            "INSERT INTO agents (workspace_id, name, spec, created_by) VALUES (%s, %s, %s, %s) RETURNING id",
            (self.workspace_id, name, JsonText(spec), self.user_sub),
        )
        assert row is not None
        created = self.get(str(row["id"]))
        assert created is not None
        return created

    def newest(self, limit: int, after: Cursor | None = None) -> list[AgentSummary]:
        params: list[Any] = [self.workspace_id]
        where = ""
        if after is not None:
            where = " AND (a.created_at, a.id) < (%s::timestamptz, %s::uuid)"
            params += [after.created_at, after.id]
        rows = self._all(
            f"SELECT {_SUMMARY} FROM agents a{_USAGE} WHERE a.workspace_id = %s AND a.deleted_at IS NULL{where}"
            " ORDER BY a.created_at DESC, a.id DESC LIMIT %s",
            [*params, limit],
        )
        return [record(AgentSummary, r) for r in rows]

    def get(self, agent_id: str, for_update: bool = False) -> Agent | None:
        lock = "SELECT 1 FROM agents WHERE id = %s AND workspace_id = %s AND deleted_at IS NULL FOR UPDATE"
        if for_update and self._one(lock, (agent_id, self.workspace_id)) is None:
            return None  # (the row is locked first: a lateral aggregate cannot be locked)
        return maybe(
            Agent,
            self._one(
                f"SELECT {_SUMMARY}, a.spec, a.created_by FROM agents a{_USAGE}"
                " WHERE a.id = %s AND a.workspace_id = %s AND a.deleted_at IS NULL",
                (agent_id, self.workspace_id),
            ),
        )

    def update(self, agent_id: str, changes: AgentChanges) -> Agent | None:
        assert set(changes) <= _CHANGEABLE, set(changes) - _CHANGEABLE
        if changes:
            sets = ", ".join(f"{k} = %s" for k in changes)
            values = [JsonText(v) if k == "spec" else v for k, v in changes.items()]
            if not self._run(
                f"UPDATE agents SET {sets}, updated_at = now() WHERE id = %s AND workspace_id = %s"
                " AND deleted_at IS NULL",
                [*values, agent_id, self.workspace_id],
            ):
                return None
        return self.get(agent_id)

    def delete(self, agent_id: str) -> bool:
        return (
            self._run(
                "UPDATE agents SET deleted_at = now() WHERE id = %s AND workspace_id = %s AND deleted_at IS NULL",
                (agent_id, self.workspace_id),
            )
            > 0
        )

    def add_version(
        self, agent_id: str, version: int, spec: dict[str, Any], spec_hash: str, description: str
    ) -> AgentVersion:
        row = self._one(
            "INSERT INTO agent_versions (workspace_id, agent_id, version, spec, spec_hash, description, created_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (self.workspace_id, agent_id, version, JsonText(spec), spec_hash, description, self.user_sub),
        )
        assert row is not None
        return record(AgentVersion, row)

    def versions(self, agent_id: str) -> list[AgentVersionSummary]:
        rows = self._all(
            "SELECT agent_id, version, spec_hash, description, created_by, created_at FROM agent_versions"
            " WHERE agent_id = %s AND workspace_id = %s ORDER BY version DESC",
            (agent_id, self.workspace_id),
        )
        return [record(AgentVersionSummary, r) for r in rows]

    def version(self, agent_id: str, version: int) -> AgentVersion | None:
        return maybe(
            AgentVersion,
            self._one(
                "SELECT * FROM agent_versions WHERE agent_id = %s AND version = %s AND workspace_id = %s",
                (agent_id, version, self.workspace_id),
            ),
        )

    def node_runs(self, agent_id: str, limit: int) -> list[AgentNodeRun]:
        rows = self._all(
            f"SELECT {_AGENT_NODE_RUN} FROM node_run_agents m {_AGENT_NODE_RUN_JOINS}"
            " WHERE m.workspace_id = %s AND m.agent_id = %s"
            f" ORDER BY {_AGENT_NODE_RUN_ORDER} LIMIT %s",
            (self.workspace_id, agent_id, limit),
        )
        return [record(AgentNodeRun, r) for r in rows]

    def recent_node_runs(self, agent_ids: list[str], per_agent: int) -> dict[str, list[AgentNodeRun]]:
        if not agent_ids:
            return {}
        rows = self._all(
            f"SELECT * FROM (SELECT m.agent_id, {_AGENT_NODE_RUN},"
            f" row_number() OVER (PARTITION BY m.agent_id ORDER BY {_AGENT_NODE_RUN_ORDER}) AS nth"
            f" FROM node_run_agents m {_AGENT_NODE_RUN_JOINS}"
            " WHERE m.workspace_id = %s AND m.agent_id = ANY(%s::uuid[])) newest"
            " WHERE nth <= %s ORDER BY agent_id, nth",
            (self.workspace_id, agent_ids, per_agent),
        )
        found: dict[str, list[AgentNodeRun]] = {a: [] for a in agent_ids}
        for r in rows:
            agent = str(r.pop("agent_id"))
            r.pop("nth")
            found[agent].append(record(AgentNodeRun, r))
        return found

    def record_usage(self, run_id: str, node_id: str, iteration: int, used: list[AgentUse]) -> None:
        for use in used:
            self._run(
                "INSERT INTO node_run_agents (workspace_id, run_id, node_id, iteration, member, agent_id,"
                " agent_version, calls, tokens_in, tokens_out, cost_usd)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (run_id, node_id, iteration, member) DO UPDATE SET agent_id = EXCLUDED.agent_id,"
                " agent_version = EXCLUDED.agent_version, calls = EXCLUDED.calls, tokens_in = EXCLUDED.tokens_in,"
                " tokens_out = EXCLUDED.tokens_out, cost_usd = EXCLUDED.cost_usd",
                (
                    self.workspace_id,
                    run_id,
                    node_id,
                    iteration,
                    use.member,
                    use.agent_id,
                    use.agent_version,
                    use.calls,
                    use.tokens_in,
                    use.tokens_out,
                    use.cost_usd,
                ),
            )

    def live_flows_mentioning(self, agent_id: str) -> list[FlowUse]:
        rows = self._all(
            "SELECT f.id AS flow_id, f.name AS flow_name, v.version, v.definition FROM flows f"
            " JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.live_version"
            " WHERE f.workspace_id = %s AND f.deleted_at IS NULL AND strpos(v.definition::text, %s) > 0"
            " ORDER BY f.name, f.id",
            (self.workspace_id, agent_id),
        )
        return [record(FlowUse, r) for r in rows]
