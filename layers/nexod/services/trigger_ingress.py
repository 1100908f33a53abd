"""SQS ingress and EventBridge-in triggers (issue 12): deliveries that arrive on a queue or a bus.

**SQS.** The deployment has one ingress queue. A message's body is `{"workspace", "trigger", "payload",
"idempotency_key"?}` (`IngressMessage`); it is one delivery of that `sqs` trigger, keyed by its idempotency key
(default: the SQS message id), so a redelivered message starts no second run. What can never succeed (an
unknown, disabled or non-sqs trigger; a payload the trigger's filter refuses; a flow that cannot start) is a
*rejected* delivery: recorded where the trigger exists, and acknowledged (never retried). A malformed body
raises `MalformedMessage` and anything transient (the database down) raises as it is: both are failed batch
items, retried by SQS until its max receives send them to the DLQ.

**EventBridge.** An `eventbridge` trigger holds `{event_pattern, bus?}`. In AWS the `EventRules` port keeps
one rule per trigger, targeting the run starter with `{workspace_id, trigger_id, event}`; locally the ingress
loop matches the events of each bus with `nexod.domain.event_patterns`. Either way each matching event is one
delivery keyed by the event's id, with the event as the delivery's body.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain import event_patterns
from ..domain.records import Trigger
from .access import parse_id
from .context import Services
from .trigger_rules import bus_of
from .triggers import Outcome, deliver

log = logging.getLogger(__name__)


class MalformedMessage(ValueError):
    """A message body that is not an ingress message: a failed item (retried, then the DLQ)."""


class IngressMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workspace: str = Field(min_length=1, max_length=64)
    trigger: str = Field(min_length=1, max_length=64)
    payload: Any = None
    idempotency_key: str | None = Field(None, min_length=1, max_length=200)


def parse_message(body: str) -> IngressMessage:
    try:
        message = IngressMessage.model_validate_json(body)
        parse_id(message.workspace, "workspace")
        parse_id(message.trigger, "trigger")
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        raise MalformedMessage(f"{where}: {err.get('msg', 'invalid')}") from None
    except Exception as exc:  # parse_id's InvalidInput: not a uuid
        raise MalformedMessage(str(getattr(exc, "message", exc))) from None
    return message


def _now() -> datetime:
    return datetime.now(UTC)


def _reject(services: Services, workspace_id: str, trigger: Trigger, key: str, reason: str) -> Outcome:
    """Record a delivery that can never succeed (a duplicate of one already recorded answers the first)."""
    with services.store.tx(workspace_id) as uow:
        delivery = uow.triggers.record_delivery(trigger.id, key, "rejected", reason)
        if delivery is None:
            first = uow.triggers.delivery(trigger.id, key)
            return Outcome(first.id if first else "", "duplicate", first.run_id if first else None, reason)
    return Outcome(delivery.id, "rejected", None, reason)


def receive_message(services: Services, body: str, message_id: str, now: datetime | None = None) -> Outcome:
    """One SQS ingress message: a delivery of its `sqs` trigger. Raises MalformedMessage or a transient error
    (both retried by SQS); answers a rejected Outcome for what retrying would never fix."""
    message = parse_message(body)
    workspace_id = str(parse_id(message.workspace, "workspace"))
    key = message.idempotency_key or f"sqs:{message_id}"
    with services.store.tx(workspace_id) as uow:
        trigger = uow.triggers.get(parse_id(message.trigger, "trigger"))
    if trigger is None:  # nothing to record it under (or another workspace's trigger): logged, acknowledged
        reason = "no such trigger in this workspace"
        log.warning("sqs ingress: message %s rejected: %s", message_id, reason, extra={"trigger": message.trigger})
        return Outcome("", "rejected", None, reason)
    if trigger.kind != "sqs":
        return _reject(services, workspace_id, trigger, key, f"the trigger is a {trigger.kind} trigger, not sqs")
    if not trigger.enabled:
        return _reject(services, workspace_id, trigger, key, "the trigger is disabled")
    flt = (trigger.config or {}).get("payload_filter")
    if flt and not event_patterns.matches(flt, {"payload": message.payload}):
        return _reject(services, workspace_id, trigger, key, "the payload does not match the trigger's payload_filter")
    return deliver(
        services, workspace_id, trigger, key, message.payload, {}, {}, now or _now(), {"message_id": message_id}
    )


# -- EventBridge ------------------------------------------------------------------------------------
def event_key(event: dict[str, Any]) -> str:
    return f"event:{event.get('id') or ''}"


def deliver_event(
    services: Services, workspace_id: str, trigger: Trigger, event: dict[str, Any], now: datetime | None = None
) -> Outcome:
    """One event that matched the trigger's pattern: a delivery keyed by the event's id."""
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise MalformedMessage("event: an EventBridge event has an 'id'")
    return deliver(
        services,
        workspace_id,
        trigger,
        event_key(event),
        event,
        {},
        {},
        now or _now(),
        {"bus": bus_of(services, trigger)},
    )


def receive_event(services: Services, workspace_id: str, trigger_id: str, event: dict[str, Any]) -> Outcome:
    """The run starter's EventBridge shape `{workspace_id, trigger_id, event}` (the rule matched already)."""
    if not isinstance(event, dict):
        raise MalformedMessage("event: an EventBridge event is an object")
    with services.store.tx(workspace_id) as uow:
        trigger = uow.triggers.get(parse_id(trigger_id, "trigger"))
    if trigger is None:
        return Outcome("", "rejected", None, "no such trigger in this workspace")
    if trigger.kind != "eventbridge" or not trigger.enabled:
        return _reject(services, workspace_id, trigger, event_key(event), "the trigger is disabled or not eventbridge")
    return deliver_event(services, workspace_id, trigger, event)
