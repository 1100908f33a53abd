"""The `Orchestrator` port over AWS Step Functions: one Standard state machine per flow, versions, `live` alias."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from ..ports import PublishedMachine

LIVE_ALIAS = "live"


class StepFunctionsOrchestrator:
    def __init__(self, client: Any, role_arn: str, log_group_arn: str | None = None) -> None:
        self.client = client
        self.role_arn = role_arn
        self.log_group_arn = log_group_arn

    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"tracingConfiguration": {"enabled": True}}
        if self.log_group_arn:
            extra["loggingConfiguration"] = {
                "level": "ERROR",
                "includeExecutionData": False,  # node data never enters logs; state holds references only
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": self.log_group_arn}}],
            }
        return extra

    def publish(self, name: str, definition: dict[str, Any], description: str) -> PublishedMachine:
        body = json.dumps(definition, separators=(",", ":"))
        try:
            created = self.client.create_state_machine(
                name=name,
                definition=body,
                roleArn=self.role_arn,
                type="STANDARD",
                publish=True,
                versionDescription=description[:256],
                **self._extra(),
            )
            return PublishedMachine(created["stateMachineArn"], created["stateMachineVersionArn"])
        except self.client.exceptions.StateMachineAlreadyExists:
            arn = self._arn(name)
            updated = self.client.update_state_machine(
                stateMachineArn=arn,
                definition=body,
                roleArn=self.role_arn,
                publish=True,
                versionDescription=description[:256],
                **self._extra(),
            )
            return PublishedMachine(arn, updated["stateMachineVersionArn"])

    def _arn(self, name: str) -> str:
        paginator = self.client.get_paginator("list_state_machines")
        for page in paginator.paginate():
            for sm in page["stateMachines"]:
                if sm["name"] == name:
                    return str(sm["stateMachineArn"])
        raise LookupError(f"state machine {name} not found")

    def set_live(self, state_machine_arn: str, version_arn: str) -> None:
        routing = [{"stateMachineVersionArn": version_arn, "weight": 100}]
        alias_arn = f"{state_machine_arn}:{LIVE_ALIAS}"
        try:
            self.client.update_state_machine_alias(stateMachineAliasArn=alias_arn, routingConfiguration=routing)
        except (self.client.exceptions.ResourceNotFound, self.client.exceptions.ValidationException):
            self.client.create_state_machine_alias(
                name=LIVE_ALIAS, routingConfiguration=routing, description="the flow's live version"
            )

    def start(self, target_arn: str, execution_name: str, payload: dict[str, Any]) -> str:
        response = self.client.start_execution(
            stateMachineArn=target_arn, name=execution_name, input=json.dumps(payload)
        )
        return str(response["executionArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        with contextlib.suppress(self.client.exceptions.ExecutionDoesNotExist):
            self.client.stop_execution(executionArn=execution_arn, cause=cause[:32_000])

    def status(self, execution_arn: str) -> str:
        return str(self.client.describe_execution(executionArn=execution_arn)["status"])
