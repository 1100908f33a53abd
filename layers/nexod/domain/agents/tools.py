"""The tools an agent may use: the catalogue, as data.

Each entry names the tool, says what the model is told about it (`description`), what the spec may
configure (`config`, a pydantic model whose JSON Schema the console and the API publish) and what the
model sends when it calls the tool (`arguments`, a JSON Schema). The agent runner builds its tools from
this catalogue; the API validates a spec's tool configs against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CREDENTIAL_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"  # the vault's credential names (domain.credentials)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class ToolConfig(BaseModel):
    """What a spec may set for one tool; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class HttpConfig(ToolConfig):
    credential: str | None = Field(
        None,
        pattern=CREDENTIAL_PATTERN,
        description="A workspace credential applied to every call (by the broker; the agent never sees it)",
    )
    base_url: str | None = Field(
        None,
        min_length=8,
        max_length=2000,
        pattern=r"^https?://",
        description="Only URLs under this prefix may be called",
    )
    methods: list[Method] = Field(
        default_factory=lambda: list[Method](["GET"]),
        min_length=1,
        max_length=7,
        description="HTTP methods the agent may use",
    )
    timeout_seconds: int = Field(30, ge=1, le=300)


class WebFetchConfig(ToolConfig):
    max_chars: int = Field(20_000, ge=500, le=200_000, description="The page's readable text is cut after this")


class KnowledgeSearchConfig(ToolConfig):
    knowledge_base: str | None = Field(
        None,
        pattern=UUID_PATTERN,
        description="Search only this knowledge base (else every knowledge base of the spec)",
    )
    top_k: int = Field(5, ge=1, le=50)


class RunFlowConfig(ToolConfig):
    flow: str = Field(..., pattern=UUID_PATTERN, description="The flow whose live version the tool starts")
    timeout_seconds: int = Field(300, ge=1, le=3600, description="How long to wait for its output")
    max_depth: int = Field(
        3, ge=1, le=10, description="How deep sub-flows started by agents may nest (a run_flow chain's length)"
    )


class CalculatorConfig(ToolConfig):
    pass


@dataclass(frozen=True)
class ToolDefinition:
    name: str
    description: str  # what the model reads
    config: type[ToolConfig]
    arguments: dict[str, Any]  # JSON Schema of a call's arguments

    def config_schema(self) -> dict[str, Any]:
        return self.config.model_json_schema()


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


CATALOGUE: dict[str, ToolDefinition] = {
    tool.name: tool
    for tool in (
        ToolDefinition(
            "http",
            "Call an HTTP API. Public hosts only, unless the workspace allows a private one; a configured"
            " credential is applied for you.",
            HttpConfig,
            _object(
                {
                    "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]},
                    "url": {"type": "string"},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "body": {},
                },
                ["method", "url"],
            ),
        ),
        ToolDefinition(
            "web_fetch",
            "Fetch a web page and return its readable text.",
            WebFetchConfig,
            _object({"url": {"type": "string"}}, ["url"]),
        ),
        ToolDefinition(
            "knowledge_search",
            "Search the agent's knowledge bases; returns the closest passages with their scores and sources.",
            KnowledgeSearchConfig,
            _object(
                {"query": {"type": "string"}, "top_k": {"type": "integer", "minimum": 1, "maximum": 50}}, ["query"]
            ),
        ),
        ToolDefinition(
            "run_flow",
            "Run another flow (its live version) with an input and wait for its output.",
            RunFlowConfig,
            _object({"input": {"type": "object"}}, ["input"]),
        ),
        ToolDefinition(
            "calculator",
            "Evaluate an arithmetic expression (+ - * / ** %, parentheses, numbers).",
            CalculatorConfig,
            _object({"expression": {"type": "string"}}, ["expression"]),
        ),
    )
}
TOOL_NAMES = tuple(CATALOGUE)


def tool_catalog() -> list[dict[str, Any]]:
    """The catalogue as the API serves it."""
    return [
        {
            "name": t.name,
            "description": t.description,
            "config_schema": t.config_schema(),
            "arguments_schema": t.arguments,
        }
        for t in CATALOGUE.values()
    ]
