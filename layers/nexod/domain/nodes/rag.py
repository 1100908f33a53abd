"""The `rag_search` and `rag_upsert` kinds (issue 10): search a knowledge base, or write text into one.

Both embed text with the knowledge base's model, so they run where the model client is (`Runtime.LLM`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..errors import InvalidInput
from ..flow import RetryPolicy
from ..knowledge import MAX_TOP_K, check_filter, check_metadata
from .kind import REGISTRY, NodeConfig, NodeKind, Runtime

TIMEOUT_SECONDS = 300
_MATCH = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "document_id": {"type": "string"},
        "text": {"type": "string"},
        "score": {"type": "number"},
        "metadata": {"type": "object"},
    },
    "required": ["id", "document_id", "text", "score", "metadata"],
}


class RagSearchConfig(NodeConfig):
    """Searches a knowledge base: the chunks nearest in meaning to `query`, best first, with their scores and
    metadata (`output.matches`), and their texts joined as `output.context` for a prompt."""

    knowledge_base: str = Field(..., min_length=1, max_length=128, description="The knowledge base's id or name")
    query: str = Field(..., min_length=1, max_length=8_000)
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)
    filter: dict[str, Any] | None = Field(
        None, description='Metadata filter: {"field": value} or {"field": {"$eq|$ne|$gt|$gte|$lt|$lte|$in|$nin": …}}'
    )

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            check_filter(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return value


class RagUpsertConfig(NodeConfig):
    """Writes text into a knowledge base as one document (chunked with overlap and embedded). The same node
    of the same run always writes the same document, so a retry replaces it instead of adding another."""

    knowledge_base: str = Field(..., min_length=1, max_length=128, description="The knowledge base's id or name")
    text: str = Field(..., min_length=1, max_length=2_000_000)
    document_name: str = Field("{{ run.id }}", min_length=1, max_length=256)
    metadata: dict[str, Any] | None = Field(None, description="Flat metadata on every chunk (filterable)")

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            check_metadata(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return value


SEARCH = REGISTRY.register(
    NodeKind(
        name="rag_search",
        config=RagSearchConfig,
        category="AI",
        icon="rag_search",
        runtime=Runtime.LLM,
        templated_fields=("query", "knowledge_base"),
        output_schema={
            "type": "object",
            "properties": {
                "matches": {"type": "array", "items": _MATCH},
                "context": {"type": "string"},
                "knowledge_base": {"type": "string"},
            },
            "required": ["matches", "context"],
        },
        default_retry=RetryPolicy(),
        retry_errors=("LLMTimeout", "LLMProviderError"),
        wait_error="LLMRateLimited",
        default_timeout_seconds=TIMEOUT_SECONDS,
        calls_out=True,
    )
)

UPSERT = REGISTRY.register(
    NodeKind(
        name="rag_upsert",
        config=RagUpsertConfig,
        category="AI",
        icon="rag_upsert",
        runtime=Runtime.LLM,
        templated_fields=("text", "document_name", "knowledge_base"),
        output_schema={
            "type": "object",
            "properties": {
                "document_id": {"type": "string"},
                "chunks": {"type": "integer"},
                "knowledge_base": {"type": "string"},
            },
            "required": ["document_id", "chunks"],
        },
        default_retry=RetryPolicy(),
        retry_errors=("LLMTimeout", "LLMProviderError"),
        wait_error="LLMRateLimited",
        default_timeout_seconds=TIMEOUT_SECONDS,
        calls_out=True,
    )
)
