"""The catalog of knowledge bases and documents (migration 0015). Chunks: `adapters/vectors_pgvector.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from ...domain.records import KnowledgeBase, KnowledgeDocument
from .rows import Jsonb, JsonbOrNull, Queries, maybe, record

_BASE = (
    "SELECT b.id, b.name, b.description, b.embedding_model, b.dimensions, b.store, b.pinecone, b.created_by,"
    " b.created_at, COALESCE(d.documents, 0) AS documents, COALESCE(d.chunks, 0) AS chunks"
    " FROM knowledge_bases b LEFT JOIN LATERAL (SELECT count(*) AS documents, sum(chunks) AS chunks"
    " FROM knowledge_documents WHERE knowledge_base_id = b.id) d ON true WHERE b.workspace_id = %s"
)
_DOCUMENT = (
    "id, knowledge_base_id, name, content_type, size_bytes, sha256, chunks, metadata, embedding_tokens,"
    " embedding_cost_usd, created_by, created_at"
)


class PostgresKnowledge(Queries):
    def create_base(
        self,
        name: str,
        description: str,
        embedding_model: str,
        dimensions: int,
        store: str,
        pinecone: dict[str, Any] | None,
        created_by: str,
    ) -> KnowledgeBase | None:
        try:
            with self.conn.transaction():  # a savepoint: a duplicate name must not abort the caller's work
                row = self._one(
                    "INSERT INTO knowledge_bases (workspace_id, name, description, embedding_model, dimensions,"
                    " store, pinecone, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (
                        self.workspace_id,
                        name,
                        description,
                        embedding_model,
                        dimensions,
                        store,
                        JsonbOrNull(pinecone),
                        created_by,
                    ),
                )
        except psycopg.errors.UniqueViolation:
            return None
        assert row is not None
        return self.base(str(row["id"]))

    def bases(self) -> list[KnowledgeBase]:
        return [record(KnowledgeBase, r) for r in self._all(_BASE + " ORDER BY b.name, b.id", (self.workspace_id,))]

    def base(self, kb_id: str) -> KnowledgeBase | None:
        return maybe(KnowledgeBase, self._one(_BASE + " AND b.id = %s", (self.workspace_id, kb_id)))

    def add_document(self, document: KnowledgeDocument) -> KnowledgeDocument:
        row = self._one(
            "INSERT INTO knowledge_documents (id, workspace_id, knowledge_base_id, name, content_type, size_bytes,"
            " sha256, chunks, metadata, embedding_tokens, embedding_cost_usd, created_by)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_DOCUMENT}",
            (
                document.id,
                self.workspace_id,
                document.knowledge_base_id,
                document.name,
                document.content_type,
                document.size_bytes,
                document.sha256,
                document.chunks,
                Jsonb(document.metadata),
                document.embedding_tokens,
                document.embedding_cost_usd,
                document.created_by,
            ),
        )
        assert row is not None
        return record(KnowledgeDocument, row)

    def documents(self, kb_id: str, limit: int, before: tuple[datetime, str] | None = None) -> list[KnowledgeDocument]:
        after = " AND (created_at, id) < (%s, %s::uuid)" if before else ""
        params: tuple[Any, ...] = (self.workspace_id, kb_id, *(before or ()), limit)
        rows = self._all(
            f"SELECT {_DOCUMENT} FROM knowledge_documents WHERE workspace_id = %s AND knowledge_base_id = %s{after}"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            params,
        )
        return [record(KnowledgeDocument, r) for r in rows]

    def document(self, kb_id: str, document_id: str) -> KnowledgeDocument | None:
        return maybe(
            KnowledgeDocument,
            self._one(
                f"SELECT {_DOCUMENT} FROM knowledge_documents WHERE workspace_id = %s AND knowledge_base_id = %s"
                " AND id = %s",
                (self.workspace_id, kb_id, document_id),
            ),
        )

    def delete_document(self, kb_id: str, document_id: str) -> bool:
        return (
            self._run(
                "DELETE FROM knowledge_documents WHERE workspace_id = %s AND knowledge_base_id = %s AND id = %s",
                (self.workspace_id, kb_id, document_id),
            )
            > 0
        )
