"""A tiny HTTP client for tests: JSON in, (status, JSON) out, with a bearer token."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def _lower(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


class Api:
    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> tuple[int, Any]:
        status, _headers, payload = self.exchange(method, path, body, raw, headers)
        return status, payload

    def exchange(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """One request: (status, response headers with lower-case names, JSON body or text).

        `headers` override the defaults; a None value removes one."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for key, value in (headers or {}).items():
            if value is None:
                request.remove_header(key.capitalize())
            else:
                request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                text = resp.read()
                headers = _lower(resp.headers.items())
                if not headers.get("content-type", "application/json").startswith("application/json"):
                    return resp.status, headers, text.decode()  # e.g. an agent spec's text/markdown
                return resp.status, headers, json.loads(text) if text else None
        except urllib.error.HTTPError as err:
            text = err.read()
            try:
                return err.code, _lower(err.headers.items()), json.loads(text) if text else None
            except json.JSONDecodeError:
                return err.code, _lower(err.headers.items()), text.decode()

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self.call("POST", path, body if body is not None else {})

    def put(self, path: str, body: Any) -> tuple[int, Any]:
        return self.call("PUT", path, body)

    def delete(self, path: str) -> tuple[int, Any]:
        return self.call("DELETE", path)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.call(method, path, body)
        assert 200 <= status < 300, (method, path, status, payload)
        return payload

    def wait_run(
        self,
        ws: str,
        run_id: str,
        timeout: float = 60.0,
        until: tuple[str, ...] = ("SUCCEEDED", "FAILED", "CANCELLED"),
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.ok("GET", f"/v1/workspaces/{ws}/runs/{run_id}")
            if run["status"] in until:
                return dict(run)
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")
            time.sleep(0.05)

    def nodes(self, ws: str, run_id: str) -> dict[str, dict[str, Any]]:
        items = self.ok("GET", f"/v1/workspaces/{ws}/runs/{run_id}/nodes")["items"]
        return {n["node_id"]: n for n in items}
