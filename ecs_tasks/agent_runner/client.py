"""The runner's only connection to Nexod: the broker, over HTTP with its capability token (stdlib only)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


class BrokerRefused(Exception):
    """The broker answered an error: `type` is the typed error the runner reports (e.g. BudgetExceeded)."""

    def __init__(self, status: int, type_: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{type_}: {message}")
        self.status = status
        self.type = type_
        self.message = message
        self.retry_after = retry_after


class BrokerClient:
    def __init__(self, url: str, token: str, timeout: float = 300.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (the broker URL the launcher gave us)
            f"{self.url}/v1/broker/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read() or b"{}").get("error") or {}
            except ValueError:
                error = {}
            raise BrokerRefused(
                exc.code,
                str(error.get("type") or error.get("code") or "BrokerError"),
                str(error.get("message") or exc.reason),
                error.get("retry_after_seconds"),
            ) from None

    def task(self) -> dict[str, Any]:
        return dict(self._request("GET", "task"))

    def llm(self, agent: str, messages: list[dict[str, Any]], temperature: float | None) -> dict[str, Any]:
        """One completion; a rate-limited call waits as the broker says, up to 3 times."""
        for _ in range(3):
            try:
                return dict(
                    self._request("POST", "llm", {"agent": agent, "messages": messages, "temperature": temperature})
                )
            except BrokerRefused as exc:
                if exc.status != 429 or not exc.retry_after or exc.retry_after > 60:
                    raise
                time.sleep(exc.retry_after)
        return dict(self._request("POST", "llm", {"agent": agent, "messages": messages, "temperature": temperature}))

    def tool(self, name: str, agent: str, args: dict[str, Any]) -> dict[str, Any]:
        return dict(self._request("POST", f"tools/{name}", {"agent": agent, "args": args}))

    def recall(self, agent: str, query: str) -> list[str]:
        return [str(m) for m in self._request("POST", "memory/recall", {"agent": agent, "query": query})["memories"]]

    def remember(self, agent: str, text: str) -> None:
        self._request("POST", "memory/remember", {"agent": agent, "text": text})

    def heartbeat(self) -> None:
        self._request("POST", "heartbeat", {}, timeout=10)

    def events(self, events: list[dict[str, Any]]) -> None:
        self._request("POST", "events", {"events": events}, timeout=10)

    def result(self, body: dict[str, Any]) -> None:
        self._request("POST", "result", body, timeout=30)
