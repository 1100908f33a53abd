"""The run starter (issue 12): EventBridge Scheduler's target for schedule triggers, and each eventbridge
trigger's rule target.

Two input shapes: a schedule's `{"workspace_id", "trigger_id", "scheduled_time"}` (the scheduled time keys the
delivery) and an EventBridge rule's `{"workspace_id", "trigger_id", "event"}` (the input transformer's
`<aws.events.event>`; the event's id keys the delivery). Either way a retried invocation starts no second
run. An error raised here is retried by Scheduler / EventBridge and, once its retries are spent, the event
goes to the DLQ."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.services import trigger_ingress, triggers
from nexod.services.context import Services

logger = Logger(service="nexod-run-starter")
_services: Services | None = None


def configure(services: Services) -> None:
    """Inject adapters (tests). Without it, the AWS adapters are built from settings."""
    global _services
    _services = services


@lru_cache(maxsize=1)
def _from_settings() -> Services:
    import boto3

    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator
    from nexod.settings import Settings
    from nexod.wiring import DatabaseConninfo, event_publisher_from_settings, runner_arns

    settings = Settings()
    return Services(
        store=PostgresStore(Database(DatabaseConninfo(settings), max_size=1)),
        orchestrator=StepFunctionsOrchestrator(
            boto3.client("stepfunctions", region_name=settings.region),
            settings.state_machine_role_arn,
            settings.state_machine_log_group_arn,
        ),
        runner_arns=runner_arns(settings),
        state_machine_prefix=settings.state_machine_prefix,
        publisher=event_publisher_from_settings(settings),
        nexod_bus=settings.event_bus_name or "",
        ingress_queue_url=settings.ingress_queue_url or "",
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = _services if _services is not None else _from_settings()
    if "event" in event:  # an eventbridge trigger's rule
        outcome = trigger_ingress.receive_event(
            services, str(event["workspace_id"]), str(event["trigger_id"]), event["event"]
        )
    else:
        outcome = triggers.fire_scheduled(
            services, str(event["workspace_id"]), str(event["trigger_id"]), str(event["scheduled_time"])
        )
    logger.info("trigger fired", extra={"trigger_id": event["trigger_id"], **outcome.as_json()})
    return outcome.as_json()
