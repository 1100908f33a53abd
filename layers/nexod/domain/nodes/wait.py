"""The `wait` kind: a native Wait state, so the pause bills no compute.

A wait lasts `seconds`, or until `until` (an ISO-8601 timestamp, usually templated such as
`{{ input.remind_at }}`). Its end is computed once, by the node's first Task, and recorded with the node
run; the Wait state then waits until that instant (`TimestampPath`), and a redrive or a retry reads the
recorded end back, so a wait that has already elapsed is not waited again.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from pydantic import Field, ValidationInfo, field_validator

from .kind import REGISTRY, AslShape, NodeConfig, NodeKind

MAX_SECONDS = 31_536_000  # a year: Step Functions Standard executions last at most one year
# A past instant in the form Step Functions accepts: "do not wait" (a wait that already elapsed).
ELAPSED = "1970-01-01T00:00:00Z"


def parse_instant(text: str) -> datetime:
    """An ISO-8601 date-time as an aware UTC datetime (no offset: UTC). ValueError when it is not one."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            "an ISO-8601 date and time such as 2026-12-01T09:00:00Z (or a template such as {{ input.remind_at }})"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rfc3339(instant: datetime) -> str:
    """The form a Wait state's `TimestampPath` accepts: UTC, whole seconds, an uppercase Z."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WaitConfig(NodeConfig):
    """Pauses the branch until `until`, or for `seconds`; Step Functions waits for free (no compute)."""

    until: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="wait until this ISO-8601 date-time (UTC when it has no offset); may be templated, e.g."
        " {{ input.remind_at }}",
    )
    # Validated even when left out, to check that exactly one of the two is given (the error names it).
    seconds: int | None = Field(None, ge=0, le=MAX_SECONDS, validate_default=True, description="how long to wait")

    @field_validator("until")
    @classmethod
    def _an_instant(cls, value: str | None) -> str | None:
        if value is not None and "{{" not in value:  # a template is checked once rendered, at run time
            parse_instant(value)
        return value

    @field_validator("seconds")
    @classmethod
    def _exactly_one(cls, value: int | None, info: ValidationInfo) -> int | None:
        if "until" not in info.data:  # `until` itself was refused: that error says enough
            return value
        if value is None and info.data["until"] is None:
            raise ValueError("give how long to wait (`seconds`) or until when (`until`)")
        if value is not None and info.data["until"] is not None:
            raise ValueError("give `seconds` or `until`, not both")
        return value

    def end(self, now: datetime) -> datetime:
        """When a wait that starts `now` ends (its `until` must be rendered by then)."""
        if self.until is not None:
            return parse_instant(self.until)
        return datetime.fromtimestamp(math.ceil(now.timestamp()), UTC) + timedelta(seconds=self.seconds or 0)


KIND = REGISTRY.register(
    NodeKind(
        name="wait",
        config=WaitConfig,
        category="Logic",
        icon="wait",
        shape=AslShape.WAIT,
        templated_fields=("until",),
        output_schema={
            "type": "object",
            "properties": {
                "waited_seconds": {"type": "integer", "description": "how long the wait lasted after it began"},
                "until": {"type": "string", "format": "date-time", "description": "when the wait ended"},
            },
            "required": ["waited_seconds", "until"],
        },
    )
)
