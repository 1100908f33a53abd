"""Bounded concurrent load against a local Nexod over real sockets (127.0.0.1 only)."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Outcome:
    status: int | None  # None: the connection failed (reset, refused, timed out)
    body: Any
    error: str | None = None


def request(base_url: str, method: str, path: str, body: Any = None, token: str | None = None) -> Outcome:
    """One request on a fresh connection, so every call exercises accept() and the listen backlog."""
    parts = urlsplit(base_url)
    assert parts.hostname == "127.0.0.1", "load goes to the local machine only"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
        resp = conn.getresponse()
        text = resp.read()
        return Outcome(resp.status, json.loads(text) if text else None)
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, None, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def start_runs(base_url: str, token: str, ws: str, flow_id: str, runs: int, concurrency: int) -> list[Outcome]:
    path = f"/v1/workspaces/{ws}/flows/{flow_id}/runs"
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda i: request(base_url, "POST", path, {"input": {"i": i}}, token), range(runs)))
