"""In-memory adapters of the ports, for unit tests without a database.

`MemoryStore` implements the `Store` port the way the Postgres adapter does, within what the tests need:
each unit of work is a transaction (committed when its block ends, rolled back when it raises; units of
work run one at a time), every repository is limited to the unit of work's workspace as row-level
security limits the real one, and the same statements have the same effects. The repository contract
tests (tests/integration/test_repositories.py) run the same scenarios against both, so this cannot drift.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nexod.domain.actor import Actor
from nexod.domain.cost import DEFAULT_RUNNER_MEMORY_MB, SFN_TRANSITION_USD, cost_source, usd_per_ms
from nexod.domain.errors import InvalidInput
from nexod.domain.events import EVENT_TYPES, EventCursor, RunEvent
from nexod.domain.records import (
    TERMINAL,
    Approval,
    ApprovalLink,
    AuditEntry,
    Budget,
    Credential,
    Cursor,
    DefinitionUse,
    Flow,
    FlowSummary,
    FlowVersion,
    FlowVersionSummary,
    HeldRun,
    KnowledgeBase,
    KnowledgeDocument,
    Member,
    Membership,
    NodeClaim,
    NodeRun,
    NodeRunStatus,
    ParkedStatus,
    ParkedTask,
    Pin,
    Run,
    RunDetail,
    RunLimit,
    RunStatus,
    SoftBudgetCrossed,
    Trigger,
    Usage,
    UsageRow,
    Workspace,
)
from nexod.ports import BlobRef, FlowChanges, PinnedNode, PublishedMachine, TaskGone


class RowLevelSecurity(PermissionError):
    """What PostgreSQL raises for a write outside the unit of work's workspace (InsufficientPrivilege)."""


@dataclass
class _Flow:
    workspace_id: str
    flow: Flow
    deleted: bool = False


@dataclass
class _Audit:
    workspace_id: str
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]


@dataclass
class _Event:
    event: RunEvent
    publish: bool
    published: bool = False


@dataclass
class _Tables:
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    flows: dict[str, _Flow] = field(default_factory=dict)
    versions: dict[tuple[str, int], tuple[str, FlowVersion]] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    node_runs: dict[tuple[str, str, int], tuple[str, NodeRun]] = field(default_factory=dict)
    audit: list[_Audit] = field(default_factory=list)
    credentials: dict[tuple[str, str], Credential] = field(default_factory=dict)
    budgets: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    spend: dict[tuple[str, str], tuple[float, datetime | None]] = field(default_factory=dict)  # (ws, YYYY-MM)
    knowledge_bases: dict[str, tuple[str, KnowledgeBase]] = field(default_factory=dict)
    documents: dict[str, tuple[str, KnowledgeDocument]] = field(default_factory=dict)
    parked: dict[tuple[str, str, int], tuple[str, ParkedTask]] = field(default_factory=dict)
    approvals: dict[str, tuple[str, Approval]] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    notices: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # approval -> (ws, due_at)
    links: dict[str, tuple[str, ApprovalLink]] = field(default_factory=dict)  # nonce -> (ws, link)
    pins: dict[tuple[str, str], tuple[str, Pin]] = field(default_factory=dict)  # (flow, node) -> (ws, pin)

    def copy(self) -> _Tables:
        # Records are immutable and replaced on change, so copying the tables is a snapshot.
        return _Tables(
            dict(self.workspaces),
            dict(self.members),
            {k: replace(v) for k, v in self.flows.items()},
            dict(self.versions),
            dict(self.runs),
            dict(self.node_runs),
            list(self.audit),
            dict(self.credentials),
            dict(self.budgets),
            dict(self.spend),
            dict(self.knowledge_bases),
            dict(self.documents),
            dict(self.parked),
            dict(self.approvals),
            list(self.events),
            dict(self.notices),
            dict(self.links),
            dict(self.pins),
        )


class _Repo:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow
        self.t = uow.tables

    @property
    def ws(self) -> str | None:
        return self.uow.workspace_id

    def _writable_ws(self) -> str:
        if self.ws is None:
            raise RowLevelSecurity("no workspace in scope: writes are refused")
        return self.ws

    @property
    def now(self) -> datetime:
        return self.uow.now


class MemoryWorkspaces(_Repo):
    def create(self, name: str, created_by: str) -> Workspace:
        ws = self._writable_ws()
        if ws in self.t.workspaces:
            raise ValueError(f"workspace {ws} exists")
        created = Workspace(id=ws, name=name, allowed_hosts=[], created_by=created_by, created_at=self.now)
        self.t.workspaces[ws] = created
        return created

    def current(self) -> Workspace | None:
        return self.t.workspaces.get(self.ws) if self.ws else None

    def of_user(self) -> list[Membership]:
        found = [
            Membership(id=w.id, name=w.name, role=m.role, created_at=w.created_at)
            for (ws, sub), m in self.t.members.items()
            if sub == self.uow.user_sub and (w := self.t.workspaces.get(ws)) is not None and w.deleted_at is None
        ]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def mark_deleted(self, deleted_by: str) -> Workspace | None:
        current = self.current()
        if current is None or current.deleted_at is not None:
            return current
        marked = replace(current, deleted_at=self.now, deleted_by=deleted_by)
        self.t.workspaces[current.id] = marked
        return marked

    def complete_deletion(self) -> bool:
        current = self.current()
        if current is None or current.deleted_at is None or current.deletion_completed_at is not None:
            return False
        self.t.workspaces[current.id] = replace(current, deletion_completed_at=self.now)
        return True

    def set_allowed_hosts(self, hosts: Sequence[str]) -> Workspace | None:
        current = self.current()
        if current is None:
            return None
        changed = replace(current, allowed_hosts=list(hosts))
        self.t.workspaces[current.id] = changed
        return changed

    def set_llm_settings(
        self,
        allowed_models: Sequence[str],
        default_model: str | None,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
    ) -> Workspace | None:
        current = self.current()
        if current is None:
            return None
        changed = replace(
            current,
            llm_allowed_models=list(allowed_models),
            llm_default_model=default_model,
            llm_requests_per_minute=requests_per_minute,
            llm_tokens_per_minute=tokens_per_minute,
        )
        self.t.workspaces[current.id] = changed
        return changed


class MemoryMembers(_Repo):
    def role_of(self, user_sub: str, *, deleting: bool = False) -> str | None:
        member = self.t.members.get((self.ws or "", user_sub))
        ws = self.t.workspaces.get(self.ws or "")
        if member is None or ws is None:
            return None
        if ws.deleted_at is not None and not (deleting and ws.deletion_completed_at is None):
            return None
        return member.role

    def all(self) -> list[Member]:
        mine = [m for (ws, _), m in self.t.members.items() if ws == self.ws]
        return sorted(mine, key=lambda m: (m.created_at, m.user_sub))

    def put(self, user_sub: str, role: str, email: str | None = None, name: str | None = None) -> Member:
        ws = self._writable_ws()
        if ws not in self.t.workspaces:
            raise LookupError(f"workspace {ws} does not exist")
        old = self.t.members.get((ws, user_sub))
        if old is None:
            member = Member(user_sub=user_sub, email=email, name=name, role=role, created_at=self.now)
        else:
            member = replace(old, role=role, email=email or old.email, name=name or old.name)
        self.t.members[(ws, user_sub)] = member
        return member

    def remove(self, user_sub: str) -> bool:
        return self.t.members.pop((self.ws or "", user_sub), None) is not None

    def count_admins(self) -> int:
        return sum(1 for (ws, _), m in self.t.members.items() if ws == self.ws and m.role == "admin")


class MemoryFlows(_Repo):
    def _mine(self, flow_id: str) -> _Flow | None:
        row = self.t.flows.get(flow_id)
        return row if row is not None and row.workspace_id == self.ws and not row.deleted else None

    def create(self, name: str, description: str, definition: dict[str, Any]) -> Flow:
        ws = self._writable_ws()
        flow = Flow(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            live_version=None,
            latest_version=0,
            created_at=self.now,
            updated_at=self.now,
            definition=definition,
            state_machine_arn=None,
            created_by=self.uow.user_sub or "",
        )
        self.t.flows[flow.id] = _Flow(ws, flow)
        return flow

    def newest(self, limit: int, after: Cursor | None = None) -> list[FlowSummary]:
        rows = [r.flow for r in self.t.flows.values() if r.workspace_id == self.ws and not r.deleted]
        rows.sort(key=lambda f: (f.created_at, uuid.UUID(f.id)), reverse=True)
        if after is not None:
            rows = [f for f in rows if (f.created_at, uuid.UUID(f.id)) < (after.created_at, uuid.UUID(after.id))]
        return [_summary(f) for f in rows[:limit]]

    def get(self, flow_id: str, for_update: bool = False) -> Flow | None:
        row = self._mine(flow_id)
        return row.flow if row else None

    def update(self, flow_id: str, changes: FlowChanges) -> Flow | None:
        row = self._mine(flow_id)
        if row is None:
            return None
        if not changes:
            return row.flow
        row.flow = replace(row.flow, **changes, updated_at=self.now)
        return row.flow

    def delete(self, flow_id: str) -> bool:
        row = self._mine(flow_id)
        if row is None:
            return False
        row.deleted = True
        return True


def _summary(flow: Flow) -> FlowSummary:
    return FlowSummary(
        id=flow.id,
        name=flow.name,
        description=flow.description,
        live_version=flow.live_version,
        latest_version=flow.latest_version,
        created_at=flow.created_at,
        updated_at=flow.updated_at,
    )


class MemoryVersions(_Repo):
    def add(
        self,
        flow_id: str,
        version: int,
        definition: dict[str, Any],
        asl: dict[str, Any],
        config_hash: str,
        version_arn: str | None,
        description: str,
    ) -> FlowVersion:
        ws = self._writable_ws()
        owner = self.t.flows.get(flow_id)
        if owner is None or owner.workspace_id != ws:
            raise LookupError(f"flow {flow_id} does not exist")
        if (flow_id, version) in self.t.versions:
            raise ValueError(f"flow {flow_id} already has version {version}")
        stored = FlowVersion(
            flow_id=flow_id,
            version=version,
            config_hash=config_hash,
            description=description,
            created_by=self.uow.user_sub or "",
            created_at=self.now,
            state_machine_version_arn=version_arn,
            definition=definition,
            asl=asl,
        )
        self.t.versions[(flow_id, version)] = (ws, stored)
        return stored

    def of_flow(self, flow_id: str) -> list[FlowVersionSummary]:
        mine = [v for (f, n), (ws, v) in self.t.versions.items() if f == flow_id and ws == self.ws and n > 0]
        return [_head(v) for v in sorted(mine, key=lambda v: v.version, reverse=True)]

    def get(self, flow_id: str, version: int) -> FlowVersion | None:
        found = self.t.versions.get((flow_id, version))
        return found[1] if found and found[0] == self.ws else None

    def head(self, flow_id: str, version: int) -> FlowVersionSummary | None:
        found = self.get(flow_id, version)
        return None if found is None else _head(found)


def _head(v: FlowVersion) -> FlowVersionSummary:
    return FlowVersionSummary(
        flow_id=v.flow_id,
        version=v.version,
        config_hash=v.config_hash,
        description=v.description,
        created_by=v.created_by,
        created_at=v.created_at,
        state_machine_version_arn=v.state_machine_version_arn,
    )


class MemoryRuns(_Repo):
    def _mine(self, run_id: str) -> Run | None:
        run = self.t.runs.get(run_id)
        return run if run is not None and run.workspace_id == self.ws else None

    def _put(self, run: Run) -> Run:
        self.t.runs[run.id] = run
        return run

    def create(self, flow_id: str, version: int, run_input: Any, trigger: str, started_by: Actor) -> Run:
        ws = self._writable_ws()
        found = self.t.versions.get((flow_id, version))
        if found is None or found[0] != ws:
            raise LookupError(f"flow {flow_id} has no version {version}")
        ref = started_by.ref
        return self._put(
            Run(
                id=str(uuid.uuid4()),
                workspace_id=ws,
                flow_id=flow_id,
                version=version,
                status="QUEUED",
                input=run_input,
                output=None,
                error=None,
                execution_arn=None,
                trigger=trigger,
                attempt=0,
                created_by=ref.label,
                started_by=ref,
                created_at=self.now,
                started_at=None,
                finished_at=None,
                test=version < 0,
                number=1 + sum(1 for r in self.t.runs.values() if r.flow_id == flow_id),
                active_ms=0,
            )
        )

    def get(self, run_id: str, for_update: bool = False) -> Run | None:
        return self._mine(run_id)

    def _detail(self, run: Run) -> RunDetail:
        flow = self.t.flows.get(run.flow_id)
        mine = [n for (r, _, _), (_, n) in self.t.node_runs.items() if r == run.id]
        return RunDetail(
            **{k: v for k, v in asdict(run).items() if k != "started_by"},
            started_by=run.started_by,
            flow_name=flow.flow.name if flow else None,
            cost_usd=float(sum(n.cost_usd or 0 for n in mine)),
            tokens=sum((n.tokens_in or 0) + (n.tokens_out or 0) for n in mine),
            llm_cost_usd=float(sum(n.cost_usd or 0 for n in mine)),
            compute_cost_usd=float(sum(n.compute_cost_usd or 0 for n in mine)),
            orchestration_cost_usd=float(sum(n.orchestration_cost_usd or 0 for n in mine)),
        )

    def detail(self, run_id: str) -> RunDetail | None:
        run = self._mine(run_id)
        return self._detail(run) if run else None

    def newest(
        self,
        limit: int,
        after: Cursor | None = None,
        flow_id: str | None = None,
        status: RunStatus | None = None,
        number: int | None = None,
        *,
        test: bool | None = False,
    ) -> list[RunDetail]:
        rows = [
            r
            for r in self.t.runs.values()
            if r.workspace_id == self.ws
            and (test is None or r.test == test)
            and (not flow_id or r.flow_id == flow_id)
            and (not status or r.status == status)
            and (number is None or r.number == number)
        ]
        rows.sort(key=lambda r: (r.created_at, uuid.UUID(r.id)), reverse=True)
        if after is not None:
            rows = [r for r in rows if (r.created_at, uuid.UUID(r.id)) < (after.created_at, uuid.UUID(after.id))]
        return [self._detail(r) for r in rows[:limit]]

    def mark(
        self,
        run_id: str,
        status: RunStatus,
        *,
        execution_arn: str | None = None,
        output: Any = None,
        error: Any = None,
        only_from: tuple[RunStatus, ...] | None = None,
        output_ref: BlobRef | None = None,
    ) -> Run | None:
        run = self._mine(run_id)
        if run is None or (only_from and run.status not in only_from):
            return None
        changes: dict[str, Any] = {"status": status}
        if execution_arn is not None:
            changes["execution_arn"] = execution_arn
        if status == "RUNNING":
            changes.update(started_at=run.started_at or self.now, finished_at=None, error=None)
        if status in TERMINAL:
            ref = output_ref.as_json() if output_ref is not None else None
            changes.update(finished_at=self.now, output=output, output_ref=ref, error=error)
        return self._put(replace(run, **changes))

    def begin_redrive(self, run_id: str) -> Run | None:
        run = self._mine(run_id)
        if run is None:
            return None
        return self._put(
            replace(
                run, status="RUNNING", error=None, output=None, output_ref=None, finished_at=None, execution_arn=None
            )
        )

    def set_version(self, run_id: str, version: int) -> None:
        run = self._mine(run_id)
        if run is not None:
            self._put(replace(run, version=version))

    def set_label(self, run_id: str, label: str | None) -> Run | None:
        run = self._mine(run_id)
        return None if run is None else self._put(replace(run, label=label))

    def start_attempt(self, run_id: str, execution_arn: str, started: dict[str, Any] | None = None) -> None:
        run = self._mine(run_id)
        if run is None:
            return
        run = self._put(
            replace(
                run,
                attempt=run.attempt + 1,
                execution_arn=execution_arn,
                status="RUNNING" if run.status == "QUEUED" else run.status,
                started_at=run.started_at or self.now,
            )
        )
        if started is not None and run.status == "RUNNING":
            self.uow.events.append(run_id, "run.started", data=started)


class MemoryNodeRuns(_Repo):
    def _mine(self, key: tuple[str, str, int]) -> NodeRun | None:
        found = self.t.node_runs.get(key)
        return found[1] if found and found[0] == self.ws else None

    def add_compute_cost(self, run_id: str, node_id: str, iteration: int, usd: float) -> None:
        row = self._mine((run_id, node_id, iteration))
        if row is not None:
            cost = (row.compute_cost_usd or 0.0) + usd
            self.t.node_runs[(run_id, node_id, iteration)] = (self.ws, replace(row, compute_cost_usd=cost))

    def _put(self, node_run: NodeRun) -> NodeRun:
        self.t.node_runs[(node_run.run_id, node_run.node_id, node_run.iteration)] = (self._writable_ws(), node_run)
        return node_run

    def _new(self, run_id: str, node_id: str, iteration: int, node_type: str, **values: Any) -> NodeRun:
        run = self.t.runs.get(run_id)
        if run is None or run.workspace_id != self._writable_ws():
            raise LookupError(f"run {run_id} does not exist")
        base: dict[str, Any] = {
            "status": "RUNNING",
            "attempts": 0,
            "executions": 0,
            "config_hash": "",
            "input": None,
            "output": None,
            "take": None,
            "error": None,
            "started_at": None,
            "finished_at": None,
            "duration_ms": None,
            "model": None,
            "tokens_in": None,
            "tokens_out": None,
            "cost_usd": None,
        }
        return NodeRun(run_id=run_id, node_id=node_id, iteration=iteration, node_type=node_type, **{**base, **values})

    def get(self, run_id: str, node_id: str, iteration: int = 0) -> NodeRun | None:
        return self._mine((run_id, node_id, iteration))

    def of_run(self, run_id: str) -> list[NodeRun]:
        mine = [n for (r, _, _), (ws, n) in self.t.node_runs.items() if r == run_id and ws == self.ws]
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(mine, key=lambda n: (n.started_at or far, n.node_id, n.iteration))

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
        runs = self.uow.runs
        run = runs._mine(run_id)
        if run is None:
            return NodeClaim(run=None, node_run=None)
        if run.status in ("CANCELLED", "SUCCEEDED") or (run.flow_id, run.version) != (flow_id, version):
            return NodeClaim(run=run, node_run=None)
        if run.status == "QUEUED":
            runs.mark(run_id, "RUNNING", only_from=("QUEUED",))
        old = self.get(run_id, node_id, iteration)
        if old is None:
            claimed = self._put(
                self._new(
                    run_id, node_id, iteration, node_type, attempts=1, config_hash=config_hash, started_at=self.now
                )
            )
        else:
            claimed = self._put(replace(old, attempts=old.attempts + 1))
        memo = claimed.status == "SUCCEEDED" and claimed.config_hash == config_hash
        outputs = {} if memo else self.outputs(run_id, upstream)
        begun = begin_input is not None and not memo
        if begun:
            self.uow.events.append(run_id, "node.started", node_id, iteration, {"attempt": claimed.attempts})
            self.begin_execution(run_id, node_id, iteration, config_hash, begin_input)
            claimed = self.get(run_id, node_id, iteration) or claimed
        return NodeClaim(run=run, node_run=claimed, upstream=outputs, begun=begun)

    def begin_execution(self, run_id: str, node_id: str, iteration: int, config_hash: str, node_input: Any) -> None:
        old = self.get(run_id, node_id, iteration)
        if old is not None:
            self._put(
                replace(
                    old,
                    status="RUNNING",
                    executions=old.executions + 1,
                    config_hash=config_hash,
                    input=node_input,
                    error=None,
                    started_at=old.started_at or self.now,
                    finished_at=None,
                    next_attempt_at=None,
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
        old = self.get(run_id, node_id, iteration)
        if old is None:
            return None
        usage = usage or Usage()
        duration_ms = _ms(self.now - old.started_at) if old.started_at else None
        # As the numeric columns store them: LLM cost to 6 decimals, compute and orchestration to 8.
        cost = None if usage.cost_usd is None else round(usage.cost_usd, 6)
        compute = None if duration_ms is None else round(duration_ms * usd_per_ms(memory_mb), 8)
        orchestration = round(old.attempts * SFN_TRANSITION_USD, 8)
        self._put(
            replace(
                old,
                status=status,
                output=output,
                output_ref=output_ref.as_json() if output_ref is not None else None,
                take=take,
                error=error,
                finished_at=self.now,
                duration_ms=duration_ms,
                model=usage.model,
                tokens_in=usage.tokens_in,
                tokens_out=usage.tokens_out,
                cost_usd=cost,
                cost_source=cost_source(usage.tokens_in, usage.tokens_out, usage.cost_usd),
                compute_cost_usd=compute,
                transitions=old.attempts,
                orchestration_cost_usd=orchestration,
                next_attempt_at=next_attempt_at,
                retries=old.retries + 1 if status == "RETRYING" else 0,
            )
        )
        ws, month = self._writable_ws(), self.now.strftime("%Y-%m")
        spent, crossed_at = self.t.spend.get((ws, month), (0.0, None))
        spent = round(spent + (cost or 0) + (compute or 0) + orchestration, 8)
        self.t.spend[(ws, month)] = (spent, crossed_at)
        soft = self.t.budgets.get(ws, (None, None))[0]
        if crossed_at is None and soft is not None and spent >= soft:
            self.t.spend[(ws, month)] = (spent, self.now)
            return SoftBudgetCrossed(month=month, month_to_date_usd=spent, soft_limit_usd=soft)
        return None

    def record_entry(self, run_id: str, node_id: str, config_hash: str, run_input: Any, take: dict[str, bool]) -> None:
        old = self.get(run_id, node_id, 0)
        if old is not None:
            self._put(replace(old, config_hash=config_hash, take=take, status="SUCCEEDED", attempts=old.attempts + 1))
            return
        self._put(
            self._new(
                run_id,
                node_id,
                0,
                "input",
                status="SUCCEEDED",
                attempts=1,
                executions=1,
                config_hash=config_hash,
                input=run_input,
                output=run_input,
                take=take,
                started_at=self.now,
                finished_at=self.now,
                duration_ms=0,
            )
        )

    def record_skipped(self, run_id: str, nodes: Sequence[tuple[str, str]]) -> list[str]:
        skipped: list[str] = []
        for node_id, node_type in nodes:
            if (run_id, node_id, 0) not in self.t.node_runs:
                self._put(self._new(run_id, node_id, 0, node_type, status="SKIPPED"))
                skipped.append(node_id)
        return skipped

    def fail_running(self, run_id: str, error: Any) -> list[tuple[str, int]]:
        failed: list[tuple[str, int]] = []
        for n in self.of_run(run_id):
            if n.status in ("RUNNING", "RETRYING"):
                failed.append((n.node_id, n.iteration))
                self._put(
                    replace(
                        n,
                        status="FAILED",
                        error=n.error if n.error is not None else error,
                        finished_at=self.now,
                        duration_ms=_ms(self.now - n.started_at) if n.started_at else None,
                    )
                )
        return sorted(failed)

    def outputs(self, run_id: str, node_ids: Sequence[str]) -> dict[str, Any]:
        found = {}
        for node_id in node_ids:
            n = self.get(run_id, node_id, 0)
            if n is not None and n.status == "SUCCEEDED":
                found[node_id] = n.output if n.output_ref is None else BlobRef.from_json(n.output_ref)
        return found

    def invalidate(self, run_id: str, node_ids: Sequence[str]) -> None:
        for n in self.of_run(run_id):
            if n.node_id in node_ids:
                self._put(replace(n, config_hash="stale"))


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


class MemoryParkedTasks(_Repo):
    def _mine(self, key: tuple[str, str, int]) -> ParkedTask | None:
        found = self.t.parked.get(key)
        return found[1] if found and found[0] == self.ws else None

    def _put(self, parked: ParkedTask) -> ParkedTask:
        self.t.parked[(parked.run_id, parked.node_id, parked.iteration)] = (self._writable_ws(), parked)
        return parked

    def park(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        node_type: str,
        *,
        attempt: int,
        task_token: str,
        waits_for: Any,
        timeout_seconds: int | None,
    ) -> ParkedTask:
        if (run_id, node_id, iteration) not in self.t.node_runs:
            raise LookupError("a parked task needs its node run")
        timeout_at = self.now + timedelta(seconds=timeout_seconds) if timeout_seconds is not None else None
        return self._put(
            ParkedTask(
                run_id,
                node_id,
                iteration,
                node_type,
                attempt,
                task_token,
                waits_for,
                "PARKED",
                self.now,
                None,
                timeout_at,
                None,
                None,
            )
        )

    def get(self, run_id: str, node_id: str, iteration: int = 0, for_update: bool = False) -> ParkedTask | None:
        return self._mine((run_id, node_id, iteration))

    def of_run(self, run_id: str) -> list[ParkedTask]:
        return [p for (r, _, _), (ws, p) in self.t.parked.items() if r == run_id and ws == self.ws]

    def settle(
        self, run_id: str, node_id: str, iteration: int, status: ParkedStatus, closed_by: str
    ) -> ParkedTask | None:
        found = self._mine((run_id, node_id, iteration))
        if found is None or found.status != "PARKED":
            return None
        return self._put(replace(found, status=status, closed_at=self.now, closed_by=closed_by))

    def close_open(self, run_id: str, status: ParkedStatus, reason: str) -> list[ParkedTask]:
        return [
            self._put(replace(p, status=status, closed_at=self.now, closed_by=reason))
            for p in self.of_run(run_id)
            if p.status == "PARKED"
        ]

    def beat(self, run_id: str, node_id: str, iteration: int = 0) -> ParkedTask | None:
        found = self._mine((run_id, node_id, iteration))
        if found is None or found.status != "PARKED":
            return None
        return self._put(replace(found, heartbeat_at=self.now))


class MemoryApprovals(_Repo):
    """Approvals in memory; a pending one whose token is no longer parked reads as withdrawn or expired."""

    def _read(self, approval: Approval) -> Approval:
        found = self.t.parked.get((approval.run_id, approval.node_id, approval.iteration))
        token = found[1].status if found else None
        if approval.status == "pending" and token == "EXPIRED":
            return replace(approval, status="expired")
        if approval.status == "pending" and token in ("WITHDRAWN", "FAILED"):
            return replace(approval, status="withdrawn")
        return approval

    def _mine(self) -> list[Approval]:
        return [a for ws, a in self.t.approvals.values() if ws == self.ws]

    def request(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        *,
        flow_id: str,
        title: str,
        message: str,
        approvers: Any,
        required_approvals: int,
        form: Any,
        on_timeout: str,
        remind_every_seconds: int | None,
        timeout_seconds: int,
        notify: Any = None,
    ) -> Approval:
        existing = self.of_node(run_id, node_id, iteration)
        expires = self.now + timedelta(seconds=timeout_seconds)
        if existing is None:
            made = Approval(
                str(uuid.uuid4()),
                run_id,
                node_id,
                iteration,
                flow_id,
                title,
                message,
                approvers,
                required_approvals,
                form,
                on_timeout,
                remind_every_seconds,
                "pending",
                [],
                None,
                self.now,
                expires,
                None,
                notify,
            )
        else:
            raw = self.t.approvals[existing.id][1]
            made = replace(
                raw,
                title=title,
                message=message,
                approvers=approvers,
                required_approvals=required_approvals,
                form=form,
                on_timeout=on_timeout,
                remind_every_seconds=remind_every_seconds,
                notify=notify,
                expires_at=expires,
                decisions=raw.decisions if raw.status == "pending" else [],
                outcome=None,
                decided_at=None,
                status="pending",
            )
        self.t.approvals[made.id] = (self._writable_ws(), made)
        return made

    def get(self, approval_id: str, for_update: bool = False) -> Approval | None:
        found = self.t.approvals.get(approval_id)
        return self._read(found[1]) if found and found[0] == self.ws else None

    def of_node(self, run_id: str, node_id: str, iteration: int = 0) -> Approval | None:
        for a in self._mine():
            if (a.run_id, a.node_id, a.iteration) == (run_id, node_id, iteration):
                return self._read(a)
        return None

    def newest(
        self,
        limit: int,
        after: Cursor | None = None,
        statuses: Sequence[str] = (),
        run_id: str | None = None,
        flow_id: str | None = None,
        decider: tuple[str, str] | None = None,
    ) -> list[Approval]:
        found = [self._read(a) for a in self._mine()]
        found = [
            a
            for a in found
            if (not statuses or a.status in statuses)
            and (run_id is None or a.run_id == run_id)
            and (flow_id is None or a.flow_id == flow_id)
            and (
                decider is None
                or decider[0] in a.approvers.get("users", [])
                or decider[1] in a.approvers.get("roles", [])
            )
            and (after is None or (a.created_at, a.id) < (after.created_at, after.id))
        ]
        return sorted(found, key=lambda a: (a.created_at, a.id), reverse=True)[:limit]

    def record(self, approval_id: str, *, status: str, decisions: Any, outcome: Any = None) -> Approval | None:
        found = self.t.approvals.get(approval_id)
        if found is None or found[0] != self.ws:
            return None
        final = status in ("approved", "rejected", "expired")
        made = replace(
            found[1],
            status=status,
            decisions=decisions,
            outcome=outcome,
            decided_at=self.now if final else found[1].decided_at,
        )
        self.t.approvals[approval_id] = (found[0], made)
        return made

    def schedule_notice(self, approval_id: str, due_at: datetime | None) -> None:
        if due_at is None:
            self.t.notices.pop(approval_id, None)
        else:
            self.t.notices[approval_id] = (self._writable_ws(), due_at)

    def notice_due_at(self, approval_id: str) -> datetime | None:
        found = self.t.notices.get(approval_id)
        return found[1] if found is not None and found[0] == self.ws else None

    def due_notice(self, approval_id: str, now: datetime) -> bool:
        found = self.t.notices.get(approval_id)
        return found is not None and found[0] == self.ws and found[1] <= now

    def due_notices(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        due = sorted((at, ws, a) for a, (ws, at) in self.t.notices.items() if at <= now)
        return [(ws, a) for _, ws, a in due[:limit]]

    def mark_notified(self, approval_id: str, now: datetime, reminder: bool) -> None:
        found = self.t.approvals[approval_id]
        change = {"last_reminded_at": now} if reminder else {"notified_at": now}
        self.t.approvals[approval_id] = (found[0], replace(found[1], **change))

    def issue_link(self, nonce: str, approval_id: str, recipient: str, expires_at: datetime) -> None:
        link = ApprovalLink(nonce, approval_id, recipient, self.now, expires_at, None)
        self.t.links[nonce] = (self._writable_ws(), link)

    def link(self, nonce: str, for_update: bool = False) -> ApprovalLink | None:
        found = self.t.links.get(nonce)
        return found[1] if found and found[0] == self.ws else None

    def use_link(self, nonce: str) -> bool:
        found = self.link(nonce)
        if found is None or found.used_at is not None:
            return False
        self.t.links[nonce] = (self._writable_ws(), replace(found, used_at=self.now))
        return True

    def close_pending(self, run_id: str, status: str) -> list[Approval]:
        closed = []
        for a in self._mine():
            if a.run_id == run_id and a.status == "pending":
                made = replace(a, status=status, decided_at=self.now)
                self.t.approvals[a.id] = (self._writable_ws(), made)
                closed.append(made)
        return closed


class MemoryAudit(_Repo):
    def record(
        self,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> None:
        who = actor.ref.label if actor is not None else (self.uow.user_sub or "system")
        self.t.audit.append(_Audit(self._writable_ws(), who, action, target_type, target_id, details or {}))

    def newest(self, limit: int, before: int | None = None, action: str | None = None) -> list[AuditEntry]:
        mine = [(i + 1, a) for i, a in enumerate(self.t.audit) if a.workspace_id == self.ws]
        found = [
            AuditEntry(
                id=i,
                actor=a.actor,
                action=a.action,
                target_type=a.target_type,
                target_id=a.target_id,
                details=a.details,
                created_at=self.now,
            )
            for i, a in reversed(mine)
            if (before is None or i < before)
            and (not action or (a.action.startswith(action) if action.endswith(".") else a.action == action))
        ]
        return found[:limit]

    def entries(self) -> list[_Audit]:
        """What the workspace's log holds (the Postgres adapter has no reader: tests look through this)."""
        return [a for a in self.t.audit if a.workspace_id == self.ws]


class MemoryCredentials(_Repo):
    def create(
        self,
        name: str,
        type_name: str,
        description: str,
        fields: Sequence[str],
        created_by: str,
        provider: str | None = None,
    ) -> bool:
        ws = self._writable_ws()
        if (ws, name) in self.t.credentials:
            return False
        self.t.credentials[(ws, name)] = Credential(
            name=name,
            type=type_name,
            description=description,
            fields=list(fields),
            created_by=created_by,
            created_at=self.now,
            rotated_by=None,
            rotated_at=None,
            last_used_at=None,
            provider=provider,
        )
        return True

    def get(self, name: str, for_update: bool = False) -> Credential | None:
        return self.t.credentials.get((self.ws or "", name))

    def all(self) -> list[Credential]:
        return sorted((c for (ws, _), c in self.t.credentials.items() if ws == self.ws), key=lambda c: c.name)

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        fields: Sequence[str] | None = None,
        rotated_by: str | None,
        provider: str | None = None,
    ) -> Credential | None:
        old = self.get(name)
        if old is None:
            return None
        new = replace(old, description=old.description if description is None else description)
        if fields is not None:
            new = replace(new, fields=list(fields), rotated_by=rotated_by, rotated_at=self.now)
        if provider is not None:
            new = replace(new, provider=provider)
        self.t.credentials[(self._writable_ws(), name)] = new
        return new

    def delete(self, name: str) -> bool:
        return self.t.credentials.pop((self._writable_ws(), name), None) is not None

    def types_of(self, names: Sequence[str]) -> dict[str, str]:
        return {n: c.type for n in names if (c := self.get(n)) is not None}

    def definitions_naming_secrets(self) -> list[DefinitionUse]:
        found: list[DefinitionUse] = []
        for entry in self.t.flows.values():
            flow = entry.flow
            if entry.workspace_id != self.ws or entry.deleted:
                continue
            if "secrets." in json.dumps(flow.definition):
                found.append(
                    DefinitionUse(flow_id=flow.id, flow_name=flow.name, live=False, definition=flow.definition)
                )
            live = self.t.versions.get((flow.id, flow.live_version)) if flow.live_version else None
            if live is not None and "secrets." in json.dumps(live[1].definition):
                found.append(
                    DefinitionUse(flow_id=flow.id, flow_name=flow.name, live=True, definition=live[1].definition)
                )
        return sorted(found, key=lambda d: (d.flow_name, d.flow_id, d.live))

    def touch(self, names: Sequence[str]) -> None:
        for name in names:
            old = self.get(name)
            if old is not None:
                self.t.credentials[(self._writable_ws(), name)] = replace(old, last_used_at=self.now)


class MemoryBudgets(_Repo):
    def get(self) -> Budget:
        soft, hard = self.t.budgets.get(self.ws or "", (None, None))
        spent, crossed_at = self.t.spend.get((self.ws or "", self.now.strftime("%Y-%m")), (0.0, None))
        return Budget(monthly_soft_usd=soft, monthly_hard_usd=hard, month_to_date_usd=spent, soft_crossed_at=crossed_at)

    def add_spend(self, usd: float) -> None:
        ws, month = self._writable_ws(), self.now.strftime("%Y-%m")
        spent, crossed_at = self.t.spend.get((ws, month), (0.0, None))
        self.t.spend[(ws, month)] = (round(spent + usd, 8), crossed_at)

    def put(self, monthly_soft_usd: float | None, monthly_hard_usd: float | None) -> Budget:
        self.t.budgets[self._writable_ws()] = (
            None if monthly_soft_usd is None else round(monthly_soft_usd, 2),
            None if monthly_hard_usd is None else round(monthly_hard_usd, 2),
        )
        return self.get()

    def over_hard(self) -> tuple[float, float] | None:
        budget = self.get()
        hard = budget.monthly_hard_usd
        if hard is None or budget.month_to_date_usd < hard:
            return None
        return budget.month_to_date_usd, hard

    def usage(self, start: datetime, end: datetime, tz: str, group_by: str, *, test: bool = False) -> list[UsageRow]:
        groups: dict[str, list[NodeRun]] = {}
        labels: dict[str, str] = {}
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"tz: '{tz}' is not a time zone this database knows", {"field": "tz"}) from None
        for (_, _, _), (ws, n) in self.t.node_runs.items():
            if ws != self.ws or n.finished_at is None or not start <= n.finished_at < end:
                continue
            run = self.t.runs[n.run_id]
            if run.test and not test:
                continue
            if group_by == "day":
                key = n.finished_at.astimezone(zone).strftime("%Y-%m-%d")
            elif group_by == "flow":
                key = run.flow_id
                labels[key] = self.t.flows[run.flow_id].flow.name
            elif group_by == "model":
                key = n.model or ""
            else:
                key = n.node_type
            groups.setdefault(key, []).append(n)
        return [
            UsageRow(
                key=key,
                label=labels.get(key, key),
                llm_usd=sum(n.cost_usd or 0 for n in runs),
                compute_usd=sum(n.compute_cost_usd or 0 for n in runs),
                orchestration_usd=sum(n.orchestration_cost_usd or 0 for n in runs),
                tokens_in=sum(n.tokens_in or 0 for n in runs),
                tokens_out=sum(n.tokens_out or 0 for n in runs),
                node_runs=len(runs),
            )
            for key, runs in sorted(groups.items())
        ]


class MemoryKnowledge(_Repo):
    def create_base(
        self,
        name: str,
        description: str,
        embedding_model: str,
        dimensions: int,
        store: str,
        pinecone: dict[str, Any] | None,
        created_by: str,
    ) -> KnowledgeBase | None:
        ws = self._writable_ws()
        if any(w == ws and b.name == name for w, b in self.t.knowledge_bases.values()):
            return None
        kb = KnowledgeBase(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            embedding_model=embedding_model,
            dimensions=dimensions,
            store="pinecone" if store == "pinecone" else "pgvector",
            pinecone=pinecone,
            created_by=created_by,
            created_at=self.now,
        )
        self.t.knowledge_bases[kb.id] = (ws, kb)
        return kb

    def _counted(self, kb: KnowledgeBase) -> KnowledgeBase:
        docs = [d for w, d in self.t.documents.values() if w == self.ws and d.knowledge_base_id == kb.id]
        return replace(kb, documents=len(docs), chunks=sum(d.chunks for d in docs))

    def bases(self) -> list[KnowledgeBase]:
        found = [self._counted(b) for w, b in self.t.knowledge_bases.values() if w == self.ws]
        return sorted(found, key=lambda b: (b.name, b.id))

    def base(self, kb_id: str) -> KnowledgeBase | None:
        entry = self.t.knowledge_bases.get(kb_id)
        return self._counted(entry[1]) if entry and entry[0] == self.ws else None

    def add_document(self, document: KnowledgeDocument) -> KnowledgeDocument:
        stored = replace(document, created_at=self.now)
        self.t.documents[document.id] = (self._writable_ws(), stored)
        return stored

    def documents(self, kb_id: str, limit: int, before: tuple[datetime, str] | None = None) -> list[KnowledgeDocument]:
        docs = [d for w, d in self.t.documents.values() if w == self.ws and d.knowledge_base_id == kb_id]
        docs.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        if before is not None:
            docs = [d for d in docs if (d.created_at, d.id) < before]
        return docs[:limit]

    def document(self, kb_id: str, document_id: str) -> KnowledgeDocument | None:
        entry = self.t.documents.get(document_id)
        if entry and entry[0] == self.ws and entry[1].knowledge_base_id == kb_id:
            return entry[1]
        return None

    def delete_document(self, kb_id: str, document_id: str) -> bool:
        if self.document(kb_id, document_id) is None:
            return False
        del self.t.documents[document_id]
        return True


class MemoryEvents(_Repo):
    """Units of work run one at a time here, so every committed event is visible at once, in id order (the
    Postgres adapter's late-commit horizon has nothing to hold back)."""

    def append(
        self,
        run_id: str | None,
        type: str,
        node_id: str | None = None,
        iteration: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        kind = EVENT_TYPES[type]
        ws = self._writable_ws()
        ident = len(self.t.events) + 1
        event = RunEvent(
            cursor=EventCursor(ident, ident),
            workspace_id=ws,
            run_id=run_id,
            type=type,
            node_id=node_id,
            iteration=iteration,
            data=json.loads(json.dumps(data or {}, default=str)),
            created_at=self.now,
        )
        self.t.events.append(_Event(event, kind.published))

    def after(self, cursor: EventCursor | None, run_id: str | None = None, limit: int = 100) -> list[RunEvent]:
        found = [
            e.event
            for e in self.t.events
            if e.event.workspace_id == self.ws
            and (run_id is None or e.event.run_id == run_id)
            and (cursor is None or e.event.cursor > cursor)
        ]
        return found[:limit]

    def unpublished(self, limit: int = 10) -> list[RunEvent]:
        mine = [e.event for e in self.t.events if e.event.workspace_id == self.ws and e.publish and not e.published]
        return mine[:limit]

    def mark_published(self, cursors: Sequence[EventCursor]) -> None:
        done = set(cursors)
        self.t.events = [
            replace(e, published=True) if e.event.workspace_id == self.ws and e.event.cursor in done else e
            for e in self.t.events
        ]


class MemoryTriggers:
    """What the unit tests reach of triggers (a workspace deletion lists and removes them); the trigger
    pipeline itself is tested against PostgreSQL (tests/integration/test_triggers.py)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow
        self.rows: list[Trigger] = []

    def all(self) -> list[Trigger]:
        return list(self.rows)

    def of_flow(self, flow_id: str) -> list[Trigger]:
        return [t for t in self.rows if t.flow_id == flow_id]

    def delete(self, trigger_id: str) -> bool:
        kept = [t for t in self.rows if t.id != trigger_id]
        removed = len(kept) != len(self.rows)
        self.rows = kept
        return removed

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"triggers.{name} is tested against PostgreSQL, not the memory store")


class MemoryDrafts(_Repo):
    def pins(self, flow_id: str) -> list[Pin]:
        mine = [p for (f, _), (ws, p) in self.t.pins.items() if f == flow_id and ws == self.ws]
        return sorted(mine, key=lambda p: p.node_id)

    def pin(self, flow_id: str, node_id: str, output: Any, output_ref: Any, from_run: str | None) -> Pin:
        ws = self._writable_ws()
        pin = Pin(
            flow_id=flow_id,
            node_id=node_id,
            output=json.loads(json.dumps(output)),
            output_ref=output_ref,
            from_run=from_run,
            pinned_by=self.uow.user_sub or "system",
            pinned_at=self.now,
        )
        self.t.pins[(flow_id, node_id)] = (ws, pin)
        return pin

    def unpin(self, flow_id: str, node_id: str) -> bool:
        found = self.t.pins.get((flow_id, node_id))
        if found is None or found[0] != self.ws:
            return False
        del self.t.pins[(flow_id, node_id)]
        return True

    def next_snapshot(self, flow_id: str) -> int:
        tests = [n for (f, n), (ws, _) in self.t.versions.items() if f == flow_id and ws == self.ws and n < 0]
        return min(tests, default=0) - 1

    def record_pinned(self, run_id: str, nodes: Sequence[PinnedNode]) -> None:
        runs = MemoryNodeRuns(self.uow)
        for n in nodes:
            row = runs._new(
                run_id,
                n.node_id,
                0,
                n.node_type,
                status="SUCCEEDED",
                config_hash=n.config_hash,
                output=n.output,
                output_ref=n.output_ref,
                take=n.take,
                pinned=True,
                started_at=self.now,
                finished_at=self.now,
                duration_ms=0,
            )
            runs._put(row)

    def set_take(self, run_id: str, node_id: str, iteration: int, take: dict[str, bool]) -> None:
        found = self.t.node_runs.get((run_id, node_id, iteration))
        if found is not None and found[0] == self.ws:
            self.t.node_runs[(run_id, node_id, iteration)] = (found[0], replace(found[1], take=take))

    def expired_test_runs(self, before: datetime, limit: int = 100) -> list[tuple[str, str]]:
        old = sorted((r for r in self.t.runs.values() if r.test and r.created_at < before), key=lambda r: r.created_at)
        return [(r.workspace_id, r.id) for r in old[:limit]]

    def delete_test_run(self, run_id: str) -> list[str]:
        run = self.t.runs.get(run_id)
        if run is None or run.workspace_id != self.ws or not run.test:
            return []
        del self.t.runs[run_id]
        for key in [k for k in self.t.node_runs if k[0] == run_id]:
            del self.t.node_runs[key]
        used = {(r.flow_id, r.version) for r in self.t.runs.values()}
        gone = [k for k in self.t.versions if k[0] == run.flow_id and k[1] < 0 and k not in used]
        arns = [self.t.versions[k][1].state_machine_version_arn for k in gone]
        for k in gone:
            del self.t.versions[k]
        return [a for a in arns if a]


class MemoryLimits:
    """No concurrency limit is ever set in the memory store: every run is admitted. Limits are tested against
    PostgreSQL (tests/integration/test_run_limits.py), whose advisory lock they rely on."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def of(self, flow_id: str) -> tuple[RunLimit, RunLimit]:
        return RunLimit(flow_id), RunLimit(None)

    def held(self, flow_id: str | None = None, limit: int = 500) -> list[HeldRun]:
        return []

    def release(self, run_id: str) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"limits.{name} is tested against PostgreSQL, not the memory store")


class MemoryUnitOfWork:
    def __init__(self, tables: _Tables, workspace_id: str | None, user_sub: str | None, now: datetime) -> None:
        self.tables = tables
        self.workspace_id = workspace_id
        self.user_sub = user_sub
        self.now = now  # like PostgreSQL's now(): the time the transaction started
        self.workspaces = MemoryWorkspaces(self)
        self.members = MemoryMembers(self)
        self.flows = MemoryFlows(self)
        self.versions = MemoryVersions(self)
        self.runs = MemoryRuns(self)
        self.node_runs = MemoryNodeRuns(self)
        self.audit = MemoryAudit(self)
        self.credentials = MemoryCredentials(self)
        self.budgets = MemoryBudgets(self)
        self.knowledge = MemoryKnowledge(self)
        self.parked = MemoryParkedTasks(self)
        self.approvals = MemoryApprovals(self)
        self.events = MemoryEvents(self)
        self.triggers = MemoryTriggers(self)
        self.drafts = MemoryDrafts(self)
        self.limits = MemoryLimits(self)


class MemoryStore:
    """The `Store` port in memory: one unit of work at a time, each a transaction."""

    def __init__(self) -> None:
        self.tables = _Tables()
        self._lock = threading.RLock()
        self._clock = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
        self.units = 0  # how many units of work were opened

    def _tick(self) -> datetime:
        self._clock += timedelta(milliseconds=1)
        return self._clock

    @contextmanager
    def tx(self, workspace_id: str | None, user_sub: str | None = None) -> Iterator[MemoryUnitOfWork]:
        with self._lock:
            self.units += 1
            working = self.tables.copy()
            yield MemoryUnitOfWork(working, workspace_id, user_sub, self._tick())
            self.tables = working  # reached only when the block did not raise: commit


class FakeOrchestrator:
    """The `Orchestrator` port without Step Functions: it records what it was asked to do."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], str]] = []
        self.live: dict[str, str] = {}
        self.started: list[tuple[str, str, dict[str, Any]]] = []
        self.stopped: list[tuple[str, str]] = []
        self.fail_start: Exception | None = None
        self.task_results: list[tuple[str, str, dict[str, Any]]] = []  # (token, success|failure|heartbeat, body)
        self.gone_tokens: set[str] = set()
        self.deleted_versions: list[str] = []

    def publish(self, name: str, definition: dict[str, Any], description: str) -> PublishedMachine:
        self.published.append((name, definition, description))
        machine = f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}"
        count = sum(1 for n, _, _ in self.published if n == name)
        return PublishedMachine(machine, f"{machine}:{count}")

    def set_live(self, state_machine_arn: str, version_arn: str) -> None:
        self.live[state_machine_arn] = version_arn

    def start(self, target_arn: str, execution_name: str, payload: dict[str, Any]) -> str:
        if self.fail_start is not None:
            raise self.fail_start
        self.started.append((target_arn, execution_name, payload))
        return f"{target_arn}:execution:{execution_name}"

    def stop(self, execution_arn: str, cause: str) -> None:
        self.stopped.append((execution_arn, cause))

    def status(self, execution_arn: str) -> str:
        return "ABORTED" if any(arn == execution_arn for arn, _ in self.stopped) else "RUNNING"

    def delete_version(self, version_arn: str) -> None:
        self.deleted_versions.append(version_arn)

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None:
        self._waiting(task_token)
        self.task_results.append((task_token, "success", output))

    def send_task_failure(self, task_token: str, error: str, cause: str) -> None:
        self._waiting(task_token)
        self.task_results.append((task_token, "failure", {"error": error, "cause": cause}))

    def send_task_heartbeat(self, task_token: str) -> None:
        self._waiting(task_token)
        self.task_results.append((task_token, "heartbeat", {}))

    def _waiting(self, task_token: str) -> None:
        if task_token in self.gone_tokens or any(t == task_token and k != "heartbeat" for t, k, _ in self.task_results):
            raise TaskGone(f"task {task_token} is not waiting")


class MemoryVault:
    """The `Vault` port in memory (values keyed by workspace and name)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], dict[str, Any]] = {}

    def put(self, workspace_id: str, name: str, value: dict[str, Any]) -> None:
        self.values[(workspace_id, name)] = dict(value)

    def get(self, workspace_id: str, name: str) -> dict[str, Any] | None:
        found = self.values.get((workspace_id, name))
        return None if found is None else dict(found)

    def delete(self, workspace_id: str, name: str) -> None:
        self.values.pop((workspace_id, name), None)
