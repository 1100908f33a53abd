"""The `rag_search` and `rag_upsert` executors: a knowledge base through the `KnowledgeEngine`."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from ...domain.errors import InvalidInput, NexodError
from ...domain.knowledge import MAX_DOCUMENT_CHARS, check_filter, check_metadata
from ...domain.nodes import NodeConfig, RagSearchConfig, RagUpsertConfig
from ...domain.records import KnowledgeBase, KnowledgeDocument
from ..egress import egress_scope
from ..errors import NodeError, NodeFailedError, NodeRetryableError
from ..knowledge import KnowledgeEngine
from .base import NodeContext, NodeResult, Toolbox, executor, in_node


def _engine(ctx: NodeContext, tools: Toolbox) -> KnowledgeEngine:
    if tools.knowledge is None:
        raise NodeFailedError(f"node '{ctx.node_id}': this runner has no knowledge bases (a deployment error)")
    return tools.knowledge


def _base(engine: KnowledgeEngine, ctx: NodeContext, ref: str) -> KnowledgeBase:
    kb = engine.base(ctx.workspace_id, ref)
    if kb is None:
        raise NodeFailedError(
            f"node '{ctx.node_id}' config.knowledge_base: no knowledge base '{ref}' in this workspace"
        )
    return kb


def _failure(ctx: NodeContext, exc: NexodError) -> NodeError:
    """A knowledge-base error as the node's: a store outage may pass, a wrong config will not."""
    cls = NodeRetryableError if exc.status >= 500 else NodeFailedError
    return cls(f"node '{ctx.node_id}': {exc.message}", exc.details)


def _usage(kb: KnowledgeBase, tokens: int, cost: float | None) -> dict[str, Any]:
    # Recorded like an LLM call's: the embedding model, its tokens and its price (None: no price known).
    return {"model": kb.embedding_model, "tokens_in": tokens, "tokens_out": 0, "cost_usd": cost}


@executor("rag_search")
def run_rag_search(config: NodeConfig, ctx: NodeContext, tools: Toolbox) -> NodeResult:
    assert isinstance(config, RagSearchConfig)
    engine = _engine(ctx, tools)
    with egress_scope(ctx.node_id, ctx.allow_hosts):
        try:
            kb = _base(engine, ctx, config.knowledge_base)
            found = engine.search(ctx.workspace_id, kb, config.query, config.top_k, check_filter(config.filter))
        except NexodError as exc:
            raise _failure(ctx, exc) from None
        except NodeError as exc:
            in_node(ctx, exc, "query")
            raise
    matches = [asdict(m) for m in found.matches]
    output = {"matches": matches, "context": "\n\n".join(m.text for m in found.matches), "knowledge_base": kb.id}
    return NodeResult(output, _usage(kb, found.embedding.tokens, found.embedding.cost_usd))


@executor("rag_upsert")
def run_rag_upsert(config: NodeConfig, ctx: NodeContext, tools: Toolbox) -> NodeResult:
    assert isinstance(config, RagUpsertConfig)
    engine = _engine(ctx, tools)
    if len(config.text) > MAX_DOCUMENT_CHARS:
        raise NodeFailedError(f"node '{ctx.node_id}' config.text: more than {MAX_DOCUMENT_CHARS} characters")
    # One document per node of a run: a retry or a re-execution replaces it, never adds another.
    document_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"nexod:{ctx.run_id}:{ctx.node_id}"))
    raw = config.text.encode("utf-8", errors="surrogatepass")
    with egress_scope(ctx.node_id, ctx.allow_hosts):
        try:
            kb = _base(engine, ctx, config.knowledge_base)
            document = KnowledgeDocument(
                id=document_id,
                knowledge_base_id=kb.id,
                name=config.document_name,
                content_type="text/plain",
                size_bytes=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                chunks=0,
                metadata={**check_metadata(config.metadata), "run_id": ctx.run_id, "node_id": ctx.node_id},
                embedding_tokens=0,
                embedding_cost_usd=None,
                created_by=f"run:{ctx.run_id}",
                created_at=datetime.now(UTC),
            )
            stored, indexed = engine.write_document(ctx.workspace_id, kb, document, config.text)
        except InvalidInput as exc:
            raise NodeFailedError(f"node '{ctx.node_id}': {exc.message}", exc.details) from None
        except NexodError as exc:
            raise _failure(ctx, exc) from None
        except NodeError as exc:
            in_node(ctx, exc, "text")
            raise
    output = {"document_id": stored.id, "chunks": stored.chunks, "knowledge_base": kb.id}
    return NodeResult(output, _usage(kb, indexed.tokens, indexed.cost_usd))
