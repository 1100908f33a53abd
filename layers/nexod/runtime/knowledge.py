"""Knowledge bases at work: read a document, chunk it, embed the chunks and store them; embed a query and
search. Used by the API's knowledge routes (through the `KnowledgeWorker` port) and by the `rag_search` and
`rag_upsert` nodes. It reaches the world through ports only: `Embedder`, `VectorStore`, `DocumentReader`,
the `Vault` (a Pinecone knowledge base's API key) and the LLM gateway's key resolution (an embedding model
of a provider uses the workspace's `llm_provider` key for that provider, exactly as a chat model does).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

from ..domain.errors import InvalidInput, KnowledgeUnavailable, PayloadTooLarge, VaultUnavailable
from ..domain.knowledge import MAX_CHUNKS_PER_DOCUMENT, MAX_DOCUMENT_CHARS, chunk_id, chunk_text
from ..domain.records import KnowledgeBase, KnowledgeDocument
from ..ports import (
    ChunkVector,
    DocumentReader,
    Embedder,
    Embeddings,
    Found,
    Indexed,
    Namespace,
    ProviderKey,
    Store,
    Vault,
    VectorStore,
    VectorStoreUnavailable,
)
from .egress import current_egress_scope, egress_scope
from .errors import NodeError
from .llm_gateway import LlmGateway

EMBED_BATCH = 64  # texts per embedding call


PineconeFactory = Callable[[str, str], VectorStore]  # (index host, api key) -> store


class KnowledgeEngine:
    def __init__(
        self,
        *,
        embedder: Callable[[], Embedder],
        pgvector: Callable[[], VectorStore],
        reader: Callable[[], DocumentReader] | None = None,
        pinecone: PineconeFactory | None = None,
        vault: Vault | None = None,
        gateway: LlmGateway | None = None,
        store: Store | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.pgvector = pgvector
        self.reader = reader
        self.pinecone = pinecone
        self.vault = vault
        self.gateway = gateway

    # -- the catalog (nodes name a knowledge base by id or name) -----------------------------------------
    def base(self, workspace_id: str, ref: str) -> KnowledgeBase | None:
        if self.store is None:
            raise KnowledgeUnavailable("this process has no knowledge-base catalog")
        with self.store.tx(workspace_id) as uow:
            try:
                found = uow.knowledge.base(str(uuid.UUID(ref)))
            except ValueError:
                found = None
            return found or next((kb for kb in uow.knowledge.bases() if kb.name == ref), None)

    def write_document(
        self, workspace_id: str, kb: KnowledgeBase, document: KnowledgeDocument, text: str
    ) -> tuple[KnowledgeDocument, Indexed]:
        """Index `text` as `document` (replacing a document of the same id and its chunks) and record it."""
        if self.store is None:
            raise KnowledgeUnavailable("this process has no knowledge-base catalog")
        indexed = self.index(workspace_id, kb, document.id, text, {**document.metadata, "document": document.name})
        with self.store.tx(workspace_id) as uow:
            uow.knowledge.delete_document(kb.id, document.id)
            stored = uow.knowledge.add_document(
                replace(
                    document,
                    chunks=indexed.chunks,
                    embedding_tokens=indexed.tokens,
                    embedding_cost_usd=indexed.cost_usd,
                )
            )
        return stored, indexed

    # -- documents ------------------------------------------------------------------------------------
    def read(self, content: bytes, content_type: str) -> str:
        if self.reader is None:
            raise KnowledgeUnavailable("this process cannot read documents (no document reader)")
        return self.reader().text_of(content, content_type)

    def ingest(
        self,
        workspace_id: str,
        kb: KnowledgeBase,
        document_id: str,
        content: bytes,
        content_type: str,
        metadata: Mapping[str, Any],
    ) -> Indexed:
        text = self.read(content, content_type).replace("\x00", "")
        if not text.strip():
            raise InvalidInput("content: the document has no readable text", {"field": "content"})
        if len(text) > MAX_DOCUMENT_CHARS:
            raise PayloadTooLarge(
                f"content: the document's text is {len(text)} characters; the limit is {MAX_DOCUMENT_CHARS}",
                {"field": "content", "limit": MAX_DOCUMENT_CHARS},
            )
        if len(chunk_text(text)) > MAX_CHUNKS_PER_DOCUMENT:
            raise PayloadTooLarge(f"content: more than {MAX_CHUNKS_PER_DOCUMENT} chunks", {"field": "content"})
        return self.index(workspace_id, kb, document_id, text, metadata)

    def index(
        self, workspace_id: str, kb: KnowledgeBase, document_id: str, text: str, metadata: Mapping[str, Any]
    ) -> Indexed:
        """Chunk `text`, embed the chunks with the knowledge base's model, store them (replacing the
        document's chunks of an earlier indexing)."""
        pieces = chunk_text(text)
        embedded = self.embed(workspace_id, kb, pieces)
        chunks = [
            ChunkVector(
                id=chunk_id(document_id, n),
                document_id=document_id,
                text=piece,
                embedding=vector,
                metadata={**metadata, "chunk": n},
            )
            for n, (piece, vector) in enumerate(zip(pieces, embedded.vectors, strict=True))
        ]
        store = self.store_for(workspace_id, kb)
        namespace = Namespace(workspace_id, kb.id)
        try:
            store.delete_document(namespace, document_id)
            store.upsert(namespace, chunks)
        except VectorStoreUnavailable as exc:
            raise KnowledgeUnavailable(f"knowledge base '{kb.name}': {exc}") from None
        return Indexed(len(chunks), embedded.tokens, embedded.cost_usd)

    def forget(self, workspace_id: str, kb: KnowledgeBase, document_id: str) -> None:
        try:
            self.store_for(workspace_id, kb).delete_document(Namespace(workspace_id, kb.id), document_id)
        except VectorStoreUnavailable as exc:
            raise KnowledgeUnavailable(f"knowledge base '{kb.name}': {exc}") from None

    def search(
        self,
        workspace_id: str,
        kb: KnowledgeBase,
        text: str,
        top_k: int,
        filter: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Found:
        embedded = self.embed(workspace_id, kb, [text])
        try:
            matches = self.store_for(workspace_id, kb).query(
                Namespace(workspace_id, kb.id), embedded.vectors[0], top_k, filter
            )
        except VectorStoreUnavailable as exc:
            raise KnowledgeUnavailable(f"knowledge base '{kb.name}': {exc}") from None
        return Found(matches, embedded)

    # -- embeddings -----------------------------------------------------------------------------------
    def embed(self, workspace_id: str, kb: KnowledgeBase, texts: Sequence[str]) -> Embeddings:
        """Embeddings of `texts` with the knowledge base's model and the workspace's key for its provider.
        The hard budget is checked first; the cost is summed (None when the model has no price)."""
        if not texts:
            return Embeddings(vectors=[], model=kb.embedding_model, tokens=0, cost_usd=0.0)
        key = self._key(workspace_id, kb.embedding_model)
        with self._egress(workspace_id):
            return self._embed(workspace_id, kb, texts, key)

    def _egress(self, workspace_id: str) -> AbstractContextManager[Any]:
        """The workspace's allow-list for the embedding model's connections (a node's own scope when one is
        open; the API's requests open the workspace's)."""
        if current_egress_scope() is not None or self.store is None:
            return nullcontext()
        with self.store.tx(workspace_id) as uow:
            ws = uow.workspaces.current()
        return egress_scope("knowledge", list(ws.allowed_hosts) if ws else [])

    def _embed(self, workspace_id: str, kb: KnowledgeBase, texts: Sequence[str], key: ProviderKey | None) -> Embeddings:
        embedder = self.embedder()
        vectors: list[list[float]] = []
        tokens = 0
        cost: float | None = 0.0
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            if self.gateway is not None and self.gateway.budget is not None:
                self.gateway.budget.check(workspace_id)
            result = embedder.embed(kb.embedding_model, batch, key)
            if len(result.vectors) != len(batch) or any(len(v) != kb.dimensions for v in result.vectors):
                sizes = sorted({len(v) for v in result.vectors})
                raise InvalidInput(
                    f"knowledge base '{kb.name}': model '{kb.embedding_model}' answered vectors of {sizes}"
                    f" dimensions; the knowledge base stores {kb.dimensions}",
                    {"field": "dimensions"},
                )
            vectors.extend(result.vectors)
            tokens += result.tokens
            cost = None if cost is None or result.cost_usd is None else cost + result.cost_usd
        return Embeddings(vectors=vectors, model=kb.embedding_model, tokens=tokens, cost_usd=cost)

    def _key(self, workspace_id: str, model: str) -> ProviderKey | None:
        if self.gateway is None:
            return None
        return self.gateway.embedding_key(workspace_id, model)

    # -- stores ---------------------------------------------------------------------------------------
    def store_for(self, workspace_id: str, kb: KnowledgeBase) -> VectorStore:
        if kb.store == "pgvector":
            return self.pgvector()
        if self.pinecone is None:
            raise KnowledgeUnavailable(f"knowledge base '{kb.name}': this deployment has no Pinecone client")
        config = kb.pinecone if isinstance(kb.pinecone, dict) else {}
        credential = str(config.get("credential") or "")
        if self.vault is None:
            raise KnowledgeUnavailable(f"knowledge base '{kb.name}': credentials cannot be read in this process")
        try:
            value = self.vault.get(workspace_id, credential)
        except VaultUnavailable as exc:
            raise KnowledgeUnavailable(f"credential '{credential}': {exc.message}") from None
        if not value or not value.get("key"):
            raise InvalidInput(
                f"knowledge base '{kb.name}': credential '{credential}' does not exist or holds no key"
                " (an api_key credential with the Pinecone API key)",
                {"field": "pinecone.credential"},
            )
        return self.pinecone(str(config.get("index_host")), str(value["key"]))


def node_error_status(exc: NodeError) -> tuple[int, str]:
    """An embedding model's typed error as the API's status and code (the API has no Step Functions retry)."""
    from .errors import BlockedDestinationError, BudgetExceeded, LLMBadRequest, LLMRateLimited, NodeFailedError

    if isinstance(exc, BudgetExceeded):
        return 402, "budget_exceeded"
    if isinstance(exc, LLMRateLimited):
        return 429, "rate_limited"
    if isinstance(exc, BlockedDestinationError):
        return 422, "blocked_destination"
    if isinstance(exc, LLMBadRequest):
        return 422, "embedding_refused"
    if isinstance(exc, NodeFailedError):
        return 422, "embedding_failed"
    return 503, "knowledge_unavailable"
