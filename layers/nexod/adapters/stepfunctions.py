"""The `Orchestrator` port over AWS Step Functions: one Standard state machine per flow, versions, `live` alias."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from ..ports import PublishedMachine, TaskGone

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
        """Publish `definition` as a new version of the state machine `name`, creating it the first time.

        Update first, create on StateMachineDoesNotExist: the ARN is built from the name, so nothing
        needs ListStateMachines (account-wide, not granted). Create-first would also rely on
        CreateStateMachine refusing an existing name with another definition, which moto does not do
        (it returns the existing machine and its old version), so a second version was never tested.
        """
        body = json.dumps(definition, separators=(",", ":"))
        arn = self._arn(name)
        try:
            return self._update(arn, body, description)
        except self.client.exceptions.StateMachineDoesNotExist:
            pass
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
        except self.client.exceptions.StateMachineAlreadyExists:  # created meanwhile by another publish
            return self._update(arn, body, description)
        return PublishedMachine(created["stateMachineArn"], created["stateMachineVersionArn"])

    def _update(self, arn: str, body: str, description: str) -> PublishedMachine:
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
        """The ARN of our state machine `name`, built, not looked up: ListStateMachines is account-wide
        (no resource-level permission), so the API role is not granted it. Partition and account come
        from the flow role's ARN (same account: the role is passed to the machine), region from the client.
        """
        parts = self.role_arn.split(":")
        if len(parts) < 6 or parts[0] != "arn" or not parts[4]:
            raise ValueError(f"state machine role '{self.role_arn}' is not an IAM role ARN")
        partition, account = parts[1], parts[4]
        return f"arn:{partition}:states:{self.client.meta.region_name}:{account}:stateMachine:{name}"

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

    def delete_version(self, version_arn: str) -> None:
        self.client.delete_state_machine_version(stateMachineVersionArn=version_arn)

    # -- callback Tasks (lambda:invoke.waitForTaskToken) ---------------------------------------------
    def _gone(self) -> tuple[type[Exception], ...]:
        errors = self.client.exceptions
        return (errors.TaskTimedOut, errors.TaskDoesNotExist, errors.InvalidToken)

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None:
        try:
            self.client.send_task_success(taskToken=task_token, output=json.dumps(output, separators=(",", ":")))
        except self._gone() as exc:
            raise TaskGone(str(exc)) from exc

    def send_task_failure(self, task_token: str, error: str, cause: str) -> None:
        try:
            self.client.send_task_failure(taskToken=task_token, error=error[:256], cause=cause[:32_768])
        except self._gone() as exc:
            raise TaskGone(str(exc)) from exc

    def send_task_heartbeat(self, task_token: str) -> None:
        try:
            self.client.send_task_heartbeat(taskToken=task_token)
        except self._gone() as exc:
            raise TaskGone(str(exc)) from exc
