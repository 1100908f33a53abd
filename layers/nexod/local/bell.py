"""A process-local wake-up for event readers: local mode runs every writer in this process, so the store
rings after a unit of work with events commits and the local server's streams read at once instead of
on their next poll. Only a hint: readers still read through the API (cursor, horizon, access checks)."""

from __future__ import annotations

import asyncio
import threading


class EventBell:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rung = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def rung(self) -> int:
        """How many times it rang: take it before reading, pass it to `wait` after."""
        return self._rung

    def ring(self) -> None:
        with self._lock:
            self._rung += 1
            waiters = list(self._waiters)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, since: int, timeout: float) -> None:
        """Until it rings after `since` (at once if it already did) or `timeout` seconds pass."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._rung != since:
                return
            self._waiters.add(entry)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(entry)
