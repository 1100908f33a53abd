"""EventBridge "Step Functions Execution Status Change" -> reconcile runs whose execution ended abnormally.

A flow's own finish/fail states record normal endings; this catches timeouts, aborts and a fail handler
that could not run, so no run stays RUNNING forever.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.ports import Store

logger = Logger(service="nexod-execution-events")


@lru_cache(maxsize=1)
def _store() -> Store:
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.settings import Settings
    from nexod.wiring import DatabaseConninfo

    # Timeout 60 s: wait out an Aurora resume; EventBridge retries the event after a failure anyway.
    return PostgresStore(Database(DatabaseConninfo(Settings()), max_size=1, connect_retry_seconds=45))


def reconcile_event(store: Store, event: dict[str, Any]) -> bool:
    """Parse the event; the repair itself is `nexod.services.runs.reconcile`, shared with local mode."""
    from nexod.services.runs import reconcile

    detail = event.get("detail") or {}
    status, arn = detail.get("status"), detail.get("executionArn")
    try:
        run = (json.loads(detail.get("input") or "{}") or {}).get("run") or {}
    except json.JSONDecodeError:
        return False
    if not (status and arn and run.get("id") and run.get("ws")):
        return False
    return reconcile(store, str(run["ws"]), str(run["id"]), str(status), str(arn))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"reconciled": reconcile_event(_store(), event)}
