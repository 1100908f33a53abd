"""The `Scheduler` port (issue 12): where schedule triggers live outside the database.

In AWS each enabled schedule trigger is an EventBridge Scheduler schedule targeting the run starter; locally
there is no adapter (the scheduler loop of `nexod up` reads `triggers.next_fire_at`)."""

from __future__ import annotations

from typing import Protocol

from ..domain.triggers import ScheduleConfig


class Scheduler(Protocol):
    def put(self, workspace_id: str, trigger_id: str, schedule: ScheduleConfig) -> None:
        """Create or replace the trigger's schedule."""
        ...

    def delete(self, workspace_id: str, trigger_id: str) -> None:
        """Remove it; a schedule that does not exist is fine."""
        ...
