"""The `llm` kind: one LiteLLM chat completion, run by the function that carries the LLM layer."""

from __future__ import annotations

from pydantic import Field

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
            },
            "required": ["text", "model"],
        },
        default_retry=RetryPolicy(),
        # The gateway's retryable errors (nexod.runtime.errors), by class name as Step Functions matches them.
        retry_errors=("LLMRateLimited", "LLMTimeout", "LLMProviderError"),
        default_timeout_seconds=TIMEOUT_SECONDS,
        calls_out=True,
    )
)
