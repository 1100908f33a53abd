"""Every answer a test client sees, checked against the schema `/v1/openapi.json` publishes for it."""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from typing import Any

from jsonschema import Draft202012Validator

from tests.support.api import Api


def closed(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to others: an answer must not carry
    a key its schema does not name (the console's generated types would not know it)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "properties" in item:
                item.setdefault("additionalProperties", False)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return schema


class PublishedSchemas:
    """The response schemas of one OpenAPI document, by operation and status."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = closed(spec["components"])
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), method.upper(), path, op)
            for path, ops in spec["paths"].items()
            for method, op in ops.items()
        ]

    @classmethod
    def of(cls, base_url: str) -> PublishedSchemas:
        with urllib.request.urlopen(base_url.rstrip("/") + "/v1/openapi.json") as resp:
            return cls(json.loads(resp.read()))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The documented (path template, operation) a request goes to; None for a route the API does not have."""
        bare = path.split("?", 1)[0]
        found = [(template, op) for rx, m, template, op in self.routes if m == method.upper() and rx.match(bare)]
        return found[0] if found else None

    def check(self, method: str, path: str, status: int, body: Any) -> str | None:
        """Assert that `body` is what the document says `method path` answers with `status`; returns the
        path template, or None when no documented operation matches (unknown routes and methods)."""
        found = self.operation(method, path)
        if found is None:
            return None
        template, op = found
        response = op["responses"].get(str(status))
        assert response is not None, f"{method} {template} answered {status}, which it does not document: {body}"
        content = response.get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is None and "text/markdown" in content:
            assert isinstance(body, str), (method, template, status, body)
        elif schema is None:
            assert body is None, (method, template, status, body)
        else:
            Draft202012Validator(
                {**schema, "components": self.components}, format_checker=Draft202012Validator.FORMAT_CHECKER
            ).validate(body)
        return template


class CheckedApi(Api):
    """The tests' API client, checking each answer against the published document as it goes."""

    def __init__(self, base_url: str, token: str | None, schemas: PublishedSchemas) -> None:
        super().__init__(base_url, token)
        self.schemas = schemas
        self.seen: set[tuple[str, str, int]] = set()

    def exchange(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        status, answer_headers, payload = super().exchange(method, path, body, raw, headers)
        template = self.schemas.check(method, path, status, payload)
        if template is not None:
            self.seen.add((method.upper(), template, status))
        return status, answer_headers, payload
