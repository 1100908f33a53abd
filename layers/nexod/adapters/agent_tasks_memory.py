"""The agent task board in memory (local mode and tests): one process hosts the broker and the launcher.

The deployed wiring keeps the same records in Postgres and forwards heartbeats and the result to Step
Functions (the callback completion service); this adapter only remembers them and lets a waiter block on a
task's result."""

from __future__ import annotations

import threading
from typing import Any

from ..ports.agents import AgentTaskState, TaskScope


class MemoryAgentTaskBoard:
    def __init__(self) -> None:
        self._tasks: dict[tuple[str, str, str, int, int], AgentTaskState] = {}
        self._lock = threading.Condition()

    def put(self, scope: TaskScope, task: dict[str, Any]) -> None:
        with self._lock:
            self._tasks[scope.key] = AgentTaskState(task=task)

    def get(self, scope: TaskScope) -> AgentTaskState | None:
        with self._lock:
            return self._tasks.get(scope.key)

    def _state(self, scope: TaskScope) -> AgentTaskState:
        state = self._tasks.get(scope.key)
        if state is None:
            raise KeyError(scope.key)
        return state

    def heartbeat(self, scope: TaskScope, at: float) -> None:
        with self._lock:
            self._state(scope).heartbeats.append(at)
            self._lock.notify_all()

    def event(self, scope: TaskScope, event: dict[str, Any]) -> None:
        with self._lock:
            self._state(scope).events.append(event)

    def call(self, scope: TaskScope, call: dict[str, Any]) -> None:
        with self._lock:
            self._state(scope).calls.append(call)
            self._lock.notify_all()

    def finish(self, scope: TaskScope, result: dict[str, Any]) -> None:
        with self._lock:
            self._state(scope).result = result
            self._lock.notify_all()

    def wait_result(self, scope: TaskScope, timeout: float) -> dict[str, Any] | None:
        """The task's result once the runner reported it (None after `timeout` seconds)."""
        with self._lock:
            self._lock.wait_for(lambda: self._state(scope).result is not None, timeout)
            return self._state(scope).result
