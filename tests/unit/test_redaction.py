"""What is recorded about a node never carries its credentials: headers, query, URLs, errors."""

from __future__ import annotations

import pytest

from nexod.runtime.redaction import (
    REDACTED,
    Scrubber,
    is_sensitive_name,
    redact_http_config,
    redact_mapping,
    redact_url,
    secret_templated_names,
)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "api-key",
        "X-Auth-Token",
        "X-Amz-Security-Token",
        "X-Client-Secret",
        "x-goog-api-key",
        "Password",
        "X-DB-Passwd",
        "WWW-Authenticate",
        "X-Credential",
        "api_key",
        "access_token",
        "X-Amz-Signature",
    ],
)
def test_sensitive_names(name: str):
    assert is_sensitive_name(name)


@pytest.mark.parametrize("name", ["Accept", "Content-Type", "X-Trace", "User-Agent", "page", "q", "Keep-Alive"])
def test_ordinary_names(name: str):
    assert not is_sensitive_name(name)


def test_tracked_names_are_sensitive_whatever_they_are_called():
    assert is_sensitive_name("X-Custom", tracked={"x-custom"})
    assert is_sensitive_name("x-custom", tracked={"X-Custom"})


def test_headers_rendered_from_secrets_are_tracked_by_name():
    raw = {"X-Custom": "{{ secrets.vendor }}", "X-Mixed": "Bearer {{secrets.token}}", "X-Plain": "{{ input.x }}"}
    assert secret_templated_names(raw) == {"X-Custom", "X-Mixed"}
    assert secret_templated_names(None) == set()
    assert secret_templated_names({"X": 1}) == set()


def test_mappings_are_redacted_by_name_and_copied():
    headers = {"Authorization": "Bearer a", "Accept": "text/plain", "X-Custom": "v"}
    assert redact_mapping(headers, {"x-custom"}) == {
        "Authorization": REDACTED,
        "Accept": "text/plain",
        "X-Custom": REDACTED,
    }
    assert headers["Authorization"] == "Bearer a"  # the request keeps the real value


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@example.com:8443/a?b=1", "https://[redacted]@example.com:8443/a?b=1"),
        ("https://ghp_token@example.com/", "https://[redacted]@example.com/"),
        ("https://example.com/a?api_key=k&page=2", "https://example.com/a?api_key=[redacted]&page=2"),
        ("https://example.com/a?page=2", "https://example.com/a?page=2"),
        ("https://example.com/a?sig=s", "https://example.com/a?sig=s"),
        ("not a url", "not a url"),
    ],
)
def test_urls_lose_userinfo_and_sensitive_query_values(url: str, shown: str):
    assert redact_url(url) == shown


def test_an_unparseable_url_is_returned_as_is():
    assert redact_url("http://[::1") == "http://[::1"


def test_tracked_query_parameters_are_redacted_in_urls():
    assert redact_url("https://e.com/?sig=abc", {"sig"}) == "https://e.com/?sig=[redacted]"


def test_http_config_is_recorded_redacted():
    config = {
        "url": "https://u:p@e.com/x?token=t",
        "headers": {"Authorization": "Bearer x", "X-Trace": "1"},
        "query": {"api_key": "k", "page": "1"},
        "method": "GET",
    }
    recorded = redact_http_config(config)
    assert recorded == {
        "url": "https://[redacted]@e.com/x?token=[redacted]",
        "headers": {"Authorization": REDACTED, "X-Trace": "1"},
        "query": {"api_key": REDACTED, "page": "1"},
        "method": "GET",
    }
    assert config["headers"]["Authorization"] == "Bearer x"


def test_the_scrubber_removes_secret_values_from_free_text_and_json():
    config = {
        "url": "https://user-0123456789:pass-0123456789@e.com/",
        "headers": {"Authorization": "Bearer sk-0123456789", "X-Trace": "trace-0123456789"},
        "query": {"api_key": "qk-0123456789"},
    }
    scrub = Scrubber.for_http(config)
    assert scrub
    text = "got Bearer sk-0123456789, then sk-0123456789, qk-0123456789, pass-0123456789, trace-0123456789"
    assert scrub.text(text) == f"got {REDACTED}, then {REDACTED}, {REDACTED}, {REDACTED}, trace-0123456789"
    assert scrub.value({"sk-0123456789": ["x sk-0123456789", 3, None]}) == {REDACTED: [f"x {REDACTED}", 3, None]}


def test_short_values_are_not_scrubbed_from_free_text():
    scrub = Scrubber.for_http({"headers": {"X-Api-Key": "test"}})
    assert not scrub and scrub.text("a test") == "a test" and scrub.value({"a": "test"}) == {"a": "test"}
