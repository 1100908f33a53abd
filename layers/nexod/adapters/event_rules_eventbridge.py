"""The `EventRules` port over Amazon EventBridge rules (boto3 `events` client injected; moto in tests).

Each eventbridge trigger is one rule named `<prefix>-trg-<trigger id>` on its bus, with the trigger's
pattern, whose single target is the run-starter function. The target's input transformer hands the run
starter `{"workspace_id", "trigger_id", "event": <the whole event>}`; the event's id keys the delivery, so
EventBridge's retries start no second run. A disabled trigger's rule is disabled (DisableRule), not deleted.
The rule name prefix is what the CDK grants the API (`events:PutRule` etc. on `rule/*/<prefix>-trg-*`)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

TARGET_ID = "run-starter"


def rule_name(prefix: str, trigger_id: str) -> str:
    return f"{prefix}-trg-{trigger_id}"  # prefix + 41 characters (EventBridge allows 64)


def input_template(workspace_id: str, trigger_id: str) -> str:
    """The target's InputTemplate: constants plus `<aws.events.event>`, EventBridge's whole-event variable."""
    ids = json.dumps(workspace_id), json.dumps(trigger_id)
    return f'{{"workspace_id": {ids[0]}, "trigger_id": {ids[1]}, "event": <aws.events.event>}}'


class EventBridgeRules:
    def __init__(self, client: Any, *, prefix: str, target_arn: str, dlq_arn: str | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.target_arn = target_arn
        self.dlq_arn = dlq_arn

    def put(self, workspace_id: str, trigger_id: str, bus: str, pattern: dict[str, Any], enabled: bool) -> None:
        name = rule_name(self.prefix, trigger_id)
        self.client.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(pattern, separators=(",", ":")),
            State="ENABLED" if enabled else "DISABLED",
            Description=f"nexod trigger {trigger_id} (workspace {workspace_id})",
        )
        target: dict[str, Any] = {
            "Id": TARGET_ID,
            "Arn": self.target_arn,
            "InputTransformer": {"InputPathsMap": {}, "InputTemplate": input_template(workspace_id, trigger_id)},
            "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600},
        }
        if self.dlq_arn:
            target["DeadLetterConfig"] = {"Arn": self.dlq_arn}
        answer = self.client.put_targets(Rule=name, EventBusName=bus, Targets=[target])
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the target of rule {name}: {answer.get('FailedEntries')}")

    def delete(self, workspace_id: str, trigger_id: str, bus: str) -> None:
        name = rule_name(self.prefix, trigger_id)
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):
            self.client.remove_targets(Rule=name, EventBusName=bus, Ids=[TARGET_ID])
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):
            self.client.delete_rule(Name=name, EventBusName=bus)
