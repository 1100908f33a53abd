"""Ports of knowledge bases (issue 10): vector stores, embedding models and document readers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..domain.records import KnowledgeBase
    from . import ProviderKey


@dataclass(frozen=True)
class Namespace:
    """Where a set of chunks lives: one workspace, and one name in it (a knowledge base's id; agent memory
    uses the same port under names of its own). A store never reads or writes outside its namespace."""

    workspace_id: str
    name: str

    @property
    def key(self) -> str:
        """One string for stores with a flat namespace (Pinecone): `<workspace>.<name>`."""
        return f"{self.workspace_id}.{self.name}"


@dataclass(frozen=True)
class ChunkVector:
    """One chunk to store: its id (`<document>#<n>`), its text, its embedding and flat metadata."""

    id: str
    document_id: str
    text: str
    embedding: Sequence[float]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChunkMatch:
    """A chunk a query found, with its cosine similarity (1 is the same direction)."""

    id: str
    document_id: str
    text: str
    score: float
    metadata: dict[str, Any]


class VectorStoreUnavailable(Exception):
    """The store could not be reached or refused the request (not the caller's mistake)."""


class VectorStore(Protocol):
    """Chunks with embeddings, searched by cosine similarity (pgvector, Pinecone).

    `filter` is the normal form of `nexod.domain.knowledge.check_filter`, already validated."""

    def upsert(self, namespace: Namespace, chunks: Sequence[ChunkVector]) -> None: ...

    def query(
        self,
        namespace: Namespace,
        embedding: Sequence[float],
        top_k: int,
        filter: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[ChunkMatch]: ...

    def delete_document(self, namespace: Namespace, document_id: str) -> None: ...

    def drop(self, namespace: Namespace) -> None:
        """Forget every chunk of the namespace."""
        ...


@dataclass
class Embeddings:
    vectors: list[list[float]]
    model: str
    tokens: int = 0
    cost_usd: float | None = None  # None: the model has no price (offline models cost nothing: 0.0)


class Embedder(Protocol):
    """Texts to vectors with one model. `credentials`: the workspace's key for the model's provider."""

    def embed(self, model: str, texts: Sequence[str], credentials: ProviderKey | None = None) -> Embeddings: ...


@dataclass
class Indexed:
    """A document as a knowledge base stored it."""

    chunks: int
    tokens: int
    cost_usd: float | None


@dataclass
class Found:
    """What a search found, and what embedding the query cost."""

    matches: list[ChunkMatch]
    embedding: Embeddings


class KnowledgeWorker(Protocol):
    """Reads, indexes and searches documents of knowledge bases (`nexod.runtime.knowledge.KnowledgeEngine`
    in process). Raises `NexodError`s (InvalidInput, KnowledgeUnavailable) and the LLM errors of the
    embedding model (`NodeError`s)."""

    def ingest(
        self,
        workspace_id: str,
        kb: KnowledgeBase,
        document_id: str,
        content: bytes,
        content_type: str,
        metadata: Mapping[str, Any],
    ) -> Indexed:
        """Read the document's text, check it (InvalidInput when empty, PayloadTooLarge when too long), chunk,
        embed and store it under `document_id`."""
        ...

    def forget(self, workspace_id: str, kb: KnowledgeBase, document_id: str) -> None: ...

    def search(
        self,
        workspace_id: str,
        kb: KnowledgeBase,
        text: str,
        top_k: int,
        filter: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Found: ...


class DocumentReader(Protocol):
    """The readable text of an uploaded document (plain text, markdown, HTML, PDF)."""

    def text_of(self, content: bytes, content_type: str) -> str: ...
