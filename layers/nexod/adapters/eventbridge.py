"""The `EventPublisher` port over Amazon EventBridge (boto3 client injected; moto's EventBridge locally)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from ..ports import BusEvent

log = logging.getLogger(__name__)
MAX_ENTRIES = 10  # PutEvents takes at most 10 entries per call


class EventBridgePublisher:
    """PutEvents to one bus. An entry the bus refuses (or a call that fails) is reported as not accepted,
    so the outbox keeps it for a later relay; every accepted event is also logged (`event_published`)."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name
        self.last_error: Exception | None = None  # why the last refused call failed (for operators, tests)

    def publish(self, events: Sequence[BusEvent]) -> set[str]:
        accepted: set[str] = set()
        for start in range(0, len(events), MAX_ENTRIES):
            batch = events[start : start + MAX_ENTRIES]
            entries = [
                {
                    "Source": e.source,
                    "DetailType": e.detail_type,
                    "Detail": json.dumps(e.detail, default=str, separators=(",", ":")),
                    "EventBusName": self.bus_name,
                    **({"Resources": list(e.resources)} if e.resources else {}),
                }
                for e in batch
            ]
            try:
                answer = self.client.put_events(Entries=entries)
            except Exception as exc:  # the bus is unreachable or throttling: all of them stay queued
                self.last_error = exc
                log.warning("EventBridge PutEvents failed (%s); %d events stay queued", type(exc).__name__, len(batch))
                continue
            for event, result in zip(batch, answer.get("Entries", []), strict=False):
                if result.get("EventId"):
                    accepted.add(event.key)
                    log.info(
                        "event_published",
                        extra={"source": event.source, "detail_type": event.detail_type, "cursor": event.key},
                    )
                else:
                    log.warning("EventBridge refused event %s: %s", event.key, result.get("ErrorCode"))
        return accepted
