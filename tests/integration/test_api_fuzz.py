"""Property-based API fuzzing: every route of /v1/openapi.json, generated inputs, never a 5xx.

Schemathesis derives requests (paths, queries, bodies) from the OpenAPI document the API serves and
sends them, authenticated, to the local stack: real handler, real Postgres, real orchestrator.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from nexod.local.boot import LocalStack


def test_no_request_makes_the_api_answer_5xx(stack: LocalStack, workspace: str):
    # Given every operation of the published OpenAPI document
    schema = schemathesis.openapi.from_url(f"{stack.url}/v1/openapi.json")
    token = stack.platform.issuer.token("alice")
    checked: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            if "ws" in (case.path_parameters or {}):
                # a real workspace of its own (fuzzed writes must not disturb the shared seed data)
                case.path_parameters["ws"] = workspace
            # When a generated request is sent, authenticated
            response = case.call(base_url=stack.url, headers={"Authorization": f"Bearer {token}"})
            # Then the API answers a success or a JSON error, never a server error
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
            if response.status_code >= 400:
                assert set(response.json()) == {"error"}, response.text[:500]

        check()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 20, checked
