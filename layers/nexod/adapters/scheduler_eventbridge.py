"""The `Scheduler` port over Amazon EventBridge Scheduler (boto3 `scheduler` client injected; moto in tests).

Each enabled schedule trigger is one schedule named `nexod-<trigger id>` in the deployment's group, with the
trigger's expression and time zone, targeting the run-starter function. The target's input names the
workspace, the trigger and the scheduled time (`<aws.scheduler.scheduled-time>`), which keys the delivery:
a retried invocation starts no second run. Failed invocations are retried, then go to the DLQ."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from ..domain.triggers import ScheduleConfig

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def schedule_name(trigger_id: str) -> str:
    return f"nexod-{trigger_id}"  # 42 characters (the limit is 64)


class EventBridgeScheduler:
    def __init__(
        self,
        client: Any,
        *,
        group: str,
        target_arn: str,
        role_arn: str,
        dlq_arn: str | None = None,
        max_retries: int = 3,
        max_event_age_s: int = 3600,
    ) -> None:
        self.client = client
        self.group = group
        self.target_arn = target_arn
        self.role_arn = role_arn
        self.dlq_arn = dlq_arn
        self.max_retries = max_retries
        self.max_event_age_s = max_event_age_s

    def _request(self, workspace_id: str, trigger_id: str, schedule: ScheduleConfig) -> dict[str, Any]:
        target: dict[str, Any] = {
            "Arn": self.target_arn,
            "RoleArn": self.role_arn,
            "Input": json.dumps(
                {"workspace_id": workspace_id, "trigger_id": trigger_id, "scheduled_time": SCHEDULED_TIME}
            ),
            "RetryPolicy": {
                "MaximumRetryAttempts": self.max_retries,
                "MaximumEventAgeInSeconds": self.max_event_age_s,
            },
        }
        if self.dlq_arn:
            target["DeadLetterConfig"] = {"Arn": self.dlq_arn}
        request: dict[str, Any] = {
            "Name": schedule_name(trigger_id),
            "GroupName": self.group,
            "ScheduleExpression": schedule.expression,
            "ScheduleExpressionTimezone": schedule.timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": target,
            "Description": f"nexod trigger {trigger_id} (workspace {workspace_id})",
        }
        if schedule.start_date is not None:
            request["StartDate"] = schedule.start_date
        if schedule.end_date is not None:
            request["EndDate"] = schedule.end_date
        return request

    def put(self, workspace_id: str, trigger_id: str, schedule: ScheduleConfig) -> None:
        request = self._request(workspace_id, trigger_id, schedule)
        try:
            self.client.update_schedule(**request)
        except self.client.exceptions.ResourceNotFoundException:
            self.client.create_schedule(**request)

    def delete(self, workspace_id: str, trigger_id: str) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):
            self.client.delete_schedule(Name=schedule_name(trigger_id), GroupName=self.group)
