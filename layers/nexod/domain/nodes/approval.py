"""The `approval` kind (issue 11): the run stops until people of the workspace approve or reject.

Its Task is a callback (lambda:invoke.waitForTaskToken): the runner records the approval with its token in
Postgres and returns, so nothing runs or bills while it waits, for minutes or weeks. A decision completes the
node with `{decision, by, comment, fields}`, which edges can branch on (`output.decision == 'approve'`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .kind import REGISTRY, AslShape, NodeConfig, NodeKind

DAY = 86_400
MAX_TIMEOUT_SECONDS = 365 * DAY  # Step Functions Standard: an execution lasts at most a year
DEFAULT_TIMEOUT_SECONDS = 7 * DAY
Decision = Literal["approve", "reject"]
OnTimeout = Literal["reject", "approve", "fail"]
Role = Literal["viewer", "member", "admin"]


class Approvers(BaseModel):
    """Who may decide: members with one of `roles`, and the members named in `users` (their user ids)."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(default_factory=lambda: list[Role](["member", "admin"]))
    users: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        for user in value:
            if not user.strip() or len(user) > 200:
                raise ValueError("each user is a user id of 1 to 200 characters")
        return value


_EMAIL = r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
_CREDENTIAL_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"


class Notify(BaseModel):
    """Who hears about the approval outside the console's inbox (which every approver sees anyway): emails,
    each with its own signed one-time link, and a chat channel through a Slack-compatible webhook whose URL
    is a workspace credential (type `generic`, field `url`)."""

    model_config = ConfigDict(extra="forbid")

    emails: list[str] = Field(default_factory=list, max_length=50)
    chat_webhook_credential: str | None = Field(None, pattern=_CREDENTIAL_NAME)

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if len(email) > 254 or not re.match(_EMAIL, email):
                raise ValueError(f"'{email[:80]}' is not an email address")
        if len({e.lower() for e in value}) != len(value):
            raise ValueError("each email once")
        return value


class ApprovalConfig(NodeConfig):
    """Stops the run until people approve or reject it; nothing runs or bills while it waits."""

    title: str = Field(..., min_length=1, max_length=200, description="What is being decided; may be templated")
    message: str = Field(
        "", max_length=20_000, description="Markdown shown to the approvers, templated from upstream outputs"
    )
    approvers: Approvers = Field(default_factory=Approvers)
    required_approvals: int = Field(1, ge=1, le=20, description="Approvals needed; any rejection rejects")
    form: dict[str, Any] | None = Field(
        None, description="A JSON Schema of fields the approver fills in; the values become output.fields"
    )
    timeout_seconds: int = Field(DEFAULT_TIMEOUT_SECONDS, ge=1, le=MAX_TIMEOUT_SECONDS)
    on_timeout: OnTimeout = Field("reject", description="What an approval nobody decided in time becomes")
    remind_every_seconds: int | None = Field(None, ge=300, le=MAX_TIMEOUT_SECONDS)
    notify: Notify | None = Field(
        None, description="Emails (each with a signed one-time link) and a chat webhook; default: the inbox only"
    )

    @field_validator("form")
    @classmethod
    def _form(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
            if value.get("type", "object") != "object":
                raise ValueError("the form is a JSON Schema of an object (its fields)")
        return value


OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "decision": {"enum": ["approve", "reject"]},
        "by": {"type": ["string", "array"], "description": "who decided (`timeout` when nobody did)"},
        "comment": {"type": ["string", "null"]},
        "fields": {"type": "object"},
    },
    "required": ["decision", "by", "fields"],
}

KIND = REGISTRY.register(
    NodeKind(
        name="approval",
        config=ApprovalConfig,
        category="People",
        icon="approval",
        shape=AslShape.CALLBACK,
        templated_fields=("title", "message"),
        output_schema=OUTPUT_SCHEMA,
        timeout_outcome_field="timeout_seconds",
        default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS,
    )
)
