"""Appending run events with the state change, and relaying the published ones to EventBridge.

The relay is an outbox: events of a published type (nexod.domain.events) are stored with the change and
sent after it commits, by whoever made the change (`EventRelay.flush`) and again by any later flush of the
workspace, so a bus that is down delays them and loses none. A failure to publish never fails the caller.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from ..domain.events import EVENT_TYPES, RUN_STATUS_EVENTS, RunEvent
from ..domain.records import Run, RunDetail
from ..ports import BusEvent, EventPublisher, Store, UnitOfWork

log = logging.getLogger(__name__)


def cost_of(run: RunDetail) -> dict[str, float]:
    llm, compute, orchestration = run.llm_cost_usd, run.compute_cost_usd, run.orchestration_cost_usd
    return {
        "llm": round(llm, 6),
        "compute": round(compute, 6),
        "orchestration": round(orchestration, 6),
        "total": round(llm + compute + orchestration, 6),
    }


def run_status_data(run: Run) -> dict[str, Any]:
    """What every run status event says: flow, version, status, number (#42), label when it has one, attempt."""
    data: dict[str, Any] = {"flow_id": run.flow_id, "version": run.version, "status": run.status}
    data["number"] = run.number  # the run's number in its flow (#42); its label when it has one
    if run.label is not None:
        data["label"] = run.label
    data["attempt"] = run.attempt
    return data


def run_status_changed(uow: UnitOfWork, run: Run, **extra: Any) -> None:
    """The run's status event (`run.<status>`) with what an integration needs: flow, version, status and,
    once it has ended, its cost and error."""
    data = run_status_data(run)
    if run.is_terminal:
        detail = uow.runs.detail(run.id)
        if detail is not None:
            data["cost"] = cost_of(detail)
        if run.error is not None:
            data["error"] = run.error
    uow.events.append(run.id, RUN_STATUS_EVENTS[run.status], data=data | extra)


def nodes_failed(uow: UnitOfWork, run_id: str, failed: list[tuple[str, int]], error: dict[str, Any]) -> None:
    for node_id, iteration in failed:
        uow.events.append(run_id, "node.failed", node_id, iteration, {"error": error})


def bus_event(event: RunEvent) -> BusEvent:
    kind = EVENT_TYPES[event.type]
    assert kind.source is not None
    assert kind.detail_type is not None
    detail = {
        "type": event.type,
        "cursor": str(event.cursor),
        "workspace_id": event.workspace_id,
        **({"run_id": event.run_id} if event.run_id else {}),
        **event.data,
        "time": event.created_at.isoformat(),
    }
    return BusEvent(key=str(event.cursor), source=kind.source, detail_type=kind.detail_type, detail=detail)


class EventRelay:
    """Sends a workspace's unpublished events to the bus (at least once; EventBridge consumers dedupe on
    `detail.cursor`)."""

    def __init__(self, store: Store, publisher: EventPublisher, batch: int = 10) -> None:
        self.store = store
        self.publisher = publisher
        self.batch = batch  # PutEvents takes at most 10 entries

    def flush(self, workspace_id: str, rounds: int = 10) -> int:
        """Publish what is pending (up to `rounds` batches); never raises. Returns how many were published."""
        sent = 0
        try:
            for _ in range(rounds):
                with self.store.tx(workspace_id) as uow:
                    pending = uow.events.unpublished(self.batch)
                    if not pending:
                        break
                    accepted = self.publisher.publish([bus_event(e) for e in pending])
                    done = [e.cursor for e in pending if str(e.cursor) in accepted]
                    uow.events.mark_published(done)
                sent += len(done)
                if len(done) < len(pending):
                    break  # the bus refused some: they stay pending for a later flush
                if len(pending) < self.batch:
                    break  # that was all (no transaction just to find nothing more)
        except Exception:
            log.exception("publishing events of workspace %s failed; they stay queued", workspace_id)
        return sent


class Relay(Protocol):
    """What publishes a workspace's pending EventBridge events after a change committed (never raises)."""

    def flush(self, workspace_id: str) -> int: ...


class BackgroundRelay:
    """An `EventRelay` on a thread of its own, for a long-lived process (local mode): `flush` only asks and
    returns at once, so a run's end or start does no EventBridge call on its own path. Requests for a
    workspace made while it is being relayed are served by one more pass. A Lambda must not use it (its
    process is frozen after it answers): there the caller relays itself, and the outbox covers a crash.
    Nothing is published twice: one thread relays, and the outbox's `FOR UPDATE SKIP LOCKED` keeps it apart
    from any other relay."""

    def __init__(self, relay: EventRelay, linger: float = 0.1) -> None:
        self.relay = relay
        # How long a request waits for others before it is served: the requests of a run's start and end, and
        # of runs close together, then share the relay's transactions and PutEvents calls.
        self.linger = linger
        self._wanted: dict[str, None] = {}  # workspaces to relay, in request order
        self._busy = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def flush(self, workspace_id: str) -> int:
        with self._cond:
            if self._closed:  # the events stay queued in the outbox for a later relay
                return 0
            self._wanted[workspace_id] = None
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="nexod-event-relay", daemon=True)
                self._thread.start()
            self._cond.notify()
        return 0  # published later, by the relay's thread

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every requested relay ran (tests, shutdown); False when `timeout` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._wanted and not self._busy, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Relay what was requested (up to `timeout`), then accept no more requests and end the thread."""
        self.drain(timeout)
        with self._cond:
            self._closed = True
            self._wanted.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _serve(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._wanted) or self._closed)
                if self._closed:
                    return
                if self.linger > 0:  # more requests may join (close wakes it sooner)
                    self._cond.wait_for(lambda: self._closed, self.linger)
                    if self._closed:
                        return
                workspace_id = next(iter(self._wanted))
                del self._wanted[workspace_id]
                self._busy += 1
            try:
                self.relay.flush(workspace_id)  # never raises
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
