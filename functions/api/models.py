"""Request bodies of the HTTPS API. Unknown fields are rejected."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    # strict: a JSON body says what it means ("1" is not 1, true is not 1), as the OpenAPI schema states.
    model_config = ConfigDict(extra="forbid", strict=True)


class WorkspaceCreate(Body):
    name: str = Field(..., min_length=1, max_length=200)


Host = Annotated[str, Field(min_length=1, max_length=261, pattern=r"^[^\s/]+$")]


class AllowedHostsPut(Body):
    allowed_hosts: list[Host] = Field(..., max_length=200, description="host or host:port entries")


Model = Annotated[str, Field(min_length=1, max_length=200)]


class LlmSettingsPut(Body):
    allowed_models: list[Model] = Field(..., max_length=200, description="models nodes may name; empty: any")
    default_model: Model | None = Field(None, description="the model behind 'default'; null: the deployment's")
    requests_per_minute: int | None = Field(None, ge=1, le=1_000_000, description="null: unlimited")
    tokens_per_minute: int | None = Field(None, ge=1, le=1_000_000_000, description="null: unlimited")


Dollars = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]  # up to $1bn a month


class BudgetPut(Body):
    """Monthly limits in dollars (calendar month, UTC); null or absent: no limit. Hard >= soft when both set."""

    monthly_soft_usd: Dollars | None = Field(None, description="crossing it is recorded once a month in the audit log")
    monthly_hard_usd: Dollars | None = Field(None, description="once spent, LLM calls fail with BudgetExceeded")


class MemberPut(Body):
    role: Literal["admin", "member", "viewer"]
    email: str | None = Field(None, max_length=320)
    name: str | None = Field(None, max_length=200)


class FlowCreate(Body):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    definition: dict[str, Any] = Field(..., description="{nodes: [...], edges: [...]}")


class FlowUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    definition: dict[str, Any] | None = None


class FlowValidate(Body):
    definition: dict[str, Any]


class VersionCreate(Body):
    description: str = Field("", max_length=256)


class LivePut(Body):
    version: int = Field(..., ge=1)


class RedriveBody(Body):
    version: int | None = Field(
        None, ge=1, description="Move the run to this version: changed nodes and their dependants run again"
    )


class RunCreate(Body):
    input: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(None, ge=1)


class CredentialCreate(Body):
    name: str = Field(..., min_length=1, max_length=64, description="letters, digits, _ and -; starts with a letter")
    type: str = Field(..., description="one of GET /v1/credential-types")
    description: str = Field("", max_length=1000)
    value: dict[str, Any] = Field(..., description="the type's fields (write-only: never returned)")


class CredentialUpdate(Body):
    description: str | None = Field(None, max_length=1000)
    value: dict[str, Any] | None = Field(None, description="a new value replaces the old one in full (rotation)")


class ApprovalDecide(Body):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(None, max_length=4000)
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Values for the approval's form (a JSON Schema); they reach the output"
    )
