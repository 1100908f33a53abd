"""Local SQS ingress and EventBridge-in (issue 12): `nexod up` drains moto's queues into the same services.

- **SQS.** The ingress queue `nexod-ingress` and its DLQ `nexod-ingress-dlq` live in moto, paired by a
  RedrivePolicy (max receives 3, as the CDK's). Each tick receives up to ten messages, hands them to the SQS
  ingress function's `process` as a Lambda SQS event (the same Powertools batch processing) and deletes all but
  the reported failures, which come back after the visibility timeout until moto moves them to the DLQ.
- **EventBridge.** Each bus an eventbridge trigger listens on (and the Nexod bus, where the platform's own run
  events go) gets one catch-all moto rule targeting a queue of its own, `nexod-events-<bus>`. The loop drains
  those queues and matches every event against the enabled eventbridge triggers of that bus with
  `nexod.domain.event_patterns` (the one matcher; moto's own lacks some filters), each match a delivery keyed by
  the event's id. `LocalEventRules` is the `EventRules` port of local mode: it makes a bus heard.

`IngressDoor` is what `POST /local/sqs` and `POST /local/events` use to put a message or an event from outside
this process (moto is in-process: curl or the README reach it through the local server).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from ..adapters import moto_glue
from ..adapters.postgres import Database
from ..domain import event_patterns
from ..services import trigger_ingress
from ..services.context import Services
from ..settings import Settings

log = logging.getLogger(__name__)
INGRESS_QUEUE = "nexod-ingress"
MAX_RECEIVES = 3
VISIBILITY_S = 5
EVENTS_RULE = "nexod-local-events-in"
CATCH_ALL = {"source": [{"prefix": ""}]}  # moto's matcher: every event with a source (every event)


def _client(service: str, settings: Settings) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=settings.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto, in-process only
    )


def bus_name(bus: str) -> str:
    """A bus given by ARN is the same bus as its name."""
    return bus.rsplit("event-bus/", 1)[-1] if bus.startswith("arn:") else bus


def _queue_for(bus: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", bus)
    name = f"nexod-events-{safe}"
    return name if len(name) <= 80 else f"nexod-events-{hashlib.sha256(bus.encode()).hexdigest()[:32]}"


@dataclass(frozen=True, slots=True)
class QueuePair:
    url: str
    arn: str
    dlq_url: str


def create_queue_pair(
    sqs: Any, name: str, max_receives: int = MAX_RECEIVES, visibility_s: int = VISIBILITY_S
) -> QueuePair:
    """A queue and its DLQ `<name>-dlq`, paired by a RedrivePolicy after `max_receives` receives."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})
    url = sqs.create_queue(
        QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(visibility_s)}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueuePair(url, arn, dlq_url)


class LocalEventRules:
    """The `EventRules` port of local mode: a trigger's bus is heard (created in moto when missing, with the
    catch-all rule to its queue); the patterns stay in the table, where the loop reads them."""

    def __init__(self, events: Any, sqs: Any) -> None:
        self.events = events
        self.sqs = sqs
        self.queues: dict[str, QueuePair] = {}  # bus -> its queue
        self._lock = threading.Lock()

    def listen(self, bus: str) -> QueuePair:
        bus = bus_name(bus)
        with self._lock:
            if bus in self.queues:
                return self.queues[bus]
            if bus != "default":
                with contextlib.suppress(self.events.exceptions.ResourceAlreadyExistsException):
                    self.events.create_event_bus(Name=bus)
            pair = create_queue_pair(self.sqs, _queue_for(bus))
            self.events.put_rule(Name=EVENTS_RULE, EventBusName=bus, EventPattern=json.dumps(CATCH_ALL))
            self.events.put_targets(Rule=EVENTS_RULE, EventBusName=bus, Targets=[{"Id": "ingress", "Arn": pair.arn}])
            self.queues[bus] = pair
            return pair

    def put(self, workspace_id: str, trigger_id: str, bus: str, pattern: dict[str, Any], enabled: bool) -> None:
        self.listen(bus)

    def delete(self, workspace_id: str, trigger_id: str, bus: str) -> None:
        """Nothing: the bus stays heard; a deleted trigger's row is gone, so nothing matches it."""


def _sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """moto's ReceiveMessage answer as the Lambda SQS event the ingress function takes."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class IngressLoop:
    """Drains the ingress queue and the buses' queues, a batch of ten at a time, on a thread of its own."""

    def __init__(
        self,
        services: Services,
        admin_db: Database,
        sqs: Any,
        ingress: QueuePair,
        rules: LocalEventRules,
        region: str = "us-east-1",
        interval: float = 0.2,
    ) -> None:
        self.services = services
        self.admin_db = admin_db  # which enabled eventbridge triggers listen on a bus (across workspaces)
        self.sqs = sqs
        self.ingress = ingress
        self.rules = rules
        self.region = region
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- SQS ----------------------------------------------------------------------------------------
    def drain_ingress(self) -> int:
        """One batch of the ingress queue through the SQS ingress function; returns how many it received."""
        from functions.triggers import sqs_ingress

        if moto_glue.queue_is_empty(self.ingress.url, self.region):
            return 0
        got = self.sqs.receive_message(
            QueueUrl=self.ingress.url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not got:
            return 0
        answer = sqs_ingress.process(self.services, _sqs_event(got, self.ingress.arn, self.region))
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in got if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.ingress.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(got)

    # -- EventBridge --------------------------------------------------------------------------------
    def listeners(self, bus: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(workspace, trigger, pattern) of the enabled eventbridge triggers listening on `bus`."""
        with self.admin_db.connection() as conn:
            rows = conn.execute(
                "SELECT workspace_id, id, config FROM triggers WHERE kind = 'eventbridge' AND enabled"
            ).fetchall()
        out = []
        for row in rows:
            config = row["config"] or {}
            if bus_name(str(config.get("bus") or self.services.nexod_bus)) == bus:
                out.append((str(row["workspace_id"]), str(row["id"]), dict(config.get("event_pattern") or {})))
        return out

    def match(
        self, bus: str, event: dict[str, Any], listeners: list[tuple[str, str, dict[str, Any]]] | None = None
    ) -> int:
        """Deliver `event` to every enabled trigger of `bus` whose pattern matches it; how many started.
        `listeners`: the bus's triggers as read once for a whole batch (run events come in bursts)."""
        started = 0
        for workspace_id, trigger_id, pattern in self.listeners(bus) if listeners is None else listeners:
            if not pattern or not event_patterns.matches(pattern, event):
                continue
            with self.services.store.tx(workspace_id) as uow:
                trigger = uow.triggers.get(trigger_id)
            if trigger is None or not trigger.enabled:
                continue
            outcome = trigger_ingress.deliver_event(self.services, workspace_id, trigger, event)
            started += outcome.status == "started"
        return started

    def drain_bus(self, bus: str, pair: QueuePair) -> int:
        if moto_glue.queue_is_empty(pair.url, self.region):
            return 0
        got = self.sqs.receive_message(QueueUrl=pair.url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        listeners = self.listeners(bus) if got else []
        done = []
        for message in got:
            try:
                event = json.loads(message["Body"])
                if isinstance(event, dict):
                    self.match(bus, event, listeners)
            except Exception:  # left for the next receive; after the max receives, the bus queue's DLQ
                log.exception("ingress: the event %s on bus %s was not delivered", message["MessageId"], bus)
                continue
            done.append(message)
        if done:  # one call for the batch (at most ten, as DeleteMessageBatch takes)
            self.sqs.delete_message_batch(
                QueueUrl=pair.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(got)

    def tick(self) -> int:
        """Drain what is waiting now (a few batches per queue); returns how many messages were received."""
        received = 0
        for _ in range(10):
            n = self.drain_ingress()
            received += n
            if n < 10:
                break
        for bus, pair in list(self.rules.queues.items()):
            for _ in range(10):
                n = self.drain_bus(bus, pair)
                received += n
                if n < 10:
                    break
        return received

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nexod-ingress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # moto or the database restarting: again next tick
                log.exception("ingress tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class IngressDoor:
    """`POST /local/sqs` and `POST /local/events`: put a message or an event into this process's moto."""

    def __init__(self, sqs: Any, events: Any, ingress: QueuePair, nexod_bus: str) -> None:
        self.sqs = sqs
        self.events = events
        self.ingress = ingress
        self.nexod_bus = nexod_bus

    def send(self, body: str) -> dict[str, Any]:
        answer = self.sqs.send_message(QueueUrl=self.ingress.url, MessageBody=body)
        return {"message_id": answer["MessageId"], "queue_url": self.ingress.url}

    def put_event(self, entry: dict[str, Any]) -> dict[str, Any]:
        """`{"source", "detail-type", "detail", "bus"?}` onto the bus (the Nexod bus by default)."""
        bus = bus_name(str(entry.get("bus") or self.nexod_bus))
        answer = self.events.put_events(
            Entries=[
                {
                    "Source": str(entry.get("source") or ""),
                    "DetailType": str(entry.get("detail-type") or ""),
                    "Detail": json.dumps(entry.get("detail") or {}),
                    "EventBusName": bus,
                    "Time": datetime.now(UTC),
                }
            ]
        )
        result = answer["Entries"][0]
        if not result.get("EventId"):
            return {"error": result.get("ErrorMessage") or result.get("ErrorCode") or "refused", "bus": bus}
        return {"event_id": result["EventId"], "bus": bus}


@dataclass
class LocalIngress:
    """The local ingress parts: the moto clients, the ingress queue pair and the buses' rules."""

    sqs: Any
    events: Any
    queue: QueuePair
    rules: LocalEventRules
    region: str

    @classmethod
    def create(cls, settings: Settings) -> LocalIngress:
        """The ingress queue pair in moto (call inside the orchestrator's mock)."""
        sqs, events = _client("sqs", settings), _client("events", settings)
        return cls(sqs, events, create_queue_pair(sqs, INGRESS_QUEUE), LocalEventRules(events, sqs), settings.region)

    def start(self, services: Services, admin_db: Database) -> tuple[IngressLoop, IngressDoor]:
        """Every bus an eventbridge trigger listens on (the Nexod bus when it names none), heard; the loop
        started. A bus no trigger listens on gets no rule and no queue (as in AWS, where each trigger is a
        rule): the platform's own run events then cost no copy to a queue and no read; the first trigger
        on a bus makes it heard (`LocalEventRules.put`)."""
        with admin_db.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT config->>'bus' AS bus FROM triggers WHERE kind = 'eventbridge'"
            ).fetchall()
        for row in rows:
            self.rules.listen(str(row["bus"] or services.nexod_bus))
        loop = IngressLoop(services, admin_db, self.sqs, self.queue, self.rules, region=self.region)
        loop.start()
        return loop, IngressDoor(self.sqs, self.events, self.queue, services.nexod_bus)
