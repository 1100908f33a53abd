"""The `Scheduler` port (issue 12): where schedule triggers live outside the database.

In AWS each enabled schedule trigger is an EventBridge Scheduler schedule targeting the run starter; locally
there is no adapter (the scheduler loop of `nexod up` reads `triggers.next_fire_at`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..domain.triggers import ScheduleConfig


class Scheduler(Protocol):
    def put(self, workspace_id: str, trigger_id: str, schedule: ScheduleConfig) -> None:
        """Create or replace the trigger's schedule."""
        ...

    def delete(self, workspace_id: str, trigger_id: str) -> None:
        """Remove it; a schedule that does not exist is fine."""
        ...


class ReminderClock(Protocol):
    """Wakes the reminder sender for one approval at one time (issue 11), where no sweeper polls: the starter
    profile, whose Aurora pauses when idle. In AWS, one EventBridge Scheduler one-time schedule per due
    notice, deleted by Scheduler once it ran; production and local mode sweep instead (no clock)."""

    def set(self, workspace_id: str, approval_id: str, due_at: datetime) -> None:
        """Have the approval's notice sent at `due_at` (not before)."""
        ...

    def clear(self, workspace_id: str, approval_id: str, due_at: datetime) -> None:
        """Forget the wake-up set for `due_at`; one that ran already or never existed is fine."""
        ...
