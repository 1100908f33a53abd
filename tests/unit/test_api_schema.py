"""The OpenAPI document describes every answer, and the console's generated types follow it."""

from __future__ import annotations

import difflib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from functions.api import handler, openapi
from functions.api.openapi_export import main as export_openapi
from tests.conftest import ROOT
from tests.support.ci import missing
from tests.support.openapi_check import PublishedSchemas

GENERATED = ROOT / "frontend/src/lib/api-schema.d.ts"
OPENAPI_TYPESCRIPT = ROOT / "frontend/node_modules/.bin/openapi-typescript"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return dict(json.loads(handler.openapi_document()))


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema` whose `#/components/...` references resolve in the document."""
    return Draft202012Validator({**schema, "components": spec["components"]})


def test_every_success_answer_has_a_schema_naming_its_fields(spec: dict[str, Any]):
    # Given every operation of the document
    for method, path, op in operations(spec):
        successes = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        # Then it documents exactly one success (two only where openapi.ALSO_200 says why: an unchanged publish)
        assert len(successes) == (2 if (method, path) in openapi.ALSO_200 else 1), (method, path, successes)
        for code, response in successes.items():
            if code == "204":
                assert "content" not in response, (method, path)
                continue
            if (method, path) in openapi.MARKDOWN_ANSWERS:  # an agent spec as text/markdown
                assert response["content"] == {"text/markdown": {"schema": openapi.MARKDOWN_SCHEMA}}
                continue
            # And its body is a named model whose object schema lists its fields, not `{}` or a bare object
            ref = response["content"]["application/json"]["schema"]["$ref"]
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
            assert schema["type"] == "object" and schema["properties"] and schema["required"], (method, path, schema)


def test_every_documented_error_is_the_error_envelope(spec: dict[str, Any]):
    # Given every operation's documented failures
    for method, path, op in operations(spec):
        errors = {code: r for code, r in op["responses"].items() if not code.startswith("2")}
        # Then each one is the shared envelope, and every operation may answer 422 and 500
        assert {"422", "500"} <= set(errors), (method, path)
        for code, response in errors.items():
            assert response["description"], (method, path, code)
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    # And no schema of Powertools' own error formats is left in the document
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(
        spec["components"]["schemas"]
    )


def test_the_error_schema_is_what_the_handler_answers(spec: dict[str, Any]):
    # Given the envelope the handler writes before routing and from its exception handlers
    before_routing = json.loads(handler.raw_error(401, "unauthorized", "missing bearer token")["body"])
    routed = json.loads(handler.error_response(422, "invalid_request", "name: required", [{"field": "name"}]).body)
    check = validator(spec, {"$ref": "#/components/schemas/Error"})
    # Then both validate against the published schema
    check.validate(before_routing)
    check.validate(routed)
    # And a body of another shape does not
    assert not check.is_valid({"error": {"code": "x", "message": "y", "details": None}, "extra": 1})
    assert not check.is_valid({"message": "Not found"})


def test_the_committed_console_types_are_generated_from_this_document(tmp_path: Path):
    # Given the document exported the way `npm run gen:api` exports it
    if not OPENAPI_TYPESCRIPT.exists():
        missing("frontend/node_modules is not installed: `make console` (npm ci) installs openapi-typescript")
    document = tmp_path / "openapi.json"
    export_openapi(["--out", str(document)])
    # When openapi-typescript generates the console's types from it
    out = tmp_path / "api-schema.d.ts"
    result = subprocess.run(
        [str(OPENAPI_TYPESCRIPT), str(document), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Then they are the committed ones
    fresh, committed = out.read_text(), GENERATED.read_text()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), "committed", "generated"))
    assert fresh == committed, (
        f"{GENERATED.relative_to(ROOT)} is stale: run `make api-types` and commit it\n{diff[:4000]}"
    )


def test_the_answer_checker_refuses_what_the_document_does_not_say(spec: dict[str, Any]):
    # Given the checker the integration suites' clients use, on this document
    schemas = PublishedSchemas(spec)
    good = {"valid": True, "state_count": 3}
    path = "/v1/workspaces/6f1c1e7e-8d8e-4b8e-9f8e-1c1e7e8d8e4b/flows/validate"
    # Then a documented answer passes, naming its operation
    assert schemas.check("POST", path, 200, good) == "/v1/workspaces/{ws}/flows/validate"
    # And a key the schema does not name, a wrong type, or an undocumented status is refused
    for status, body in [(200, {**good, "extra": 1}), (200, {**good, "valid": "yes"}), (418, good)]:
        with pytest.raises((AssertionError, ValidationError)):
            schemas.check("POST", path, status, body)
    # And a route the API does not have is left to the tests that expect its 404/405
    assert schemas.check("GET", "/v1/nothing-here", 404, {"error": {}}) is None
