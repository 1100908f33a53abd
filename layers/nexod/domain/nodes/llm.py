"""The `llm` kind: one LiteLLM chat completion, run by the function that carries the LLM layer."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import Field, field_validator

from ..flow import RetryPolicy
from .kind import REGISTRY, NodeConfig, NodeKind, Runtime

TIMEOUT_SECONDS = 900
# The provider call gives up well inside the Task's limit, so the node records why it failed (and
# retries as NodeRetryableError) instead of being cut off by States.Timeout.
CALL_TIMEOUT_SECONDS = 600


class LlmConfig(NodeConfig):
    """One LiteLLM chat completion. `model` is any LiteLLM model name, or 'default'."""

    model: str = Field("default", min_length=1, max_length=200)
    system: str | None = Field(None, max_length=200_000)
    prompt: str = Field(..., min_length=1, max_length=200_000)
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    json_mode: bool = Field(False, description="Ask for a JSON object and parse it into output.json")
    fallback_models: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="Tried in order when the model fails with a retryable provider error; each attempt is in"
        " output.attempts",
    )
    output_schema: dict[str, Any] | None = Field(
        None,
        description="A JSON Schema: the answer is parsed and validated into output.json (one repair prompt when"
        " it does not match, then a retryable error)",
    )

    @field_validator("fallback_models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        for model in value:
            if not model.strip() or len(model) > 200:
                raise ValueError("each fallback model is a model name of 1 to 200 characters")
        return value

    @field_validator("output_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value


KIND = REGISTRY.register(
    NodeKind(
        name="llm",
        config=LlmConfig,
        category="AI",
        icon="llm",
        runtime=Runtime.LLM,
        templated_fields=("system", "prompt", "model"),
        output_schema={
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "model": {"type": "string"},
                "json": {},
                "tool_calls": {"type": "array"},
                "attempts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"model": {"type": "string"}, "error": {"type": ["string", "null"]}},
                    },
                },
            },
            "required": ["text", "model"],
        },
        default_retry=RetryPolicy(),
        # The gateway's retryable errors (nexod.runtime.errors), by class name as Step Functions matches them.
        retry_errors=("LLMTimeout", "LLMProviderError"),
        wait_error="LLMRateLimited",  # the workspace's (or provider's) rate limit: wait as told, then again
        default_timeout_seconds=TIMEOUT_SECONDS,
        calls_out=True,
    )
)
