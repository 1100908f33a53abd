"""The sweeper, invoked by an EventBridge Scheduler schedule every 5 minutes: sends the approval notices that
are due (issue 11: first notices a node runner could not send, and reminders), and deletes test runs of drafts
past their retention period with their test snapshots (issue 13)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.services import test_runs
from nexod.services.approval_notices import ApprovalNotices
from nexod.services.context import Services

logger = Logger(service="nexod-remind")


@lru_cache(maxsize=1)
def _notices() -> ApprovalNotices | None:
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.settings import Settings
    from nexod.wiring import DatabaseConninfo, approval_notices, vault_from_settings

    settings = Settings()
    store = PostgresStore(Database(DatabaseConninfo(settings), max_size=1, connect_retry_seconds=120))
    return approval_notices(settings, store, vault_from_settings(settings, reads=True, writes=False))


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
    notices = _notices()
    sent = notices.remind_due() if notices is not None else 0
    logger.info("approval notices sent", extra={"sent": sent})
    swept = test_runs.sweep(_services())
    logger.info("test runs past their retention deleted", extra={"deleted": swept})
    return {"sent": sent, "test_runs_deleted": swept}
