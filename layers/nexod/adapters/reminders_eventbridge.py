"""The `ReminderClock` port over Amazon EventBridge Scheduler (boto3 `scheduler` client injected; moto in
tests): one one-time `at(...)` schedule per due approval notice, in the deployment's reminder group,
targeting the Reminders function with the approval's id. Scheduler deletes it once it ran
(`ActionAfterCompletion: DELETE`); a decision deletes the one still waiting.

The name carries the due time (`rem-<approval id>-<yyyymmddHHMMSS>`, 55 characters of the 64 allowed): the
function that runs a schedule creates the next one while Scheduler still holds the running one, so the two
must not share a name."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

MIN_LEAD = timedelta(seconds=60)  # a due time already past fires a minute from now


def reminder_schedule_name(approval_id: str, due_at: datetime) -> str:
    return f"rem-{approval_id}-{_at_second(due_at):%Y%m%d%H%M%S}"


def _at_second(when: datetime) -> datetime:
    """`when` in UTC, rounded up to the second (Scheduler's `at()` has no fractions: never early)."""
    utc = when.astimezone(UTC)
    return datetime.fromtimestamp(math.ceil(utc.timestamp()), UTC)


class EventBridgeReminderClock:
    def __init__(
        self,
        client: Any,
        *,
        group: str,
        target_arn: str,
        role_arn: str,
        max_retries: int = 2,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.group = group
        self.target_arn = target_arn
        self.role_arn = role_arn
        self.max_retries = max_retries
        self._now = now or (lambda: datetime.now(UTC))

    def set(self, workspace_id: str, approval_id: str, due_at: datetime) -> None:
        now = self._now()
        fire = _at_second(due_at if due_at > now else now + MIN_LEAD)
        request: dict[str, Any] = {
            "Name": reminder_schedule_name(approval_id, due_at),
            "GroupName": self.group,
            "ScheduleExpression": f"at({fire:%Y-%m-%dT%H:%M:%S})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Description": f"nexod approval reminder {approval_id} (workspace {workspace_id})",
            "Target": {
                "Arn": self.target_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps({"workspace_id": workspace_id, "approval_id": approval_id}),
                "RetryPolicy": {"MaximumRetryAttempts": self.max_retries, "MaximumEventAgeInSeconds": 3600},
            },
        }
        with contextlib.suppress(self.client.exceptions.ConflictException):  # set for this time already
            self.client.create_schedule(**request)

    def clear(self, workspace_id: str, approval_id: str, due_at: datetime) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):
            self.client.delete_schedule(Name=reminder_schedule_name(approval_id, due_at), GroupName=self.group)
