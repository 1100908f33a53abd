"""Run events: every state change of a run, a node run or a workspace, in the order readers see them.

The type list is a registry, so later kinds (approvals, agent steps) add theirs with `EVENT_TYPES.register`
and append them through the same `EventLog` port. A type that leaves the deployment (EventBridge) names its
`source` and `detail_type` here; the others stay in Postgres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .errors import InvalidInput

Scope = Literal["run", "node", "workspace"]


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    scope: Scope
    source: str | None = None  # EventBridge source when the event goes out to the deployment's bus
    detail_type: str | None = None

    @property
    def published(self) -> bool:
        return self.source is not None


class EventTypes:
    """The registry of event types (append refuses a type that is not registered)."""

    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}

    def register(self, kind: EventType) -> EventType:
        if kind.name in self._types:
            raise ValueError(f"event type '{kind.name}' is already registered")
        if (kind.source is None) != (kind.detail_type is None):
            raise ValueError(f"event type '{kind.name}': source and detail_type go together")
        self._types[kind.name] = kind
        return kind

    def __getitem__(self, name: str) -> EventType:
        try:
            return self._types[name]
        except KeyError:
            raise ValueError(f"event type '{name}' is not registered (nexod.domain.events.EVENT_TYPES)") from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        return sorted(self._types)


EVENT_TYPES = EventTypes()
RUN_SOURCE = "nexod.run"
RUN_STATUS_CHANGE = "Run Status Change"
BUDGET_SOURCE = "nexod.budget"

for _status in ("queued", "started", "succeeded", "failed", "cancelled"):
    EVENT_TYPES.register(EventType(f"run.{_status}", "run", RUN_SOURCE, RUN_STATUS_CHANGE))
for _status in ("started", "retrying", "succeeded", "failed", "skipped"):
    EVENT_TYPES.register(EventType(f"node.{_status}", "node"))
EVENT_TYPES.register(EventType("cost.updated", "node"))
# An agent runner's progress (agent and crew nodes): a thought, a tool call and its (truncated) result, a
# task's final answer. `data`: {agent, step, ...} as the broker recorded it.
EVENT_TYPES.register(EventType("agent.step", "node"))
# Out to EventBridge too (customers integrate: a chat bot, a ticket): data {approval, title, flow_id, version,
# console_path, decision?, by?}; never a signed link (a bearer credential has no place on a bus).
for _status in ("requested", "decided", "expired"):
    EVENT_TYPES.register(EventType(f"approval.{_status}", "node", RUN_SOURCE, f"Approval {_status.capitalize()}"))
EVENT_TYPES.register(EventType("budget.soft_limit_crossed", "workspace", BUDGET_SOURCE, "Budget Soft Limit Crossed"))

RUN_STATUS_EVENTS = {
    "QUEUED": "run.queued",
    "RUNNING": "run.started",
    "SUCCEEDED": "run.succeeded",
    "FAILED": "run.failed",
    "CANCELLED": "run.cancelled",
}

_CURSOR = re.compile(r"^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,18})$")


@dataclass(frozen=True, slots=True, order=True)
class EventCursor:
    """Where a reader is: the (transaction id, event id) of the last event it read.

    Events are read in (transaction id, id) order and only once every transaction that started before them
    has ended, so an event that commits late is never behind a cursor a reader already holds
    (docs/decisions.md, "run events")."""

    xact: int
    id: int

    def __str__(self) -> str:
        return f"{self.xact}-{self.id}"

    @staticmethod
    def parse(text: str | None, field: str = "after") -> EventCursor | None:
        """None for the beginning (absent, empty or "0"); 422 naming `field` for anything malformed."""
        if text is None or text in ("", "0"):
            return None
        found = _CURSOR.match(text)
        if found is None:
            raise InvalidInput(f"{field}: a cursor from an event (its 'cursor'), or 0", {"field": field})
        xact, ident = int(found.group(1)), int(found.group(2))
        if xact >= 2**63 or ident >= 2**63:
            raise InvalidInput(f"{field}: cursor out of range", {"field": field})
        return EventCursor(xact, ident)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvent:
    cursor: EventCursor
    workspace_id: str
    run_id: str | None
    type: str
    node_id: str | None
    iteration: int | None
    data: dict[str, Any]
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "cursor": str(self.cursor),
            "type": self.type,
            "run_id": self.run_id,
            "node_id": self.node_id,
            "iteration": self.iteration,
            "data": self.data,
            "created_at": self.created_at,
        }
