"""Reading run events: one run's or the whole workspace's, after a cursor, waiting a little for new ones.

The wait is a short poll inside the request (`POLL_SECONDS`), capped at `MAX_WAIT_SECONDS` to answer within
API Gateway's 30 s. docs/decisions.md records why this and not LISTEN/NOTIFY.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..domain.errors import InvalidInput, NotFound
from ..domain.events import EventCursor, RunEvent
from .access import authorize, parse_id
from .context import Principal, Services

MAX_WAIT_SECONDS = 25.0
POLL_SECONDS = 0.1
PAGE = 100
MAX_PAGE = 500


def wait_seconds(wait: float | None) -> float:
    """`wait` capped at 25 s; negative or not a number is a 422 naming it."""
    if wait is None:
        return 0.0
    if wait != wait or wait < 0:  # NaN or negative
        raise InvalidInput("wait: seconds to wait for an event, from 0 to 25", {"field": "wait"})
    return min(float(wait), MAX_WAIT_SECONDS)


def _page(events: list[RunEvent], after: EventCursor | None) -> dict[str, Any]:
    cursor = str(events[-1].cursor) if events else (str(after) if after is not None else "0")
    return {"items": [e.as_json() for e in events], "cursor": cursor}


def _poll(
    read: Callable[[], list[RunEvent]],
    wait: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> list[RunEvent]:
    deadline = clock() + wait
    while True:
        found = read()
        if found or clock() + POLL_SECONDS > deadline:
            return found
        sleep(POLL_SECONDS)


def run_events(
    services: Services,
    principal: Principal,
    workspace_id: str,
    run_id: str,
    after: str | None,
    wait: float | None = None,
    limit: int = PAGE,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """A run's events after `after`, oldest first; with `wait`, answers as soon as there is one (or empty
    when `wait` seconds pass). `cursor` is what to pass as `after` next."""
    run_id = parse_id(run_id, "run")
    cursor = EventCursor.parse(after)
    seconds = wait_seconds(wait)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.read")
        if uow.runs.get(run_id) is None:
            raise NotFound(f"run '{run_id}' not found")
        first = uow.events.after(cursor, run_id, limit)
    if first or seconds == 0:
        return _page(first, cursor)

    def read() -> list[RunEvent]:
        with services.store.tx(workspace_id, principal.sub) as uow:
            return uow.events.after(cursor, run_id, limit)

    return _page(_poll(read, seconds, sleep, clock), cursor)


def workspace_events(
    services: Services,
    principal: Principal,
    workspace_id: str,
    after: str | None,
    wait: float | None = None,
    limit: int = PAGE,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Every event of the workspace (its runs' and its own, such as budget.soft_limit_crossed) after `after`."""
    cursor = EventCursor.parse(after)
    seconds = wait_seconds(wait)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.read")
        first = uow.events.after(cursor, None, limit)
    if first or seconds == 0:
        return _page(first, cursor)

    def read() -> list[RunEvent]:
        with services.store.tx(workspace_id, principal.sub) as uow:
            return uow.events.after(cursor, None, limit)

    return _page(_poll(read, seconds, sleep, clock), cursor)
