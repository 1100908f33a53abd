"""Node kinds: one module per kind declares its config model, palette metadata, defaults, ASL shape and runtime.

Importing this package registers the built-in kinds; `REGISTRY` is what the compiler, the runner and the
API read. The names below stay importable from `nexod.domain.nodes` for code written before the registry.
"""

from __future__ import annotations

from typing import Any

# isort: off
# Each module registers its kind when imported, and the registry keeps that order: the palette's order.
from . import input, output, transform, condition, http, llm, wait, rag, approval, agent, webhook_response  # noqa: F401

# isort: on
from .agent import AgentNodeConfig, CrewNodeConfig
from .approval import ApprovalConfig
from .condition import ConditionConfig
from .expression import ExpressionLanguage
from .http import HttpConfig
from .input import InputConfig
from .kind import FALLBACK_TIMEOUT_SECONDS, REGISTRY, AslShape, KindRegistry, NodeConfig, NodeKind, Runtime
from .llm import LlmConfig
from .output import OutputConfig
from .rag import RagSearchConfig, RagUpsertConfig
from .transform import TransformConfig
from .wait import WaitConfig

__all__ = [
    "FALLBACK_TIMEOUT_SECONDS",
    "REGISTRY",
    "AgentNodeConfig",
    "ApprovalConfig",
    "AslShape",
    "ConditionConfig",
    "CrewNodeConfig",
    "ExpressionLanguage",
    "HttpConfig",
    "InputConfig",
    "KindRegistry",
    "LlmConfig",
    "NodeConfig",
    "NodeKind",
    "OutputConfig",
    "RagSearchConfig",
    "RagUpsertConfig",
    "Runtime",
    "TransformConfig",
    "WaitConfig",
    "node_type_catalog",
]


def node_type_catalog() -> list[dict[str, Any]]:
    """Every registered node kind with its description, palette metadata and config JSON Schema."""
    return [kind.catalog_entry() for kind in REGISTRY.all()]
