"""Agents as specs (DESIGN §5): the model, its markdown form, and the tool catalogue."""

from .markdown import AgentSpecInvalid, from_json, parse, render
from .spec import AgentSpec, ToolUse
from .tools import CATALOGUE, TOOL_NAMES, ToolDefinition, tool_catalog

__all__ = [
    "CATALOGUE",
    "TOOL_NAMES",
    "AgentSpec",
    "AgentSpecInvalid",
    "ToolDefinition",
    "ToolUse",
    "from_json",
    "parse",
    "render",
    "tool_catalog",
]
