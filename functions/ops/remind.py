"""Approval notices and reminders (issue 11) and the test-run sweep (issue 13), invoked by EventBridge Scheduler.

Two ways in: the sweeper's schedule (production, every 5 minutes; an empty event) sends every notice that is
due and deletes test runs of drafts past their retention period with their test snapshots; a one-time schedule
of one approval (the starter, whose Aurora pauses, has no sweeper) names it (`{"workspace_id",
"approval_id"}`), and sending it sets the next reminder's one-time schedule, targeting this function again."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.services import test_runs
from nexod.services.approval_notices import ApprovalNotices
from nexod.services.context import Services

logger = Logger(service="nexod-remind")


@lru_cache(maxsize=4)
def _notices(own_arn: str | None = None) -> ApprovalNotices | None:
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.settings import Settings
    from nexod.wiring import DatabaseConninfo, approval_notices, vault_from_settings

    settings = Settings()
    store = PostgresStore(Database(DatabaseConninfo(settings), max_size=1, connect_retry_seconds=120))
    vault = vault_from_settings(settings, reads=True, writes=False)
    return approval_notices(settings, store, vault, reminders_arn=own_arn)


@lru_cache(maxsize=1)
def _services() -> Services:
    import boto3

    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator
    from nexod.settings import Settings
    from nexod.wiring import DatabaseConninfo, runner_arns

    settings = Settings()
    return Services(
        store=PostgresStore(Database(DatabaseConninfo(settings), max_size=1, connect_retry_seconds=120)),
        orchestrator=StepFunctionsOrchestrator(
            boto3.client("stepfunctions", region_name=settings.region), settings.state_machine_role_arn
        ),
        runner_arns=runner_arns(settings),
        state_machine_prefix=settings.state_machine_prefix,
        test_run_retention_days=settings.test_run_retention_days,
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    approval_id = event.get("approval_id") if isinstance(event, dict) else None
    if approval_id:  # one approval's one-time schedule: the next one targets this function too
        notices = _notices(_unqualified(context.invoked_function_arn))
        sent = int(notices.send_due(str(event["workspace_id"]), str(approval_id))) if notices is not None else 0
        logger.info("approval notices sent", extra={"sent": sent, "approval_id": approval_id})
        return {"sent": sent}
    notices = _notices()
    sent = notices.remind_due() if notices is not None else 0
    logger.info("approval notices sent", extra={"sent": sent})
    swept = test_runs.sweep(_services())
    logger.info("test runs past their retention deleted", extra={"deleted": swept})
    return {"sent": sent, "test_runs_deleted": swept}


def _unqualified(arn: str) -> str:
    """The function's ARN without a version or alias (`...:function:name[:qualifier]`)."""
    parts = arn.split(":")
    return ":".join(parts[:7])
