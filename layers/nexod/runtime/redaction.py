"""Credentials in node inputs, outputs, errors and logs are stored redacted (DESIGN §7).

The executed request keeps the real values; only what is recorded (node inputs and outputs in the
database, error messages and details, log lines) goes through these functions. Header names are matched
case-insensitively: the fixed set below plus any name containing one of `SENSITIVE_NAME_PARTS`, plus the
headers whose value came from a secret reference (`{{ secrets.x }}`), which are tracked by name.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"})
SENSITIVE_NAME_PARTS = ("token", "secret", "key", "password", "passwd", "auth", "credential", "cookie", "signature")
# A header (or query) value rendered from `{{ secrets.name }}`: secrets are the one template root whose
# values must never be recorded, whatever the header is called.
_SECRET_TEMPLATE = re.compile(r"\{\{\s*secrets\b")
# Values shorter than this are not scrubbed out of free text: "test" would mangle unrelated words, and
# credentials are longer. Such short values are still redacted where they are recorded by name.
_MIN_SCRUB_LENGTH = 8


def is_sensitive_name(name: str, tracked: Collection[str] = ()) -> bool:
    """A header or query parameter whose value must not be recorded or sent to another origin."""
    lowered = name.strip().lower()
    if lowered in SENSITIVE_HEADERS or lowered in {t.lower() for t in tracked}:
        return True
    return any(part in lowered for part in SENSITIVE_NAME_PARTS)


def secret_templated_names(raw: Any) -> set[str]:
    """Names in a {name: template} mapping whose template reads a secret (before rendering)."""
    if not isinstance(raw, Mapping):
        return set()
    return {str(k) for k, v in raw.items() if isinstance(v, str) and _SECRET_TEMPLATE.search(v)}


def redact_mapping(values: Mapping[str, Any], tracked: Collection[str] = ()) -> dict[str, Any]:
    """A copy of headers (or query parameters) with sensitive values replaced by `[redacted]`."""
    return {k: (REDACTED if is_sensitive_name(str(k), tracked) else v) for k, v in values.items()}


def redact_url(url: str, tracked: Collection[str] = ()) -> str:
    """The URL without its userinfo password and with sensitive query parameters redacted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:  # userinfo: "user:password@" or a bare token ("ghp_x@host"); keep only the host
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_sensitive_name(k, tracked) for k, _ in pairs):
            query = urlencode([(k, REDACTED if is_sensitive_name(k, tracked) else v) for k, v in pairs], safe="[]")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_http_config(config: Mapping[str, Any], tracked: Collection[str] = ()) -> dict[str, Any]:
    """An http node's (rendered or raw) config as it may be recorded: credentials redacted."""
    recorded = dict(config)
    if isinstance(recorded.get("headers"), Mapping):
        recorded["headers"] = redact_mapping(recorded["headers"], tracked)
    if isinstance(recorded.get("query"), Mapping):
        recorded["query"] = redact_mapping(recorded["query"], tracked)
    if isinstance(recorded.get("url"), str):
        recorded["url"] = redact_url(recorded["url"], tracked)
    return recorded


class Scrubber:
    """Replaces known secret values wherever they appear in text (error messages, details, log lines)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        unique = {v for v in values if isinstance(v, str) and len(v) >= _MIN_SCRUB_LENGTH}
        # Longest first, so a value containing another is replaced whole.
        self._values = sorted(unique, key=len, reverse=True)

    @classmethod
    def for_http(cls, config: Mapping[str, Any], tracked: Collection[str] = ()) -> Scrubber:
        """The secret values of an http node's rendered config: sensitive headers and query values, userinfo."""
        values: list[str] = []
        for key in ("headers", "query"):
            mapping = config.get(key)
            if isinstance(mapping, Mapping):
                values += [str(v) for k, v in mapping.items() if is_sensitive_name(str(k), tracked)]
        headers = config.get("headers")
        if isinstance(headers, Mapping):
            for k, v in headers.items():
                # "Bearer abc": the credential alone may be echoed back in an error, so scrub it too.
                if is_sensitive_name(str(k), tracked) and isinstance(v, str) and " " in v.strip():
                    values.append(v.strip().split(" ", 1)[1].strip())
        url = config.get("url")
        if isinstance(url, str):
            try:
                userinfo = urlsplit(url)
                values += [v for v in (userinfo.username, userinfo.password) if v]
            except ValueError:
                pass
        return cls(values)

    def including(self, values: Iterable[str]) -> Scrubber:
        """This scrubber plus `values` in every form a request may carry them: as they are, URL-encoded
        (path and form style), base64 (standard and URL-safe, padded or not) and JSON-escaped."""
        return Scrubber([*self._values, *(form for v in values for form in encoded_forms(v))])

    def __bool__(self) -> bool:
        return bool(self._values)

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, REDACTED)
        return value

    def value(self, value: Any) -> Any:
        """A JSON value with every string scrubbed (keys too)."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def encoded_forms(value: str) -> set[str]:
    """`value` and the encodings it may be echoed back in (an API that reflects a query string or a
    decoded header must not leak it either)."""
    raw = value.encode()
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return forms
