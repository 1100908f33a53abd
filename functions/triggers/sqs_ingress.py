"""The SQS ingress function (issue 12): the deployment's ingress queue's event source, with partial batch
failure reporting (Powertools batch utility; the event source mapping has `ReportBatchItemFailures`).

Each record is one delivery of an `sqs` trigger (`nexod.services.trigger_ingress.receive_message`). Only the
records that raised are reported in `batchItemFailures`: a malformed body or a transient failure (the database
down) comes back after the visibility timeout and, after the queue's max receives, lands in the DLQ (whose
alarm fires). A rejected delivery (unknown or disabled trigger) is recorded and acknowledged: retrying it would
never succeed. Local mode's ingress loop calls `process` with the same records."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.services import trigger_ingress
from nexod.services.context import Services

logger = Logger(service="nexod-sqs-ingress")
_services: Services | None = None


def configure(services: Services) -> None:
    """Inject adapters (tests, local mode). Without it, the AWS adapters are built from settings."""
    global _services
    _services = services


@lru_cache(maxsize=1)
def _from_settings() -> Services:
    from functions.triggers.run_starter import _from_settings as run_starter_services

    return run_starter_services()


def process(services: Services, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    """`{"batchItemFailures": [{"itemIdentifier": <message id>}, ...]}` for the records that raised."""

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        outcome = trigger_ingress.receive_message(services, record.body, record.message_id)
        logger.info("sqs delivery", extra={"message_id": record.message_id, **outcome.as_json()})
        return outcome.as_json()

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    answer = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    return dict(answer)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = _services if _services is not None else _from_settings()
    return process(services, event, context)
