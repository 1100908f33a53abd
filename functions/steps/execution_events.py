"""EventBridge "Step Functions Execution Status Change" -> run metrics, and reconcile runs whose execution
ended abnormally.

A flow's own finish/fail states record normal endings; this catches timeouts, aborts and a fail handler
that could not run, so no run stays RUNNING forever. The rule delivers every status change of our state
machines, so this is also where RunsStarted/Succeeded/Failed/Cancelled are counted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.envelopes import EventBridgeEnvelope
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, Json

from nexod.adapters import powertools as telemetry
from nexod.domain.payload import RunRef
from nexod.observability import install_log_context, log_context
from nexod.ports import EventPublisher, Store

SERVICE = "nexod-execution-events"
logger = Logger(service=SERVICE)
install_log_context(logger.registered_handler)
tracer = telemetry.tracer(SERVICE)


class ExecutionInput(BaseModel):
    """The execution's input as the API starts it: `{"run": {"id", "ws"}, "s": {...}}`."""

    run: RunRef


class ExecutionStatusChange(BaseModel):
    """The `detail` of a "Step Functions Execution Status Change" event (the fields Nexod reads)."""

    model_config = ConfigDict(populate_by_name=True)

    execution_arn: str = Field(..., alias="executionArn", min_length=1)
    state_machine_arn: str | None = Field(None, alias="stateMachineArn")
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    # A JSON string in the event; Step Functions leaves it out when the input is too large, which ours never is.
    input: Json[ExecutionInput]


def parse_change(event: dict[str, Any]) -> ExecutionStatusChange | None:
    """The event's detail, or None (logged, with what was wrong) for an event that is not one."""
    try:
        change = parse(event=event, model=ExecutionStatusChange, envelope=EventBridgeEnvelope)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())) or "(event)", "problem": err.get("msg", "")}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        logger.warning(
            "refused an event that is not a Step Functions execution status change of a Nexod run",
            extra={"problems": problems[:10], "detail_type": str(event.get("detail-type"))},
        )
        return None
    return change if isinstance(change, ExecutionStatusChange) else None


@lru_cache(maxsize=1)
def _store() -> Store:
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.settings import Settings
    from nexod.wiring import DatabaseConninfo

    # Timeout 60 s: wait out an Aurora resume; EventBridge retries the event after a failure anyway.
    return PostgresStore(Database(DatabaseConninfo(Settings()), max_size=1, connect_retry_seconds=45))


def _reconcile(store: Store, change: ExecutionStatusChange) -> bool:
    """The repair itself is `nexod.services.runs.reconcile`, shared with local mode."""
    from nexod.services.runs import reconcile

    run = change.input.run
    repaired = reconcile(store, run.ws, run.id, change.status, change.execution_arn)
    publisher = _publisher()
    if publisher is not None:  # what the repair recorded, and anything an earlier relay could not send
        from nexod.runtime.events import EventRelay

        EventRelay(store, publisher).flush(run.ws)
    return repaired


_publisher_box: list[EventPublisher | None] = []


def _publisher() -> EventPublisher | None:
    """The deployment's bus (`NEXOD_EVENT_BUS_NAME`), built once; None where it is not configured."""
    if not _publisher_box:
        from nexod.settings import Settings
        from nexod.wiring import event_publisher_from_settings

        _publisher_box.append(event_publisher_from_settings(Settings()))
    return _publisher_box[0]


def configure_publisher(publisher: EventPublisher | None) -> None:
    """Inject the publisher (tests)."""
    _publisher_box[:] = [publisher]


ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
Admit = Callable[[str], int]
_admit_box: list[Admit | None] = []


def configure_admission(admit: Admit | None) -> None:
    """Inject what starts a workspace's runs held by a concurrency limit (tests)."""
    _admit_box[:] = [admit]


def _admitter() -> Admit | None:
    """`runs.admit_queued` over the deployment's Step Functions, built once (it starts executions: the
    function needs `states:StartExecution` on the flows' state machines)."""
    if not _admit_box:
        try:
            from nexod.services.runs import admit_queued
            from nexod.settings import Settings
            from nexod.wiring import run_starting_services

            services = run_starting_services(Settings(), _store())
            _admit_box.append(lambda workspace_id: admit_queued(services, workspace_id))
        except Exception:
            logger.exception("runs held by a concurrency limit cannot be started from here")
            _admit_box.append(None)
    return _admit_box[0]


def admit_after(change: ExecutionStatusChange) -> int:
    """An execution ended: its run's slot is free, so the oldest runs a concurrency limit held start now.
    Never fails the event (the local loop and the next end retry); returns how many started."""
    admit = _admitter() if change.status in ENDED else None
    if admit is None:
        return 0
    try:
        return admit(change.input.run.ws)
    except Exception:
        logger.exception("starting the runs a concurrency limit held failed")
        return 0


def reconcile_event(store: Store, event: dict[str, Any]) -> bool:
    """Parse the event and repair its run if it needs it; False for a refused event or nothing to repair."""
    change = parse_change(event)
    return change is not None and _reconcile(store, change)


def handle(event: dict[str, Any], store: Callable[[], Store]) -> dict[str, Any]:
    """The handler body: count the run's status change, then reconcile (a refused event never builds `store`)."""
    change = parse_change(event)
    if change is None:
        # Not retried: EventBridge would redeliver the same malformed event eight times, then dead-letter it.
        return {"reconciled": False, "refused": True}
    run = change.input.run
    with log_context(workspace_id=run.ws, run_id=run.id) as ids:
        telemetry.annotate(tracer, ids, status=change.status)
        arn = change.execution_arn
        telemetry.emit_run_status(service=SERVICE, status=change.status, context=ids, execution_arn=arn)
        reconciled = _reconcile(store(), change)
        return {"reconciled": reconciled, "admitted": admit_after(change)}


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    telemetry.lambda_logging(logger)
    return handle(event, _store)
