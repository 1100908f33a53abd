"""Credential types: each validates its value with errors that name the field and never echo the value."""

from __future__ import annotations

import json

import jsonschema
import pytest

from nexod.domain.credentials import (
    CREDENTIAL_TYPES,
    MAX_VALUE_BYTES,
    SecretRef,
    check_name,
    pick,
    secret_refs,
    validate_value,
)
from nexod.domain.errors import FlowInvalid, InvalidInput
from nexod.domain.validation import validate

from .flows import edge, node

CANARY = "canary-7f3e9b21-do-not-print"

VALID = {
    "api_key": {"key": CANARY},
    "bearer": {"token": CANARY},
    "basic": {"username": "svc", "password": CANARY},
    "header": {"name": "X-Api-Key", "value": CANARY},
    "llm_provider": {"provider": "openai", "key": CANARY, "base_url": "http://127.0.0.1:9/v1"},
    "database": {"host": "db.internal", "database": "crm", "username": "ro", "password": CANARY},
    "smtp": {"host": "smtp.example.com", "username": "bot", "password": CANARY},
    "aws": {"role_arn": "arn:aws:iam::123456789012:role/nexod-crm", "external_id": CANARY},
    "generic": {"token": CANARY, "tenant": "acme"},
}


def test_every_type_has_a_valid_example_and_a_json_schema_that_agrees():
    # Given one valid value per credential type
    assert set(VALID) == set(CREDENTIAL_TYPES)
    for name, kind in CREDENTIAL_TYPES.items():
        # When the value is validated and its published schema is applied to it
        cleaned = validate_value(name, VALID[name])
        # Then both accept it, and what is stored is the value with its defaults
        jsonschema.validate(cleaned, kind.json_schema())
        assert {k: cleaned[k] for k in VALID[name]} == VALID[name]


def test_defaults_are_filled_and_unset_optional_fields_dropped():
    # Given an SMTP value without port or security, and a database value by parts
    smtp = validate_value("smtp", {"host": "mail.local"})
    db = validate_value("database", {"url": "postgresql://u:p@h/d"})
    # Then the defaults are stored and absent optional fields are not
    assert smtp == {"host": "mail.local", "port": 587, "security": "starttls"}
    assert db == {"url": "postgresql://u:p@h/d", "sslmode": "verify-full"}


@pytest.mark.parametrize(
    ("type_name", "value", "field"),
    [
        ("api_key", {"key": ""}, "value.key"),
        ("api_key", {"key": CANARY, "extra": CANARY}, "value.extra"),
        ("api_key", {"key": 12345}, "value.key"),
        ("basic", {"username": CANARY}, "value.password"),
        ("header", {"name": f"bad header {CANARY}", "value": "x"}, "value.name"),
        ("llm_provider", {"provider": "openai", "key": CANARY, "base_url": f"not a url {CANARY}"}, "value.base_url"),
        ("database", {"url": f"postgresql://{CANARY}@h/d", "password": CANARY}, "value"),
        ("database", {"host": "h"}, "value"),
        ("smtp", {"host": "h", "port": 70000}, "value.port"),
        ("aws", {"role_arn": f"arn:aws:iam::1:user/{CANARY}"}, "value.role_arn"),
        ("generic", {}, "value"),
        ("generic", {"ok": CANARY, "not ok": CANARY}, "value"),
        ("generic", {"ok": 1}, "value"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_without_echoing_it(type_name, value, field):
    # Given a value that breaks one rule of its type
    # When it is validated
    with pytest.raises(InvalidInput) as caught:
        validate_value(type_name, value)
    # Then the error names the field, and neither message nor details contain what was sent
    assert caught.value.details == {"field": field}
    assert caught.value.message.startswith(field)
    assert CANARY not in caught.value.message and CANARY not in json.dumps(caught.value.details)


def test_unknown_type_non_object_value_and_oversized_value_are_refused():
    with pytest.raises(InvalidInput, match="type: unknown credential type"):
        validate_value("password_manager", {"x": "y"})
    with pytest.raises(InvalidInput, match=r"^value: an object"):
        validate_value("api_key", CANARY)
    with pytest.raises(InvalidInput, match="KiB"):
        validate_value("generic", {f"k{i}": "x" * 8000 for i in range(MAX_VALUE_BYTES // 8000 + 1)})


@pytest.mark.parametrize("name", ["github", "openai-prod", "db_2", "A" + "b" * 63])
def test_names_usable_in_templates_and_secret_names_are_accepted(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "2fa", "with space", "a/b", "a.b", "ü", "a" * 65, None, 7])
def test_other_names_are_refused(name):
    with pytest.raises(InvalidInput) as caught:
        check_name(name)
    assert caught.value.details == {"field": "name"}


def test_secret_references_are_found_anywhere_in_a_value():
    # Given a config naming two credentials, one by field and one by its default field
    config = {
        "url": "https://api.github.com/{{ secrets.gh.token }}",
        "headers": {"X-Key": "{{ secrets.stripe }}", "{{ secrets.hdr.name }}": "{{ secrets.hdr.value }}"},
    }
    # When the references are collected / Then each one is listed once
    assert secret_refs(config) == {
        SecretRef("gh", "token"),
        SecretRef("stripe", None),
        SecretRef("hdr", "name"),
        SecretRef("hdr", "value"),
    }


def test_a_reference_picks_its_field_or_the_types_default_field():
    assert pick(SecretRef("k", None), "api_key", {"key": "v"}) == "v"
    assert pick(SecretRef("h", "name"), "header", {"name": "X", "value": "v"}) == "X"
    with pytest.raises(KeyError, match="several fields; name one of password, username"):
        pick(SecretRef("b", None), "basic", {"username": "u", "password": "p"})
    with pytest.raises(KeyError, match="no field 'pasword'"):
        pick(SecretRef("b", "pasword"), "basic", {"username": "u", "password": "p"})


def _flow(field: str, value: object, node_type: str = "http") -> dict:
    config = {"url": "https://example.com"} if node_type == "http" else {"prompt": "hi"}
    config[field] = value
    return {"nodes": [node("start", "input"), node("n", node_type, **config)], "edges": [edge("start", "n")]}


def test_http_fields_may_name_credentials():
    # Given an http node whose url, headers, query and body name credentials
    doc = _flow("headers", {"Authorization": "Bearer {{ secrets.gh.token }}"})
    doc["nodes"][1]["config"].update(query={"k": "{{ secrets.k }}"}, body={"pw": "{{ secrets.db.password }}"})
    # When validated / Then it is valid
    assert validate(doc).entry == "start"


def test_a_prompt_cannot_name_a_credential():
    # Given an llm node whose prompt names a credential (its value would reach the model and the output)
    doc = _flow("prompt", "Use key {{ secrets.openai.key }}", node_type="llm")
    # When validated
    with pytest.raises(FlowInvalid) as caught:
        validate(doc)
    # Then the issue names the node, the field and why
    [issue] = caught.value.details
    assert issue["node"] == "n" and issue["field"] == "config.prompt"
    assert "a llm node cannot use credentials" in issue["message"]


def test_a_malformed_reference_is_refused():
    doc = _flow("url", "https://x/{{ secrets.a.b.c }}")
    with pytest.raises(FlowInvalid) as caught:
        validate(doc)
    assert "write secrets.NAME or secrets.NAME.field" in caught.value.details[0]["message"]
