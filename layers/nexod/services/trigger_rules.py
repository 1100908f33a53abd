"""Where sqs and eventbridge triggers meet the world outside the database (issue 12): the rule an eventbridge
trigger keeps through the `EventRules` port, and what the API shows to send a delivery. `trigger_ingress`
receives the deliveries; this module is what `triggers` (CRUD) calls, and imports neither."""

from __future__ import annotations

from typing import Any

from ..domain.errors import InvalidInput
from ..domain.records import Trigger
from .context import Services

RULE_INFIX = "-trg-"

MESSAGE_SHAPE: dict[str, Any] = {
    "workspace": "<workspace id>",
    "trigger": "<trigger id>",
    "payload": {"any": "JSON: the delivery's body (the run's input unless an input mapping says otherwise)"},
    "idempotency_key": "<optional, at most 200 characters; default: the SQS message id>",
}


def bus_of(services: Services, trigger: Trigger) -> str:
    """The trigger's bus: the one it names, else the Nexod bus."""
    return str((trigger.config or {}).get("bus") or services.nexod_bus)


def rule_name(services: Services, trigger_id: str) -> str:
    return f"{services.state_machine_prefix}{RULE_INFIX}{trigger_id}"


def sync_rule(services: Services, workspace_id: str, trigger: Trigger, before: Trigger | None = None) -> None:
    """Keep the trigger's rule in step with it: put on create/update (disabled with it), and removed from a
    bus it left."""
    if services.event_rules is None or trigger.kind != "eventbridge":
        return
    bus = bus_of(services, trigger)
    if services.trigger_buses and bus not in services.trigger_buses:
        raise InvalidInput(
            f"config.bus: '{bus}' is not a bus this deployment's triggers may listen on "
            f"(allowed: {', '.join(services.trigger_buses)})",
            {"field": "config.bus"},
        )
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
