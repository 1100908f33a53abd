"""Triggers (issue 12): CRUD for members, deliveries for everyone else.

Every delivery, whatever its kind, goes through `deliver`: it is recorded under its idempotency key (the
database's UNIQUE (trigger_id, idempotency_key) lets exactly one copy through), then the run is started with
the trigger as its actor, then the delivery is settled with the run or the reason it was rejected. A copy
that lost the race waits for the winner to settle and answers with the same run.

A webhook's HMAC key lives in the Vault port as `trigger.<id>` (`{"secret": ...}`): verifying an HMAC needs
the key itself, so a hash would not do, and the vault already encrypts (AES-GCM locally, Secrets Manager
with KMS in AWS). The key is answered once, when it is made, and never again.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain import triggers as domain
from ..domain.actor import TriggerActor
from ..domain.errors import InvalidInput, NexodError, NotFound, Unauthorized
from ..domain.records import Run, Trigger, TriggerDelivery
from ..ports import UnitOfWork
from . import runs, trigger_rules
from .access import authorize, flow_or_404, parse_id
from .context import Principal, Services
from .credentials import vault_of
from .outputs import stored_output

log = logging.getLogger(__name__)
HOOK_PREFIX = "/v1/hooks/"
DUPLICATE_WAIT_S = 15.0  # how long a duplicate waits for the first copy to name its run
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def secret_name(trigger_id: str) -> str:
    """The vault name of a webhook's key; no credential can take it (credential names have no dots)."""
    return f"trigger.{trigger_id}"


def hook_path(trigger_id: str) -> str:
    return f"{HOOK_PREFIX}{trigger_id}"


def delivery_view(delivery: TriggerDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "received_at": delivery.received_at,
        "idempotency_key": delivery.idempotency_key,
        "status": delivery.status,
        "reason": delivery.reason,
        "run_id": delivery.run_id,
    }


def view(services: Services, trigger: Trigger, deliveries: list[TriggerDelivery] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": trigger.id,
        "flow_id": trigger.flow_id,
        "kind": trigger.kind,
        "config": trigger.config,
        "enabled": trigger.enabled,
        "version": trigger.version,
        "input_mapping": trigger.input_mapping,
        "created_by": trigger.created_by,
        "created_at": trigger.created_at,
        "updated_at": trigger.updated_at,
        "last_fired_at": trigger.last_fired_at,
        "next_fire_at": trigger.next_fire_at,
        "fires": trigger.kind not in domain.NOT_FIRING_YET,
        "url": None,
        "secret_set_at": trigger.secret_set_at,
        "deliveries": [delivery_view(d) for d in deliveries or []],
    }
    if trigger.kind == "webhook":
        answer["url"] = services.hook_base_url.rstrip("/") + hook_path(trigger.id)
    answer["ingress"] = trigger_rules.ingress_view(services, trigger)
    return answer


def _first_fire(kind: str, config: dict[str, Any], enabled: bool, now: datetime) -> datetime | None:
    if kind != "schedule" or not enabled:
        return None
    return domain.next_fire(domain.schedule_of(config), now)


def _trigger(uow: UnitOfWork, flow_id: str, trigger_id: str, for_update: bool = False) -> Trigger:
    trigger = uow.triggers.get(parse_id(trigger_id, "trigger"), for_update)
    if trigger is None or trigger.flow_id != flow_id:
        raise NotFound(f"trigger '{trigger_id}' not found")
    return trigger


def _check_version(uow: UnitOfWork, flow_id: str, version: int | None) -> None:
    if version is not None and uow.versions.head(flow_id, version) is None:
        raise InvalidInput(f"version: flow has no version {version}", {"field": "version"})


def _new_secret(given: str | None) -> str:
    if given is None:
        return "whsec_" + secrets.token_urlsafe(32)
    if not 16 <= len(given) <= 256:
        raise InvalidInput("secret: between 16 and 256 characters", {"field": "secret"})
    return given


def _sync_schedule(services: Services, workspace_id: str, trigger: Trigger) -> None:
    """The AWS side: one EventBridge Scheduler schedule per enabled schedule trigger (locally: none, the
    scheduler loop reads the table)."""
    if services.scheduler is None or trigger.kind != "schedule":
        return
    if trigger.enabled:
        config = domain.schedule_of(trigger.config)
        services.scheduler.put(workspace_id, trigger.id, config)
    else:
        services.scheduler.delete(workspace_id, trigger.id)


def create(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    kind: str,
    config: dict[str, Any] | None,
    enabled: bool = True,
    version: int | None = None,
    input_mapping: str | None = None,
    secret: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new trigger; a webhook's answer carries its `secret`, this once."""
    flow_id = parse_id(flow_id, "flow")
    cleaned = domain.validate_config(kind, config)
    domain.check_mapping(input_mapping)
    if secret is not None and kind != "webhook":
        raise InvalidInput("secret: only a webhook trigger has a secret", {"field": "secret"})
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.write")
        flow_or_404(uow, flow_id)
        _check_version(uow, flow_id, version)
        first = _first_fire(kind, cleaned, enabled, now or _now())
        trigger = uow.triggers.create(flow_id, kind, cleaned, enabled, version, input_mapping, principal.sub, first)
        key = None
        if kind == "webhook":
            key = _new_secret(secret)
            vault_of(services).put(workspace_id, secret_name(trigger.id), {"secret": key})  # raising rolls back
            changed = uow.triggers.update(trigger.id, {"secret_set_at": _now()})
            assert changed is not None
            trigger = changed
        uow.audit.record("trigger.create", "trigger", trigger.id, {"flow": flow_id, "kind": kind, "enabled": enabled})
        _sync_schedule(services, workspace_id, trigger)
        trigger_rules.sync_rule(services, workspace_id, trigger)
        answer = view(services, trigger)
    if key is not None:
        answer["secret"] = key
    return answer


def list_triggers(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.read")
        flow_or_404(uow, flow_id)
        return {"items": [view(services, t) for t in uow.triggers.of_flow(flow_id)]}


def get(services: Services, principal: Principal, workspace_id: str, flow_id: str, trigger_id: str) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.read")
        trigger = _trigger(uow, flow_id, trigger_id)
        return view(services, trigger, uow.triggers.deliveries(trigger.id, 20))


def update(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    trigger_id: str,
    fields: dict[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Change config, enabled, version (null: live) and/or input_mapping; the kind stays."""
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.write")
        trigger = _trigger(uow, flow_id, trigger_id, for_update=True)
        changes: dict[str, Any] = {}
        if "config" in fields:
            changes["config"] = domain.validate_config(trigger.kind, fields["config"])
        if "input_mapping" in fields:
            domain.check_mapping(fields["input_mapping"])
            changes["input_mapping"] = fields["input_mapping"]
        if "version" in fields:
            _check_version(uow, flow_id, fields["version"])
            changes["version"] = fields["version"]
        if "enabled" in fields:
            changes["enabled"] = bool(fields["enabled"])
        config = changes.get("config", trigger.config)
        enabled = changes.get("enabled", trigger.enabled)
        if "config" in changes or "enabled" in changes:
            changes["next_fire_at"] = _first_fire(trigger.kind, config, enabled, now or _now())
        changed = uow.triggers.update(trigger.id, changes) if changes else trigger
        assert changed is not None
        uow.audit.record("trigger.update", "trigger", trigger.id, {"fields": sorted(changes)})
        _sync_schedule(services, workspace_id, changed)
        trigger_rules.sync_rule(services, workspace_id, changed, trigger)
        return view(services, changed, uow.triggers.deliveries(changed.id, 20))


def set_enabled(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, trigger_id: str, enabled: bool
) -> dict[str, Any]:
    return update(services, principal, workspace_id, flow_id, trigger_id, {"enabled": enabled})


def delete(services: Services, principal: Principal, workspace_id: str, flow_id: str, trigger_id: str) -> None:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.write")
        trigger = _trigger(uow, flow_id, trigger_id, for_update=True)
        uow.triggers.delete(trigger.id)
        if trigger.kind == "webhook":
            vault_of(services).delete(workspace_id, secret_name(trigger.id))
        if services.scheduler is not None and trigger.kind == "schedule":
            services.scheduler.delete(workspace_id, trigger.id)
        trigger_rules.drop_rule(services, workspace_id, trigger)
        uow.audit.record("trigger.delete", "trigger", trigger.id, {"flow": flow_id, "kind": trigger.kind})


def forget(services: Services, workspace_id: str, gone: list[Trigger]) -> None:
    """What deleted triggers leave outside the database (a webhook's secret, an AWS schedule): removed, best
    effort (a failure is logged; the value is unreachable without its trigger row)."""
    for trigger in gone:
        try:
            if trigger.kind == "webhook" and trigger.secret_set_at is not None:
                vault_of(services).delete(workspace_id, secret_name(trigger.id))
            if services.scheduler is not None and trigger.kind == "schedule":
                services.scheduler.delete(workspace_id, trigger.id)
            trigger_rules.drop_rule(services, workspace_id, trigger)
        except Exception:
            log.exception("trigger %s: its secret or schedule could not be removed", trigger.id)


def remove_all(services: Services, principal: Principal, workspace_id: str) -> int:
    """A deleted workspace's triggers: secrets out of the vault, schedules out of the Scheduler, then the rows
    (one by one: a failure leaves the rest for the next attempt of the deletion)."""
    with services.store.tx(workspace_id, principal.sub) as uow:
        found = uow.triggers.all()
    for trigger in found:
        if trigger.kind == "webhook" and trigger.secret_set_at is not None:
            vault_of(services).delete(workspace_id, secret_name(trigger.id))
        if services.scheduler is not None and trigger.kind == "schedule":
            services.scheduler.delete(workspace_id, trigger.id)
        trigger_rules.drop_rule(services, workspace_id, trigger)
        with services.store.tx(workspace_id, principal.sub) as uow:
            uow.triggers.delete(trigger.id)
    return len(found)


def rotate_secret(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    trigger_id: str,
    secret: str | None = None,
) -> dict[str, Any]:
    """A new key (or the one given: a Stripe or Slack signing secret); the old one stops verifying at once."""
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.write")
        trigger = _trigger(uow, flow_id, trigger_id, for_update=True)
        if trigger.kind != "webhook":
            raise InvalidInput("only a webhook trigger has a secret to rotate", {"field": "kind"})
        key = _new_secret(secret)
        vault_of(services).put(workspace_id, secret_name(trigger.id), {"secret": key})
        changed = uow.triggers.update(trigger.id, {"secret_set_at": _now()})
        assert changed is not None
        uow.audit.record("trigger.rotate_secret", "trigger", trigger.id, {})
        answer = view(services, changed)
    answer["secret"] = key
    return answer


def test(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    trigger_id: str,
    payload: Any,
) -> dict[str, Any]:
    """Fire once now with a sample payload (as the delivery's body), whatever the kind and even disabled."""
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.write")
        trigger = _trigger(uow, flow_id, trigger_id)
        uow.audit.record("trigger.test", "trigger", trigger.id, {})
    outcome = deliver(services, workspace_id, trigger, f"test:{uuid.uuid4()}", payload, {}, {}, _now())
    return outcome.as_json()


# -- deliveries -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: str
    status: str  # started | duplicate | rejected | received (a duplicate whose first copy is still starting)
    run_id: str | None
    reason: str | None = None
    # A synchronous webhook's delivery: its workspace and how long the request may wait for the answer.
    workspace_id: str | None = None
    sync_seconds: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"delivery_id": self.delivery_id, "status": self.status, "run_id": self.run_id, "reason": self.reason}


def _await_first(services: Services, workspace_id: str, trigger_id: str, key: str) -> TriggerDelivery | None:
    deadline = time.monotonic() + DUPLICATE_WAIT_S
    while True:
        with services.store.tx(workspace_id) as uow:
            first = uow.triggers.delivery(trigger_id, key)
        if first is None or first.status != "received" or time.monotonic() > deadline:
            return first
        time.sleep(0.05)


def deliver(
    services: Services,
    workspace_id: str,
    trigger: Trigger,
    key: str,
    body: Any,
    headers: dict[str, str],
    query: dict[str, str],
    received_at: datetime,
    context: dict[str, Any] | None = None,
) -> Outcome:
    """One delivery, exactly once per (trigger, key): record it with the run input it maps to, then start the
    run and settle the record in one unit of work (`runs.start(within=...)`). A process that dies in between
    leaves a `received` delivery with its input, which the sender's retry (same key) or `recover_deliveries`
    starts later, exactly once."""
    trigger_doc = {"id": trigger.id, "kind": trigger.kind, "flow_id": trigger.flow_id, **(context or {})}
    document = domain.delivery_document(body, headers, query, received_at, trigger_doc)
    unmapped: str | None = None
    run_input: Any = None
    try:
        run_input = domain.run_input(trigger.input_mapping, document)
    except NexodError as exc:
        unmapped = exc.message
    with services.store.tx(workspace_id) as uow:
        delivery = uow.triggers.record_delivery(trigger.id, key, "received")
        if delivery is not None and unmapped is not None:
            uow.triggers.settle_delivery(delivery.id, "rejected", unmapped, None)
            return Outcome(delivery.id, "rejected", None, unmapped)
        if delivery is not None and trigger.kind == "schedule":
            config = domain.schedule_of(trigger.config)
            if config.overlap == "skip" and uow.triggers.running(trigger.id) > 0:
                reason = "overlap: the previous run of this trigger is still running"
                uow.triggers.settle_delivery(delivery.id, "rejected", reason, None)
                return Outcome(delivery.id, "rejected", None, reason)
        if delivery is not None:
            uow.triggers.record_input(delivery.id, run_input)
    if delivery is None:
        first = _await_first(services, workspace_id, trigger.id, key)
        if first is None:  # pruned meanwhile: nothing to name
            return Outcome("", "duplicate", None)
        if first.status == "received" and unmapped is None:
            # Still not started after the wait: the process that recorded it most likely died. A retry by the
            # sender (SQS redelivery, Scheduler's or the webhook caller's retry) carries the same key and body, so
            # it starts the run itself; the delivery's row lock lets only one start win (see _start_delivery).
            log.warning("trigger %s: delivery %s was left unstarted; its retry starts it", trigger.id, first.id)
            return _start_delivery(services, workspace_id, trigger, first, run_input)
        return Outcome(first.id, "duplicate" if first.status != "received" else "received", first.run_id, first.reason)
    return _start_delivery(services, workspace_id, trigger, delivery, run_input)


class _SettledElsewhere(Exception):
    """Another process started (or rejected) this delivery first: the run being created is rolled back."""


def _start_delivery(
    services: Services, workspace_id: str, trigger: Trigger, delivery: TriggerDelivery, run_input: Any
) -> Outcome:
    """Start the delivery's run and settle the delivery in the run's unit of work; whoever settles first wins
    (the delivery's row lock), so the first attempt and a recovery never both start a run."""

    def settle(uow: UnitOfWork, run: Run, queued: str | None) -> None:
        if not uow.triggers.settle_received(delivery.id, "started", queued, run.id):
            raise _SettledElsewhere

    try:
        run = runs.start(
            services,
            TriggerActor(trigger.id, trigger.kind),
            workspace_id,
            trigger.flow_id,
            run_input,
            trigger.version,
            trigger=trigger.kind,
            within=settle,
        )
    except _SettledElsewhere:
        with services.store.tx(workspace_id) as uow:
            first = uow.triggers.delivery(trigger.id, delivery.idempotency_key)
        assert first is not None
        return Outcome(first.id, "duplicate", first.run_id, first.reason)
    except NexodError as exc:  # no live version, a concurrency limit that rejects, ...
        with services.store.tx(workspace_id) as uow:
            uow.triggers.settle_received(delivery.id, "rejected", exc.message, None)
        return Outcome(delivery.id, "rejected", None, exc.message)
    except Exception as exc:  # never leave a delivery "received" forever: its duplicates wait on it
        log.exception("trigger %s: the run did not start", trigger.id)
        with services.store.tx(workspace_id) as uow:
            uow.triggers.settle_received(delivery.id, "rejected", f"the run did not start: {type(exc).__name__}", None)
        raise
    reason = "queued: waiting for a free slot (concurrency limit)" if run["status"] == "QUEUED" else None
    return Outcome(delivery.id, "started", str(run["id"]), reason)


RECOVER_AFTER = timedelta(seconds=30)  # a delivery still `received` this long after it arrived was abandoned


def recover_deliveries(services: Services, workspace_id: str, now: datetime, after: timedelta = RECOVER_AFTER) -> int:
    """Start the runs of deliveries a process recorded and died before starting (the sweep: the local
    scheduler loop; the run starter's `recover` call in AWS). Each goes through the same settle-in-the-run's-
    unit-of-work path as the first attempt, so a delivery starts at most one run whoever gets there first.
    Returns how many runs it started."""
    with services.store.tx(workspace_id) as uow:
        found = [
            (d, kept, run_input, uow.triggers.get(d.trigger_id))
            for d, kept, run_input in uow.triggers.unsettled(now - after)
        ]
    started = 0
    for delivery, kept, run_input, trigger in found:
        if trigger is None:
            continue
        if not kept:  # recorded before deliveries kept their input: nothing to start it from
            with services.store.tx(workspace_id) as uow:
                uow.triggers.settle_received(delivery.id, "rejected", "abandoned: its input was not kept", None)
            continue
        log.warning("trigger %s: delivery %s was never started; starting it now", trigger.id, delivery.id)
        try:
            outcome = _start_delivery(services, workspace_id, trigger, delivery, run_input)
        except Exception:
            log.exception("trigger %s: recovering delivery %s failed", trigger.id, delivery.id)
            continue
        started += outcome.status == "started"
    return started


# -- webhooks ---------------------------------------------------------------------------------------
def _parse_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def receive_webhook(
    services: Services,
    trigger_id: str,
    headers: dict[str, str],
    raw_body: bytes,
    query: dict[str, str],
    now: datetime | None = None,
) -> Outcome:
    """A signed delivery to `POST /v1/hooks/{trigger_id}`. Unknown, disabled, unsigned, badly signed or
    stale: the same Unauthorized, and nothing is recorded or started."""
    refused = Unauthorized("the delivery is not signed by a known, enabled webhook trigger")
    now = now or _now()
    try:
        trigger_id = str(uuid.UUID(trigger_id))
    except ValueError:
        raise refused from None
    with services.store.tx(None) as uow:
        workspace_id = uow.triggers.workspace_of_hook(trigger_id)
    if workspace_id is None:
        raise refused
    with services.store.tx(workspace_id) as uow:
        trigger = uow.triggers.get(trigger_id)
    if trigger is None or trigger.kind != "webhook" or not trigger.enabled:
        raise refused
    reader = services.hook_vault if services.hook_vault is not None else vault_of(services)
    stored = reader.get(workspace_id, secret_name(trigger.id))
    preset = str((trigger.config or {}).get("preset", "nexod"))
    if stored is None or not domain.verify(preset, str(stored.get("secret", "")), headers, raw_body, now):
        raise refused
    body = _parse_body(raw_body)
    key = domain.delivery_key(preset, headers, body) or f"auto:{uuid.uuid4()}"
    shown = {k: v for k, v in headers.items() if k not in ("authorization", "cookie")}
    outcome = deliver(services, workspace_id, trigger, key, body, shown, query, now)
    response = domain.webhook_of(trigger.config).response
    if response.mode == "sync":
        outcome = replace(outcome, workspace_id=workspace_id, sync_seconds=response.timeout_seconds)
    return outcome


# -- synchronous webhooks ---------------------------------------------------------------------------
SYNC_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """What a synchronous webhook answers: a `webhook_response` node's status, headers and body, or the
    run's output (200) when it ended without one."""

    status: int
    headers: dict[str, str]
    body: Any


def _answer_of(services: Services, workspace_id: str, run_id: str) -> tuple[HookAnswer | None, bool]:
    """The answer the run has set so far (its first finished `webhook_response` node), and whether it ended."""
    with services.store.tx(workspace_id) as uow:
        run = uow.runs.get(run_id)
        if run is None:
            return None, True
        responses = sorted(
            (n for n in uow.node_runs.of_run(run_id) if n.node_type == "webhook_response" and n.status == "SUCCEEDED"),
            key=lambda n: (n.finished_at or datetime.max.replace(tzinfo=UTC), n.node_id, n.iteration),
        )
    if responses:
        output = stored_output(services.blobs, workspace_id, run_id, responses[0])
        if isinstance(output, dict) and isinstance(output.get("status"), int):
            given = output.get("headers")
            headers: dict[Any, Any] = given if isinstance(given, dict) else {}
            return HookAnswer(
                int(output["status"]), {str(k): str(v) for k, v in headers.items()}, output.get("body")
            ), True
    if not run.is_terminal:
        return None, False
    if run.status == "SUCCEEDED":
        return HookAnswer(200, {}, stored_output(services.blobs, workspace_id, run_id, run)), True
    error = {"code": "run_failed", "message": f"the run ended {run.status}", "details": {"run_id": run_id}}
    return HookAnswer(502, {}, {"error": error}), True


def await_answer(services: Services, outcome: Outcome) -> HookAnswer | None:
    """A synchronous webhook's answer: wait (polling, at most the trigger's `timeout_seconds`) for the run's
    first `webhook_response` node, else its output once it ends; None when the wait ran out (the caller then
    answers 202 with the run id) or the delivery started no run. A duplicate delivery gets the same answer."""
    if outcome.sync_seconds is None or outcome.workspace_id is None or outcome.run_id is None:
        return None
    deadline = time.monotonic() + outcome.sync_seconds
    while True:
        answer, ended = _answer_of(services, outcome.workspace_id, outcome.run_id)
        if answer is not None or ended or time.monotonic() >= deadline:
            return answer
        time.sleep(min(SYNC_POLL_S, max(0.0, deadline - time.monotonic())))


# -- schedules --------------------------------------------------------------------------------------
def fire_due(services: Services, workspace_id: str, now: datetime) -> int:
    """Fire the workspace's schedules that are due at `now` (the local scheduler loop, each second).

    Each due trigger is claimed under a row lock and moved to its next due time in the same transaction,
    so two loops fire a due time once; each firing is a delivery keyed by its due time, so a retry after a
    crash between the two steps starts nothing twice. Returns how many runs were started."""
    plans: list[tuple[Trigger, list[datetime]]] = []
    with services.store.tx(workspace_id) as uow:
        for trigger in uow.triggers.claim_due(now):
            assert trigger.next_fire_at is not None
            config = domain.schedule_of(trigger.config)
            firing, following = domain.due_to_fire(config, trigger.next_fire_at, now)
            uow.triggers.update(trigger.id, {"next_fire_at": following})
            skipped = [d for d in _missed(trigger.next_fire_at, config, now) if d not in firing]
            for due in skipped:  # a missed due time the catch-up policy does not fire is recorded as such
                missed = uow.triggers.record_delivery(trigger.id, _due_key(due), "received")
                if missed is not None:
                    reason = f"missed while stopped (catch_up: {config.catch_up})"
                    uow.triggers.settle_delivery(missed.id, "rejected", reason, None)
            plans.append((trigger, firing))
    started = 0
    for trigger, firing in plans:
        for due in firing:
            outcome = deliver(
                services, workspace_id, trigger, _due_key(due), None, {}, {}, now, {"scheduled_time": due.isoformat()}
            )
            started += outcome.status == "started"
    return started


def _missed(due: datetime, config: domain.ScheduleConfig, now: datetime) -> list[datetime]:
    out, cursor = [due], due
    while len(out) < domain.CATCH_UP_LIMIT:
        nxt = domain.next_fire(config, cursor)
        if nxt is None or nxt > now:
            break
        out.append(nxt)
        cursor = nxt
    return out


def _due_key(due: datetime) -> str:
    return f"scheduled:{due.astimezone(UTC).isoformat()}"


def fire_scheduled(services: Services, workspace_id: str, trigger_id: str, scheduled_time: str) -> Outcome:
    """The AWS run starter: EventBridge Scheduler's target input names the workspace, the trigger and the
    scheduled time, which keys the delivery (a retried invocation starts nothing twice)."""
    with services.store.tx(workspace_id) as uow:
        trigger = uow.triggers.get(parse_id(trigger_id, "trigger"))
        if trigger is not None and trigger.kind == "schedule" and trigger.enabled:
            uow.triggers.update(trigger.id, {"last_fired_at": _now()})
    if trigger is None or trigger.kind != "schedule" or not trigger.enabled:
        raise NotFound(f"trigger '{trigger_id}' not found or disabled")
    due = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    return deliver(
        services, workspace_id, trigger, _due_key(due), None, {}, {}, _now(), {"scheduled_time": due.isoformat()}
    )


def prune(services: Services, workspace_id: str, now: datetime) -> int:
    """Forget deliveries older than 30 days (the local loop, hourly)."""
    with services.store.tx(workspace_id) as uow:
        return uow.triggers.prune_deliveries(now - domain.DELIVERY_RETENTION)


PREVIEW_MAX = 20


def preview(
    services: Services,
    principal: Principal,
    workspace_id: str,
    fields: dict[str, Any],
    count: int = 5,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The next due times of a schedule before it is saved (the console's cron helper), computed by the
    scheduler's own `next_fire`; viewers may ask. Nothing is stored."""
    if not 1 <= count <= PREVIEW_MAX:
        raise InvalidInput(f"count: between 1 and {PREVIEW_MAX}", {"field": "count"})
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "triggers.read")
    after = now or _now()
    times = domain.preview(fields, after, count)
    timezone = str(fields.get("timezone") or "UTC")
    return {"expression": str(fields["expression"]).strip(), "timezone": timezone, "after": after, "next": times}
