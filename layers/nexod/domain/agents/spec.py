"""AgentSpec: what an agent is (DESIGN §5), validated. Rendered as markdown and JSON by `markdown.py`."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .tools import CATALOGUE, TOOL_NAMES, UUID_PATTERN

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

Memory = Literal["none", "run", "long_term"]
MAX_TEXT = 20_000
_MODEL = re.compile(r"^\S{1,200}$")
_SENTINEL = "nexod-section-end"


@cache
def commonmark() -> MarkdownIt:
    """The CommonMark block parser, imported on first use: the API's other routes never pay for it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _one_line(value: str, what: str) -> str:
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise ValueError(f"{what} is one line of text without control characters")
    if value != value.strip():
        raise ValueError(f"{what} has no leading or trailing spaces")
    return value


def normalize_text(value: str) -> str:
    """Line endings as \\n, no surrounding blank space: the form that renders and parses back unchanged."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def check_section_text(value: str) -> None:
    """A text section must stay one section when it is rendered between headings: no level-1 heading
    of its own (ATX or setext) and nothing left open (a code fence, an HTML block) that would swallow
    the next heading."""
    tokens = commonmark().parse(f"{value}\n\n# {_SENTINEL}\n")
    h1 = [i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"]
    if len(h1) != 1 or tokens[h1[0] + 1].content != _SENTINEL:
        raise ValueError(
            "contains a level-1 heading or an unclosed code fence/HTML block; use '##' headings and close every fence"
        )


class ToolUse(BaseModel):
    """One tool of the catalogue with its config."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Literal["http", "web_fetch", "knowledge_search", "run_flow", "calculator"] = Field(
        ..., description=f"one of {', '.join(TOOL_NAMES)}"
    )
    config: dict[str, Any] = Field(default_factory=dict, description="the tool's config (GET /v1/agent-tools)")

    @model_validator(mode="after")
    def _config(self) -> ToolUse:
        try:
            CATALOGUE[self.name].config.model_validate(self.config)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{self.name} config{' ' + where if where else ''}: {first['msg']}") from None
        return self


class AgentSpec(BaseModel):
    """An agent: who it is (role, goal, backstory), what it thinks with (model), what it may use (tools,
    knowledge bases, memory) and its limits. The JSON form; `markdown.render` gives the readable one."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(..., min_length=1, max_length=200)
    role: str = Field(..., min_length=1, max_length=MAX_TEXT)
    goal: str = Field(..., min_length=1, max_length=MAX_TEXT)
    backstory: str = Field(..., min_length=1, max_length=MAX_TEXT)
    model: str = Field("default", description="a LiteLLM model string, or 'default' (the workspace's)")
    fallback_models: list[str] = Field(default_factory=list, max_length=5)
    tools: list[ToolUse] = Field(default_factory=list, max_length=len(TOOL_NAMES))
    knowledge_bases: list[str] = Field(default_factory=list, max_length=20, description="knowledge base ids")
    memory: Memory = "none"
    max_iterations: int = Field(15, ge=1, le=100)
    max_execution_seconds: int = Field(600, ge=10, le=3600)
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False, description="null: the model's")
    allow_delegation: bool = False
    output_schema: dict[str, Any] | None = Field(None, description="a JSON Schema the final answer must match")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _one_line(value, "the name")

    @field_validator("role", "goal", "backstory", mode="before")
    @classmethod
    def _normalize(cls, value: Any) -> Any:
        return normalize_text(value) if isinstance(value, str) else value

    @field_validator("role", "goal", "backstory")
    @classmethod
    def _text(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        check_section_text(value)
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if not _MODEL.match(value):
            raise ValueError("a model name of 1 to 200 characters without spaces")
        return value

    @field_validator("fallback_models")
    @classmethod
    def _fallbacks(cls, value: list[str]) -> list[str]:
        for model in value:
            if not _MODEL.match(model):
                raise ValueError(f"'{model}' is not a model name (1 to 200 characters without spaces)")
        if len(set(value)) != len(value):
            raise ValueError("a model appears twice")
        return value

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, value: list[ToolUse]) -> list[ToolUse]:
        names = [t.name for t in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"each tool appears once; {', '.join(twice)} appears more than once")
        return value

    @field_validator("knowledge_bases")
    @classmethod
    def _kbs(cls, value: list[str]) -> list[str]:
        for kb in value:
            if not re.match(UUID_PATTERN, kb):
                raise ValueError(f"'{kb}' is not a knowledge base id (a UUID)")
        if len(set(value)) != len(value):
            raise ValueError("a knowledge base appears twice")
        return value

    @field_validator("output_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                where = "/".join(str(p) for p in exc.path)
                raise ValueError(f"not a valid JSON Schema{' at ' + where if where else ''}: {exc.message}") from None
        return value

    def document(self) -> dict[str, Any]:
        """The JSON form (what spec.json serves and versions store)."""
        return self.model_dump(mode="json")

    def spec_hash(self) -> str:
        """Equal for equal specs, whatever the key order: publishing an unchanged spec is a no-op."""
        canonical = json.dumps(self.document(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


# Front matter keys, in the order they are written (the scalars and short lists of the spec).
FRONT_MATTER = (
    "name",
    "model",
    "fallback_models",
    "knowledge_bases",
    "memory",
    "max_iterations",
    "max_execution_seconds",
    "temperature",
    "allow_delegation",
)
# Headed sections: title -> field, in the order they are written.
SECTIONS = {
    "Role": "role",
    "Goal": "goal",
    "Backstory": "backstory",
    "Tools": "tools",
    "Output schema": "output_schema",
}
