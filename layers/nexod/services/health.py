"""What each part of a running Nexod says about itself: `ready`, `starting` or `failed`, with the reason.

The local supervisor writes it as it proves, watches and restarts the processes it owns; `GET /v1/health`
and the banner of `nexod up` read it. Reasons are written for people and never carry secrets
(connection strings, keys): whoever sets a reason is responsible for that.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Status = Literal["ready", "starting", "failed"]
STATUSES: tuple[Status, ...] = ("ready", "starting", "failed")


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    status: Status
    detail: str
    since: float  # epoch seconds of the last status change
    restarts: int = 0
    checked_at: float = 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = _iso(self.since)
        data["checked_at"] = _iso(self.checked_at) if self.checked_at else None
        return data


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class HealthBoard:
    """Thread-safe status of named components, in the order they were first reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, ComponentHealth] = {}

    def report(self, name: str, status: Status, detail: str = "", *, restarts: int | None = None) -> None:
        now = time.time()
        with self._lock:
            old = self._items.get(name)
            since = old.since if old is not None and old.status == status else now
            count = restarts if restarts is not None else (old.restarts if old else 0)
            self._items[name] = ComponentHealth(name, status, detail, since, count, now)

    def checked(self, name: str) -> None:
        """Record that a periodic check passed without changing the status."""
        with self._lock:
            old = self._items.get(name)
            if old is not None:
                self._items[name] = replace(old, checked_at=time.time())

    def get(self, name: str) -> ComponentHealth | None:
        with self._lock:
            return self._items.get(name)

    def components(self) -> list[ComponentHealth]:
        with self._lock:
            return list(self._items.values())

    def overall(self) -> Status:
        statuses = {c.status for c in self.components()}
        if "failed" in statuses:
            return "failed"
        if "starting" in statuses:
            return "starting"
        return "ready"

    def as_json(self) -> dict[str, Any]:
        return {"status": self.overall(), "components": [c.as_json() for c in self.components()]}
