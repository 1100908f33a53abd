"""Credentials resolve at the moment of use; what is recorded keeps the reference and loses every value."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from nexod.domain.templating import TemplateError, as_reference, render
from nexod.runtime.redaction import REDACTED, Scrubber
from nexod.runtime.secrets import CredentialResolver

TOKEN = "ghp_S3cr3t+value/with=odd&chars"
STORE = {
    "gh": ("bearer", {"token": TOKEN}),
    "db": ("basic", {"username": "svc", "password": "pa55-word-long"}),
}


def loader(calls: list[str]):
    def load(name: str):
        calls.append(name)
        return STORE.get(name)

    return load


def test_each_credential_loads_once_and_every_value_is_remembered():
    # Given an http config naming one credential twice and another once
    config = {
        "url": "https://api.example.com/{{ secrets.gh }}",
        "headers": {"Authorization": "Bearer {{ secrets.gh.token }}", "X-User": "{{ secrets.db.username }}"},
    }
    calls: list[str] = []
    resolver = CredentialResolver(loader(calls))
    # When it is rendered for execution
    rendered = render(config, {}, resolver)
    # Then the executor gets the values, each credential was loaded once, and both are marked used
    assert rendered["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert rendered["url"].endswith(TOKEN)
    assert calls == ["gh", "db"]
    assert resolver.used == ["db", "gh"]
    assert set(resolver.resolved) == {TOKEN, "svc"}
    # And the recorded copy keeps the references as written
    assert render(config, {}, as_reference) == config


def test_a_missing_credential_fails_naming_it():
    resolver = CredentialResolver(loader([]))
    with pytest.raises(TemplateError, match="credential 'stripe' does not exist in this workspace"):
        render({"h": "{{ secrets.stripe.key }}"}, {}, resolver)
    assert resolver.used == []


def test_a_field_the_credential_lacks_fails_naming_the_fields_it_has():
    resolver = CredentialResolver(loader([]))
    with pytest.raises(TemplateError, match=r"no field 'pass'.*password, username"):
        render("{{ secrets.db.pass }}", {}, resolver)
    with pytest.raises(TemplateError, match="several fields"):
        render("{{ secrets.db }}", {}, resolver)


@pytest.mark.parametrize(
    "echoed",
    [
        TOKEN,
        quote(TOKEN, safe=""),
        quote(TOKEN, safe="").replace("%20", "+"),
        base64.b64encode(TOKEN.encode()).decode(),
        base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
        json.dumps({"t": TOKEN}),
    ],
)
def test_a_resolved_value_is_scrubbed_in_every_encoding_a_server_may_echo(echoed):
    # Given a scrubber that knows the resolved value
    scrub = Scrubber().including([TOKEN])
    # When an error message echoes it in some encoding / Then none of it remains
    text = scrub.text(f"upstream said: {echoed}")
    assert TOKEN not in text and echoed not in text and REDACTED in text
