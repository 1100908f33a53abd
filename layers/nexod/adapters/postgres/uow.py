"""The `Store` port over PostgreSQL: one unit of work is one transaction scoped to a workspace."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import psycopg
from psycopg.types.json import set_json_loads

from ...services.json_limits import load_stored
from .agent_tasks import PostgresAgentTasks
from .agents import PostgresAgents
from .approvals import PostgresApprovals
from .audit import PostgresAudit
from .budgets import PostgresBudgets
from .credentials import PostgresCredentials
from .db import Database
from .drafts import PostgresDrafts
from .events import PostgresEvents
from .flows import PostgresFlows, PostgresVersions
from .knowledge import PostgresKnowledge
from .limits import PostgresLimits
from .node_runs import PostgresNodeRuns
from .parked import PostgresParkedTasks
from .rows import Row, adapters_changed, cursor_of
from .runs import PostgresRuns
from .triggers import PostgresTriggers
from .workspaces import PostgresMembers, PostgresWorkspaces

_JSON_CONFIGURED: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()


class PostgresUnitOfWork:
    """Repositories over one transaction. Row-level security limits every statement to the workspace."""

    def __init__(self, conn: psycopg.Connection[Row], workspace_id: str | None, user_sub: str | None) -> None:
        # A stored value that cannot be decoded becomes an `Unreadable` marker for its row alone, instead of
        # an exception that fails every listing it appears in (psycopg caches these loader classes).
        # Once per connection: registering copies the connection's adapters map.
        if conn not in _JSON_CONFIGURED:
            set_json_loads(load_stored, conn)
            adapters_changed(conn)  # the transaction's opening statement already made the cached cursor
            _JSON_CONFIGURED.add(conn)
        self.conn = conn
        self._workspace_id = workspace_id
        self._user_sub = user_sub
        scope = (conn, workspace_id, user_sub)
        self._workspaces = PostgresWorkspaces(*scope)
        self._members = PostgresMembers(*scope)
        self._flows = PostgresFlows(*scope)
        self._versions = PostgresVersions(*scope)
        # Statements whose answer nobody reads, sent with the COMMIT (`commit`), each with how many events it writes.
        self._with_commit: list[tuple[str, dict[str, Any], int]] = []
        self._runs = PostgresRuns(*scope, with_commit=self._send_with_commit)
        self._budgets = PostgresBudgets(*scope)
        self._audit = PostgresAudit(*scope)
        self._credentials = PostgresCredentials(*scope)
        self._agents = PostgresAgents(*scope)
        self._knowledge = PostgresKnowledge(*scope)
        self._parked = PostgresParkedTasks(*scope)
        self._agent_tasks = PostgresAgentTasks(*scope)
        self._approvals = PostgresApprovals(*scope)
        self._events = PostgresEvents(*scope)
        # A node's claim and finish statements write the events buffered before them (one statement, not two).
        self._node_runs = PostgresNodeRuns(*scope, events=self._events)
        self._triggers = PostgresTriggers(*scope)
        self._drafts = PostgresDrafts(*scope)
        self._limits = PostgresLimits(*scope)

    def _send_with_commit(self, query: str, params: dict[str, Any], events: int) -> None:
        self._with_commit.append((query, params, events))

    def commit(self) -> int:
        """Write the buffered events (with the change they describe) and commit, in one round trip with the
        statements sent with the commit (pipeline mode: PostgreSQL runs them and COMMIT back to back, so a
        transaction that writes only there holds its id for no round trip, however slowly this thread is
        scheduled). How many events the unit of work appended (counting those the statements sent with the
        commit may write)."""
        batched = bool(self._with_commit) or self._events.buffered
        with self.conn.pipeline() if batched else nullcontext():
            cursor = cursor_of(self.conn)
            for query, params, _ in self._with_commit:
                cursor.execute(query.encode(), params)
            appended = self._events.flush() + sum(events for _, _, events in self._with_commit)
            self._with_commit.clear()
            self.conn.commit()
        return appended

    @property
    def workspace_id(self) -> str | None:
        return self._workspace_id

    @property
    def user_sub(self) -> str | None:
        return self._user_sub

    @property
    def workspaces(self) -> PostgresWorkspaces:
        return self._workspaces

    @property
    def members(self) -> PostgresMembers:
        return self._members

    @property
    def flows(self) -> PostgresFlows:
        return self._flows

    @property
    def versions(self) -> PostgresVersions:
        return self._versions

    @property
    def runs(self) -> PostgresRuns:
        return self._runs

    @property
    def node_runs(self) -> PostgresNodeRuns:
        return self._node_runs

    @property
    def audit(self) -> PostgresAudit:
        return self._audit

    @property
    def budgets(self) -> PostgresBudgets:
        return self._budgets

    @property
    def credentials(self) -> PostgresCredentials:
        return self._credentials

    @property
    def agents(self) -> PostgresAgents:
        return self._agents

    @property
    def knowledge(self) -> PostgresKnowledge:
        return self._knowledge

    @property
    def parked(self) -> PostgresParkedTasks:
        return self._parked

    @property
    def agent_tasks(self) -> PostgresAgentTasks:
        return self._agent_tasks

    @property
    def approvals(self) -> PostgresApprovals:
        return self._approvals

    @property
    def events(self) -> PostgresEvents:
        return self._events

    @property
    def triggers(self) -> PostgresTriggers:
        return self._triggers

    @property
    def drafts(self) -> PostgresDrafts:
        return self._drafts

    @property
    def limits(self) -> PostgresLimits:
        return self._limits


class PostgresStore:
    """The `Store` port over PostgreSQL."""

    def __init__(
        self, db: Database, on_events: Callable[[], None] | None = None, *, generic_plans: bool = False
    ) -> None:
        self.db = db
        self.on_events = on_events  # called after a unit of work that appended events committed (local mode)
        # The node runner's store: its statements find rows by key, so they are planned once (`Database.tenant`).
        self.generic_plans = generic_plans

    @contextmanager
    def tx(self, workspace_id: str | None, user_sub: str | None = None) -> Iterator[PostgresUnitOfWork]:
        with self.db.tenant(workspace_id, user_sub, generic_plans=self.generic_plans) as conn:
            uow = PostgresUnitOfWork(conn, workspace_id, user_sub)
            yield uow
            appended = uow.commit()  # appended events commit with the change they describe
        if appended and self.on_events is not None:
            self.on_events()
