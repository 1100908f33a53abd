"""Credential types: what each kind of credential holds, as a pydantic model with a JSON Schema.

A credential is a named value of one type in one workspace. Its value is write-only (DESIGN §7): it is
validated here, handed to the `Vault` port and never returned. Error messages name the field and the rule,
never the value: pydantic's own messages can quote the input, so they are rebuilt here without it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import InvalidInput
from .templating import TemplatePath, find_paths

# Usable as a template path segment (`{{ secrets.NAME.field }}`) and inside a Secrets Manager name.
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
# Secrets Manager holds up to 64 KiB per secret; keep well inside it (and inside a Postgres row).
MAX_VALUE_BYTES = 32 * 1024

Text = Annotated[str, Field(min_length=1, max_length=8192)]
Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")]
Host = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[^\s/:]+$|^\[[0-9A-Fa-f:.]+\]$")]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)


class ApiKey(_Value):
    key: Text = Field(..., description="The API key")


class Bearer(_Value):
    token: Text = Field(..., description="Sent as `Authorization: Bearer <token>`")


class Basic(_Value):
    username: Text
    password: Text


class Header(_Value):
    name: str = Field(..., min_length=1, max_length=256, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    value: Text


class LlmProvider(_Value):
    provider: str = Field(
        ...,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="LiteLLM provider prefix, e.g. openai, anthropic, gemini, azure, bedrock, mistral",
    )
    key: Text
    base_url: Url | None = Field(None, description="For OpenAI-compatible servers and Azure endpoints")
    api_version: str | None = Field(None, min_length=1, max_length=64)


SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class Database(_Value):
    url: Url | None = Field(None, description="postgresql://user:password@host:port/dbname (or the parts below)")
    host: Host | None = None
    port: Port | None = None
    database: str | None = Field(None, min_length=1, max_length=128)
    username: str | None = Field(None, min_length=1, max_length=128)
    password: str | None = Field(None, min_length=1, max_length=8192)
    sslmode: SslMode = "verify-full"

    @model_validator(mode="after")
    def _url_or_parts(self) -> Database:
        parts = (self.host, self.database, self.username)
        if self.url is None and not all(parts):
            raise ValueError("give either url, or host, database and username")
        if self.url is not None and any(p is not None for p in (*parts, self.port, self.password)):
            raise ValueError("give either url or the parts, not both")
        return self


class Smtp(_Value):
    host: Host
    port: Port = 587
    security: Literal["starttls", "tls", "none"] = Field("starttls", description="tls = implicit TLS (port 465)")
    username: str | None = Field(None, min_length=1, max_length=320)
    password: str | None = Field(None, min_length=1, max_length=8192)
    from_address: str | None = Field(None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


class Aws(_Value):
    role_arn: str = Field(..., max_length=2048, pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$")
    external_id: str | None = Field(None, min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9_+=,.@:/-]+$")
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")


class Generic(_Value):
    """Key/value pairs, each readable as `{{ secrets.NAME.key }}`."""

    model_config = ConfigDict(extra="allow", strict=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _pairs(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not 1 <= len(data) <= 50:
            raise ValueError("give between 1 and 50 key/value pairs")
        for key, value in data.items():
            if not isinstance(key, str) or not _FIELD.match(key):
                raise ValueError("keys start with a letter or _ and hold letters, digits, _ or - (at most 64)")
            if not isinstance(value, str) or not 1 <= len(value) <= 8192:
                raise ValueError(f"{key}: a non-empty string of at most 8192 characters")
        return data


@dataclass(frozen=True)
class CredentialType:
    name: str
    title: str
    description: str
    model: type[_Value]
    # The field `{{ secrets.NAME }}` stands for; None: name a field.
    default_field: str | None = None

    def json_schema(self) -> dict[str, Any]:
        if self.model is Generic:
            return {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 50,
                "propertyNames": {"pattern": _FIELD.pattern},
                "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 8192},
            }
        schema = self.model.model_json_schema()
        schema.pop("title", None)
        return schema

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "title": self.title,
            "description": self.description,
            "default_field": self.default_field,
            "value_schema": self.json_schema(),
        }


CREDENTIAL_TYPES: dict[str, CredentialType] = {
    t.name: t
    for t in (
        CredentialType("api_key", "API key", "One key, sent where a node or tool says", ApiKey, "key"),
        CredentialType("bearer", "Bearer token", "Sent as Authorization: Bearer <token>", Bearer, "token"),
        CredentialType("basic", "Basic auth", "A username and a password", Basic),
        CredentialType("header", "Header", "One HTTP header name and value", Header, "value"),
        CredentialType("llm_provider", "LLM provider", "A model provider's key for the LLM gateway", LlmProvider),
        CredentialType("database", "Database", "A PostgreSQL connection (URL or parts) with its TLS mode", Database),
        CredentialType("smtp", "SMTP", "A mail server for email nodes and notifications", Smtp),
        CredentialType("aws", "AWS role", "A role ARN to assume (with an optional external id)", Aws),
        CredentialType("generic", "Generic", "Key/value pairs, each readable by key", Generic),
    )
}


def credential_type(name: Any) -> CredentialType:
    if not isinstance(name, str) or name not in CREDENTIAL_TYPES:
        raise InvalidInput(f"type: unknown credential type (one of {', '.join(CREDENTIAL_TYPES)})", {"field": "type"})
    return CREDENTIAL_TYPES[name]


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            "name: start with a letter; letters, digits, _ and - only; at most 64 characters", {"field": "name"}
        )
    return name


def validate_value(type_name: str, value: Any) -> dict[str, Any]:
    """The value as the type defines it (defaults filled, unset optional fields dropped).

    Errors name the field under `value` and never quote what was sent."""
    kind = credential_type(type_name)
    if not isinstance(value, dict):
        raise InvalidInput("value: an object with the credential type's fields", {"field": "value"})
    try:
        parsed = kind.model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in ("value", *first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {message}", {"field": where}) from None
    cleaned = parsed.model_dump(exclude_none=True)
    if len(json.dumps(cleaned).encode()) > MAX_VALUE_BYTES:
        raise InvalidInput(f"value: larger than {MAX_VALUE_BYTES // 1024} KiB", {"field": "value"})
    return cleaned


def fields_set(value: dict[str, Any]) -> list[str]:
    """Which fields a stored value has (shown in listings instead of the value)."""
    return sorted(value)


# -- references in templates -----------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class SecretRef:
    name: str
    field: str | None  # None: the type's default field

    @property
    def text(self) -> str:
        return f"secrets.{self.name}" + (f".{self.field}" if self.field else "")


def secret_ref(path: TemplatePath) -> SecretRef | None:
    """`secrets.NAME` or `secrets.NAME.field` as a reference; other paths are not references."""
    if not path.parts or path.parts[0] != "secrets":
        return None
    rest = path.parts[1:]
    if not 1 <= len(rest) <= 2 or not all(isinstance(p, str) for p in rest):
        raise InvalidInput(
            f"'{{{{ {path.text} }}}}': write secrets.NAME or secrets.NAME.field", {"template": path.text}
        )
    name = str(rest[0])
    return SecretRef(name, str(rest[1]) if len(rest) == 2 else None)


def secret_refs(value: Any) -> set[SecretRef]:
    """Every `{{ secrets... }}` reference in a JSON value."""
    return {ref for path in find_paths(value) if (ref := secret_ref(path)) is not None}


def pick(ref: SecretRef, type_name: str, value: dict[str, Any]) -> str:
    """The string a reference stands for in a resolved credential value (KeyError naming what is missing)."""
    kind = credential_type(type_name)
    field = ref.field or kind.default_field
    if field is None:
        raise KeyError(
            f"{{{{ {ref.text} }}}}: a {type_name} credential has several fields; name one of {', '.join(sorted(value))}"
        )
    if field not in value:
        raise KeyError(
            f"{{{{ {ref.text} }}}}: credential '{ref.name}' has no field '{field}' (fields: {', '.join(sorted(value))})"
        )
    return str(value[field])
