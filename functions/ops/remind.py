"""The approval sweeper (issue 11), invoked by an EventBridge Scheduler schedule every 5 minutes: sends the
approval notices that are due (first notices a node runner could not send, and reminders)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.services.approval_notices import ApprovalNotices

logger = Logger(service="nexod-remind")


@lru_cache(maxsize=1)
def _notices() -> ApprovalNotices | None:
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.settings import Settings
    from nexod.wiring import DatabaseConninfo, approval_notices, vault_from_settings

    settings = Settings()
    store = PostgresStore(Database(DatabaseConninfo(settings), max_size=1, connect_retry_seconds=120))
    return approval_notices(settings, store, vault_from_settings(settings, reads=True, writes=False))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    notices = _notices()
    sent = notices.remind_due() if notices is not None else 0
    logger.info("approval notices sent", extra={"sent": sent})
    return {"sent": sent}
