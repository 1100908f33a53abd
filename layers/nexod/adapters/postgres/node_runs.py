"""Node runs: one row per (run, node, iteration), the memo of every node execution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from ...domain.cost import DEFAULT_RUNNER_MEMORY_MB, SFN_TRANSITION_USD, cost_source, usd_per_ms
from ...domain.events import EVENT_TYPES
from ...domain.records import NodeClaim, NodeRun, NodeRunStatus, SoftBudgetCrossed, Usage
from ...ports import BlobRef
from .budgets import MONTH, SPEND_SLOT
from .events import PostgresEvents
from .rows import Jsonb, JsonbOrNull, Queries, TextArray, node_run_record, run_record

_NODE_COLUMNS = tuple(f.name for f in fields(NodeRun))

# The node runner's claim in one statement (one round trip; the steps of NodeRunRepository.claim). The CTEs
# share one snapshot: `run` is the run as it was before `started` moved a QUEUED run to RUNNING, and the
# upstream outputs are those committed before this statement (the claimed row is never among them). The
# upstream is not read on a memo hit (the claimed row already SUCCEEDED with the same config hash).
# `queued` skips a run row another transaction holds (SKIP LOCKED): that is the API recording the execution's
# start (`runs.start_attempt`, which moves a QUEUED run to RUNNING itself) or another node's claim moving it.
# Waiting instead serialised every branch of a fan-out on the run row: an UPDATE that waited re-reads the new
# row version and keeps it locked until its transaction ends even when its WHERE no longer matches, so the
# 48 claims that saw the run QUEUED each waited for the previous one's commit (a 270 ms chain per bench run).
# Skipping is safe for the run's events because the API's record is written with its COMMIT (one round trip,
# `PostgresUnitOfWork.commit`): the claims' events never wait on a start transaction kept open by a slow
# client (docs/decisions.md, 2026-11-27).
# A memo hit: the node run already SUCCEEDED with this config hash (in the ON CONFLICT update: its old row).
_MEMO = "(node_runs.status = 'SUCCEEDED' AND node_runs.config_hash = %(hash)s)"
# The claim that also begins the execution (a node with nothing to render: `begin_input`): the columns
# `begin_execution` sets, unless the row is a memo hit (then left as it was), and the `node.started` event.
_BEGIN_INSERT = (", executions, input", ", 1, %(input)s")
_BEGIN_UPDATE = (
    f", status = CASE WHEN {_MEMO} THEN node_runs.status ELSE 'RUNNING' END,"
    f" executions = CASE WHEN {_MEMO} THEN node_runs.executions ELSE node_runs.executions + 1 END,"
    " config_hash = %(hash)s,"
    f" input = CASE WHEN {_MEMO} THEN node_runs.input ELSE %(input)s END,"
    f" error = CASE WHEN {_MEMO} THEN node_runs.error END,"
    f" started_at = CASE WHEN {_MEMO} THEN node_runs.started_at ELSE COALESCE(node_runs.started_at, now()) END,"
    f" finished_at = CASE WHEN {_MEMO} THEN node_runs.finished_at END,"
    f" next_attempt_at = CASE WHEN {_MEMO} THEN node_runs.next_attempt_at END"
)
_BEGIN_EVENT = (
    " began AS (INSERT INTO run_events (workspace_id, run_id, type, node_id, iteration, data, publish)"
    " SELECT %(ws)s, c.run_id, 'node.started', c.node_id, c.iteration, jsonb_build_object('attempt', c.attempts),"
    " %(publish)s FROM claimed c WHERE NOT (c.status = 'SUCCEEDED' AND c.config_hash = %(hash)s) RETURNING 1),"
)


def _claim(begin: bool) -> str:
    insert, update = _BEGIN_INSERT if begin else ("", "")
    return (
        "WITH run AS (SELECT * FROM runs WHERE id = %(run)s AND workspace_id = %(ws)s),"
        " active AS (SELECT id FROM run WHERE status NOT IN ('CANCELLED', 'SUCCEEDED')"
        "  AND flow_id = %(flow)s AND version = %(version)s),"
        " queued AS (SELECT id FROM runs WHERE id = %(run)s AND workspace_id = %(ws)s AND status = 'QUEUED'"
        "  AND EXISTS (SELECT 1 FROM active) FOR NO KEY UPDATE SKIP LOCKED),"
        " started AS (UPDATE runs SET status = 'RUNNING', started_at = COALESCE(started_at, now()),"
        "  finished_at = NULL, error = NULL WHERE id = %(run)s AND workspace_id = %(ws)s AND status = 'QUEUED'"
        "  AND EXISTS (SELECT 1 FROM queued) RETURNING id),"
        " claimed AS (INSERT INTO node_runs (workspace_id, run_id, node_id, iteration, node_type, status, attempts,"
        f"  config_hash, started_at{insert}) SELECT %(ws)s, id, %(node)s, %(iteration)s, %(type)s, 'RUNNING', 1,"
        f"  %(hash)s, now(){update} FROM active ON CONFLICT (run_id, node_id, iteration) DO UPDATE SET"
        f"  attempts = node_runs.attempts + 1{_BEGIN_UPDATE if begin else ''} RETURNING *),"
        + (_BEGIN_EVENT if begin else "")
        + " upstream AS (SELECT array_agg(n.node_id) AS ids, array_agg(n.output) AS outputs,"
        "  array_agg(n.output_ref) AS refs FROM node_runs n"
        "  WHERE n.run_id = %(run)s AND n.workspace_id = %(ws)s AND n.iteration = 0 AND n.status = 'SUCCEEDED'"
        "  AND n.node_id = ANY(%(upstream)s)"
        "  AND EXISTS (SELECT 1 FROM claimed c WHERE NOT (c.status = 'SUCCEEDED' AND c.config_hash = %(hash)s)))"
        " SELECT r.*, "
        + ", ".join(f"c.{name} AS claimed_{name}" for name in _NODE_COLUMNS)
        + ", c.node_id IS NOT NULL AS claimed, u.ids AS upstream_ids, u.outputs AS upstream_outputs,"
        " u.refs AS upstream_refs"
        + (", (SELECT count(*) FROM began) AS began" if begin else "")
        + " FROM run r LEFT JOIN claimed c ON true CROSS JOIN upstream u"
    )


_CLAIM = _claim(begin=False)
_CLAIM_AND_BEGIN = _claim(begin=True)
_STARTED_PUBLISHED = EVENT_TYPES["node.started"].published

# How a node run ends, with its costs (nexod.domain.cost), and the month's spend in the same statement: the
# UTC month of the finish gets every execution's whole cost (LLM + compute + orchestration), added to one of
# the month's 16 spend slots chosen at random (migration 0010), so that parallel branches finishing together
# do not queue on one row's lock. When the workspace has a soft budget not yet crossed this month, the same
# statement sums the slots (this finish's increment included) and stamps the crossing once; the answer says
# whether this finish is the one that crossed it.
_FINISH = (
    "WITH done AS (UPDATE node_runs SET status = %(status)s, output = %(output)s, output_ref = %(ref)s,"
    " take = %(take)s, error = %(error)s, finished_at = now(),"
    " next_attempt_at = %(next)s, retries = CASE WHEN %(status)s = 'RETRYING' THEN retries + 1 ELSE 0 END,"
    " duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int,"
    " model = %(model)s, tokens_in = %(tin)s, tokens_out = %(tout)s, cost_usd = %(cost)s,"
    " cost_source = %(source)s,"
    " compute_cost_usd = (extract(epoch FROM now() - started_at) * 1000)::int * %(per_ms)s::numeric,"
    " transitions = attempts, orchestration_cost_usd = attempts * %(per_transition)s::numeric"
    " WHERE run_id = %(run)s AND node_id = %(node)s AND iteration = %(iteration)s AND workspace_id = %(ws)s"
    " RETURNING COALESCE(cost_usd, 0) + COALESCE(compute_cost_usd, 0) + orchestration_cost_usd AS total),"
    " spent AS (INSERT INTO workspace_spend (workspace_id, month, slot, spent_usd)"
    f" SELECT %(ws)s, {MONTH}, {SPEND_SLOT}, total FROM done"
    " ON CONFLICT (workspace_id, month, slot) DO UPDATE SET spent_usd = workspace_spend.spent_usd + EXCLUDED.spent_usd"
    " RETURNING spent_usd AS slot_after, slot),"
    # A soft budget not crossed yet this month: the month's total as this statement sees it (the other slots
    # as committed before it, this slot as just written).
    " soft AS (SELECT b.monthly_soft_usd FROM workspace_budgets b WHERE b.workspace_id = %(ws)s"
    "  AND b.monthly_soft_usd IS NOT NULL AND NOT EXISTS (SELECT 1 FROM workspace_budget_crossings c"
    f"  WHERE c.workspace_id = %(ws)s AND c.month = {MONTH})),"
    " month_total AS (SELECT s.slot_after + COALESCE((SELECT sum(w.spent_usd) FROM workspace_spend w"
    f"  WHERE w.workspace_id = %(ws)s AND w.month = {MONTH} AND w.slot <> s.slot), 0) AS month_usd"
    "  FROM spent s WHERE EXISTS (SELECT 1 FROM soft)),"
    " crossed AS (INSERT INTO workspace_budget_crossings (workspace_id, month, spent_usd, soft_limit_usd)"
    f" SELECT %(ws)s, {MONTH}, t.month_usd, soft.monthly_soft_usd FROM month_total t, soft"
    "  WHERE t.month_usd >= soft.monthly_soft_usd ON CONFLICT DO NOTHING"
    "  RETURNING month, spent_usd, soft_limit_usd)"
    " SELECT (SELECT count(*) FROM done) AS finished, c.month, c.spent_usd, c.soft_limit_usd"
    " FROM (SELECT 1) one LEFT JOIN crossed c ON true"
)


class PostgresNodeRuns(Queries):
    def __init__(self, *args: Any, events: PostgresEvents | None = None) -> None:
        super().__init__(*args)
        self._events = events  # the unit of work's event buffer: begin_execution and finish write it

    def _with_events(self, query: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return (query, params) if self._events is None else self._events.take_into(query, params)

    def add_compute_cost(self, run_id: str, node_id: str, iteration: int, usd: float) -> None:
        self._run(
            "UPDATE node_runs SET compute_cost_usd = COALESCE(compute_cost_usd, 0) + %s"
            " WHERE run_id = %s AND node_id = %s AND iteration = %s AND workspace_id = %s",
            (usd, run_id, node_id, iteration, self.workspace_id),
        )

    def get(self, run_id: str, node_id: str, iteration: int = 0) -> NodeRun | None:
        row = self._one(
            "SELECT * FROM node_runs WHERE run_id = %s AND node_id = %s AND iteration = %s AND workspace_id = %s",
            (run_id, node_id, iteration, self.workspace_id),
        )
        return None if row is None else node_run_record(row)

    def of_run(self, run_id: str) -> list[NodeRun]:
        rows = self._all(
            "SELECT * FROM node_runs WHERE run_id = %s AND workspace_id = %s ORDER BY started_at NULLS LAST,"
            " node_id, iteration",
            (run_id, self.workspace_id),
        )
        return [node_run_record(r) for r in rows]

    def claim(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        node_type: str,
        config_hash: str,
        *,
        flow_id: str,
        version: int,
        upstream: Sequence[str],
        begin_input: dict[str, Any] | None = None,
    ) -> NodeClaim:
        params: dict[str, Any] = {}
        if begin_input is not None:
            params = {"input": Jsonb(begin_input), "publish": _STARTED_PUBLISHED}
        row = self._one(
            _CLAIM if begin_input is None else _CLAIM_AND_BEGIN,
            params
            | {
                "run": run_id,
                "ws": self.workspace_id,
                "flow": flow_id,
                "version": version,
                "node": node_id,
                "iteration": iteration,
                "type": node_type,
                "hash": config_hash,
                "upstream": TextArray(upstream),
            },
        )
        if row is None:
            return NodeClaim(run=None, node_run=None)
        run = run_record(row)
        if not row["claimed"]:
            return NodeClaim(run=run, node_run=None)
        node_run = node_run_record({name: row[f"claimed_{name}"] for name in _NODE_COLUMNS})
        outputs = {
            node: value if ref is None else BlobRef.from_json(ref)  # a large output: nexod.runtime.blobs reads it
            for node, value, ref in zip(
                row["upstream_ids"] or [], row["upstream_outputs"] or [], row["upstream_refs"] or [], strict=True
            )
        }
        begun = bool(row.get("began"))
        if begun and self._events is not None:
            self._events.taken += 1  # the unit of work counts the node.started event the claim wrote
        return NodeClaim(run=run, node_run=node_run, upstream=outputs, begun=begun)

    def begin_execution(self, run_id: str, node_id: str, iteration: int, config_hash: str, node_input: Any) -> None:
        self._run(
            *self._with_events(
                "UPDATE node_runs SET status = 'RUNNING', executions = executions + 1, config_hash = %(hash)s,"
                " input = %(input)s, error = NULL, started_at = COALESCE(started_at, now()), finished_at = NULL,"
                " next_attempt_at = NULL"
                " WHERE run_id = %(run)s AND node_id = %(node)s AND iteration = %(iteration)s"
                " AND workspace_id = %(ws)s",
                {
                    "hash": config_hash,
                    "input": Jsonb(node_input),
                    "run": run_id,
                    "node": node_id,
                    "iteration": iteration,
                    "ws": self.workspace_id,
                },
            )
        )

    def finish(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        *,
        status: NodeRunStatus,
        output: Any = None,
        take: dict[str, bool] | None = None,
        error: Any = None,
        usage: Usage | None = None,
        output_ref: BlobRef | None = None,
        memory_mb: int = DEFAULT_RUNNER_MEMORY_MB,
        next_attempt_at: datetime | None = None,
    ) -> SoftBudgetCrossed | None:
        usage = usage or Usage()
        row = self._one(
            *self._with_events(
                _FINISH,
                {
                    "status": status,
                    "next": next_attempt_at,
                    "output": JsonbOrNull(output),
                    "ref": JsonbOrNull(output_ref.as_json() if output_ref is not None else None),
                    "take": JsonbOrNull(take),
                    "error": JsonbOrNull(error),
                    "model": usage.model,
                    "tin": usage.tokens_in,
                    "tout": usage.tokens_out,
                    "cost": usage.cost_usd,
                    "source": cost_source(usage.tokens_in, usage.tokens_out, usage.cost_usd),
                    "per_ms": usd_per_ms(memory_mb),
                    "per_transition": SFN_TRANSITION_USD,
                    "run": run_id,
                    "node": node_id,
                    "iteration": iteration,
                    "ws": self.workspace_id,
                },
            )
        )
        if row is None or row["month"] is None:
            return None
        return SoftBudgetCrossed(
            month=row["month"].strftime("%Y-%m"),
            month_to_date_usd=float(row["spent_usd"]),
            soft_limit_usd=float(row["soft_limit_usd"]),
        )

    def record_entry(self, run_id: str, node_id: str, config_hash: str, run_input: Any, take: dict[str, bool]) -> None:
        self._run(
            "INSERT INTO node_runs (workspace_id, run_id, node_id, iteration, node_type, status, attempts, executions,"
            " config_hash, input, output, take, started_at, finished_at, duration_ms)"
            " VALUES (%s, %s, %s, 0, 'input', 'SUCCEEDED', 1, 1, %s, %s, %s, %s, now(), now(), 0)"
            " ON CONFLICT (run_id, node_id, iteration) DO UPDATE SET config_hash = EXCLUDED.config_hash,"
            " take = EXCLUDED.take, status = 'SUCCEEDED', attempts = node_runs.attempts + 1",
            (self.workspace_id, run_id, node_id, config_hash, Jsonb(run_input), Jsonb(run_input), Jsonb(take)),
        )

    def record_skipped(self, run_id: str, nodes: Sequence[tuple[str, str]]) -> list[str]:
        if not nodes:
            return []
        # One statement for the whole run (its end used to read every node run first to find the missing ones).
        rows = self._all(
            "INSERT INTO node_runs (workspace_id, run_id, node_id, iteration, node_type, status, config_hash)"
            " SELECT %s, %s, n.id, 0, n.type, 'SKIPPED', '' FROM unnest(%s::text[], %s::text[]) AS n (id, type)"
            " ON CONFLICT DO NOTHING RETURNING node_id",
            (self.workspace_id, run_id, [n for n, _ in nodes], [t for _, t in nodes]),
        )
        inserted = {r["node_id"] for r in rows}
        return [n for n, _ in nodes if n in inserted]

    def fail_running(self, run_id: str, error: Any) -> list[tuple[str, int]]:
        rows = self._all(
            "UPDATE node_runs SET status = 'FAILED', error = COALESCE(error, %s), finished_at = now(),"
            " duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int"
            " WHERE run_id = %s AND workspace_id = %s AND status IN ('RUNNING', 'RETRYING')"
            " RETURNING node_id, iteration",
            (Jsonb(error), run_id, self.workspace_id),
        )
        return sorted((r["node_id"], r["iteration"]) for r in rows)

    def outputs(self, run_id: str, node_ids: Sequence[str]) -> dict[str, Any]:
        if not node_ids:
            return {}
        rows = self._all(
            "SELECT node_id, output, output_ref FROM node_runs WHERE run_id = %s AND workspace_id = %s"
            " AND iteration = 0 AND status = 'SUCCEEDED' AND node_id = ANY(%s)",
            (run_id, self.workspace_id, list(node_ids)),
        )
        return {
            r["node_id"]: r["output"] if r["output_ref"] is None else BlobRef.from_json(r["output_ref"]) for r in rows
        }

    def invalidate(self, run_id: str, node_ids: Sequence[str]) -> None:
        if node_ids:
            self._run(
                "UPDATE node_runs SET config_hash = 'stale' WHERE run_id = %s AND workspace_id = %s"
                " AND node_id = ANY(%s)",
                (run_id, self.workspace_id, list(node_ids)),
            )
