"""CloudFormation custom resource: apply migrations as the owner and (re)create the app's login role.

Runs on every deploy (Create/Update). Delete keeps the data: tearing the stack down never drops tables.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="nexod-migrate")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from nexod.adapters.postgres import apply_migrations, ensure_app_role
    from nexod.settings import Settings
    from nexod.wiring import _secret, database_conninfo

    request = event.get("RequestType", "Create")
    if request == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", "nexod-schema")}
    settings = Settings()
    admin = database_conninfo(settings, admin=True)
    applied = apply_migrations(admin)
    password = None
    if settings.database_secret_arn:
        password = _secret(settings.database_secret_arn, settings.region)["password"]
    ensure_app_role(admin, password)
    logger.info("schema ready", extra={"applied": applied})
    return {"PhysicalResourceId": "nexod-schema", "Data": {"Applied": json.dumps(applied)}}
