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

import json
import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain import event_patterns
from ..domain.records import Trigger
from .access import parse_id
from .context import Services
from .triggers import Outcome, deliver

log = logging.getLogger(__name__)
RULE_INFIX = "-trg-"

MESSAGE_SHAPE: dict[str, Any] = {
    "workspace": "<workspace id>",
    "trigger": "<trigger id>",
    "payload": {"any": "JSON: the delivery's body (the run's input unless an input mapping says otherwise)"},
    "idempotency_key": "<optional, at most 200 characters; default: the SQS message id>",
}


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
def bus_of(services: Services, trigger: Trigger) -> str:
    """The trigger's bus: the one it names, else the Nexod bus."""
    return str((trigger.config or {}).get("bus") or services.nexod_bus)


def rule_name(services: Services, trigger_id: str) -> str:
    return f"{services.state_machine_prefix}{RULE_INFIX}{trigger_id}"


def event_key(event: dict[str, Any]) -> str:
    return f"event:{event.get('id') or ''}"


def deliver_event(
    services: Services, workspace_id: str, trigger: Trigger, event: dict[str, Any], now: datetime | None = None
) -> Outcome:
    """One event that matched the trigger's pattern: a delivery keyed by the event's id."""
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise MalformedMessage("event: an EventBridge event has an 'id'")
    return deliver(services, workspace_id, trigger, event_key(event), event, {}, {}, now or _now(), {"bus": bus_of(services, trigger)})


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


def sync_rule(services: Services, workspace_id: str, trigger: Trigger, before: Trigger | None = None) -> None:
    """Keep the trigger's rule in step with it: put on create/update (disabled with it), and removed from a
    bus it left."""
    if services.event_rules is None or trigger.kind != "eventbridge":
        return
    bus = bus_of(services, trigger)
    if before is not None and bus_of(services, before) != bus:
        services.event_rules.delete(workspace_id, trigger.id, bus_of(services, before))
    services.event_rules.put(workspace_id, trigger.id, bus, dict(trigger.config["event_pattern"]), trigger.enabled)


def drop_rule(services: Services, workspace_id: str, trigger: Trigger) -> None:
    if services.event_rules is not None and trigger.kind == "eventbridge":
        services.event_rules.delete(workspace_id, trigger.id, bus_of(services, trigger))


def ingress_view(services: Services, trigger: Trigger) -> dict[str, Any] | None:
    """What the console shows to send deliveries: the queue and message shape (sqs), the bus and rule
    (eventbridge)."""
    if trigger.kind == "sqs":
        return {"queue_url": services.ingress_queue_url or None, "message_shape": MESSAGE_SHAPE}
    if trigger.kind == "eventbridge":
        return {"bus": bus_of(services, trigger), "rule_name": rule_name(services, trigger.id)}
    return None


def example_message(workspace_id: str, trigger_id: str, payload: Any) -> str:
    return json.dumps({"workspace": workspace_id, "trigger": trigger_id, "payload": payload})
