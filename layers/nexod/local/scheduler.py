"""The local scheduler loop (issue 12): `nexod up` fires schedule triggers within a second of their due time.

Each tick finds the workspaces with a due schedule and lets `services.triggers.fire_due` claim and fire them
(row locks and the delivery's UNIQUE key: two loops fire a due time once). The clock is injectable, so a
test can walk three minutes of schedule in three ticks. Deliveries older than 30 days are pruned hourly.
Each tick also starts runs a concurrency limit held whose slot is free, and every 5 s it starts deliveries a
dead process left `received` (`triggers.recover_deliveries`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..adapters.postgres import Database
from ..services import runs, triggers
from ..services.context import Services

log = logging.getLogger(__name__)
PRUNE_EVERY = timedelta(hours=1)
RECOVER_EVERY = timedelta(seconds=5)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SchedulerLoop:
    def __init__(
        self,
        services: Services,
        admin_db: Database,
        clock: Callable[[], datetime] = _utcnow,
        interval: float = 0.25,
    ) -> None:
        self.services = services
        self.admin_db = admin_db  # reads which workspaces have a due trigger (across workspaces)
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at: datetime | None = None
        self._recovered_at: datetime | None = None

    def due_workspaces(self, now: datetime) -> list[str]:
        with self.admin_db.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT workspace_id FROM triggers WHERE kind = 'schedule' AND enabled AND next_fire_at <= %s",
                (now,),
            ).fetchall()
        return [str(r["workspace_id"]) for r in rows]

    def tick(self) -> int:
        """Fire what is due now; returns how many runs started."""
        now = self.clock()
        started = 0
        for workspace_id in self.due_workspaces(now):
            try:
                started += triggers.fire_due(self.services, workspace_id, now)
            except Exception:  # one workspace's failure must not stop the others' schedules
                log.exception("scheduler: firing the due triggers of workspace %s failed", workspace_id)
        self.admit(now)
        if self._recovered_at is None or now - self._recovered_at >= RECOVER_EVERY:
            self._recovered_at = now
            started += self.recover(now)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self.prune(now)
        return started

    def admit(self, now: datetime) -> int:
        """Start runs a concurrency limit held whose slot is free (execution ends start them at once; this
        catches an end that was missed, e.g. across a restart)."""
        with self.admin_db.connection() as conn:
            rows = conn.execute("SELECT DISTINCT workspace_id FROM run_queue").fetchall()
        started = 0
        for row in rows:
            try:
                started += runs.admit_queued(self.services, str(row["workspace_id"]))
            except Exception:
                log.exception("scheduler: starting the queued runs of workspace %s failed", row["workspace_id"])
        return started

    def recover(self, now: datetime) -> int:
        """Deliveries a process recorded and died before starting: started now, exactly once."""
        before = now - triggers.RECOVER_AFTER
        with self.admin_db.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT workspace_id FROM trigger_deliveries WHERE status = 'received' AND received_at < %s",
                (before,),
            ).fetchall()
        started = 0
        for row in rows:
            try:
                started += triggers.recover_deliveries(self.services, str(row["workspace_id"]), now)
            except Exception:
                log.exception("scheduler: recovering the deliveries of workspace %s failed", row["workspace_id"])
        return started

    def prune(self, now: datetime) -> int:
        with self.admin_db.connection() as conn:
            rows = conn.execute("SELECT DISTINCT workspace_id FROM trigger_deliveries").fetchall()
        return sum(triggers.prune(self.services, str(r["workspace_id"]), now) for r in rows)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nexod-scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # the database restarting: try again next tick
                log.exception("scheduler tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
