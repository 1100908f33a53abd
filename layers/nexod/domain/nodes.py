"""Node types: one pydantic config model per type, with the JSON Schema the console renders forms from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class NodeConfig(BaseModel):
    """Base of every node config: unknown fields are rejected so typos surface at save time."""

    model_config = ConfigDict(extra="forbid")


class InputConfig(NodeConfig):
    """The run's entry point: its output is the run input."""

    example: dict[str, Any] | None = Field(None, description="Example run input shown in the console")


class OutputConfig(NodeConfig):
    """The run's result. Without `value`, the outputs of the nodes feeding it, keyed by node id."""

    value: Any = Field(None, description="Templated value, e.g. '{{ nodes.summarise.output.text }}'")


ExpressionLanguage = Literal["jmespath", "jsonata"]


class TransformConfig(NodeConfig):
    """Reshapes upstream data with an expression over {input, nodes: {id: {output}}}."""

    language: ExpressionLanguage = "jmespath"
    expression: str = Field(..., min_length=1, max_length=20_000)


class ConditionConfig(NodeConfig):
    """Evaluates an expression; edges leaving it may carry condition "true" or "false"."""

    language: ExpressionLanguage = "jmespath"
    expression: str = Field(..., min_length=1, max_length=20_000)


class HttpConfig(NodeConfig):
    """An outbound HTTP request. Private, loopback and metadata addresses are refused unless allow-listed.

    Credential headers (Authorization, Cookie, X-Api-Key, names containing token/secret/key/password/auth)
    are recorded redacted and never follow a redirect to another origin.
    """

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(..., min_length=1, max_length=8192, description="http(s) URL; may be templated")
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, description="JSON body (objects are sent as application/json) or a string")
    timeout_seconds: float = Field(30.0, gt=0, le=900)
    follow_redirects: bool = True
    max_redirects: int = Field(5, ge=0, le=20)
    redirect_body_to_other_origins: bool = Field(
        False,
        description="Follow a 307/308 redirect that re-sends the request body to another scheme, host or port"
        " (credential headers are dropped on any redirect to another origin either way)",
    )
    fail_on_status: bool = Field(True, description="Fail the node on a 4xx/5xx response")


class LlmConfig(NodeConfig):
    """One LiteLLM chat completion. `model` is any LiteLLM model name, or 'default'."""

    model: str = Field("default", min_length=1, max_length=200)
    system: str | None = Field(None, max_length=200_000)
    prompt: str = Field(..., min_length=1, max_length=200_000)
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    json_mode: bool = Field(False, description="Ask for a JSON object and parse it into output.json")


class WaitConfig(NodeConfig):
    """Pauses the branch; Step Functions waits for free (no compute is billed)."""

    seconds: int = Field(..., ge=0, le=31_536_000)


NODE_TYPES: dict[str, type[NodeConfig]] = {
    "input": InputConfig,
    "output": OutputConfig,
    "transform": TransformConfig,
    "condition": ConditionConfig,
    "http": HttpConfig,
    "llm": LlmConfig,
    "wait": WaitConfig,
}

# Config fields whose strings are templates over upstream outputs ({{ nodes.x.output... }}).
TEMPLATED_FIELDS: dict[str, tuple[str, ...]] = {
    "output": ("value",),
    "http": ("url", "headers", "query", "body"),
    "llm": ("system", "prompt", "model"),
}

DEFAULT_TIMEOUT_SECONDS: dict[str, int] = {"http": 960, "llm": 600}

NODE_DESCRIPTIONS: dict[str, str] = {name: (model.__doc__ or "").strip() for name, model in NODE_TYPES.items()}


def node_type_catalog() -> list[dict[str, Any]]:
    """Every node type with its description and config JSON Schema."""
    return [
        {
            "type": name,
            "description": NODE_DESCRIPTIONS[name],
            "templated_fields": list(TEMPLATED_FIELDS.get(name, ())),
            "config_schema": model.model_json_schema(),
        }
        for name, model in NODE_TYPES.items()
    ]
