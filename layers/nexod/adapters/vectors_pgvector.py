"""The `VectorStore` port on PostgreSQL with pgvector (the local default; also on Aurora).

Chunks live in `knowledge_chunks` (migration 0015) under row-level security like every tenant table: each
statement runs in a transaction scoped to the namespace's workspace. Embeddings have no fixed dimension in
the column; a query orders by `embedding::vector(<d>) <=> $q` so that the HNSW index of that dimension
(cosine distance) serves it, with pgvector 0.8's iterative scan so that a namespace or metadata filter
still returns `top_k` rows when the index's first candidates belong to other namespaces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from pgvector import Vector
from psycopg import sql

from ..ports import ChunkMatch, ChunkVector, Namespace
from .postgres.db import Connection, Database
from .postgres.rows import Jsonb

# Candidates the HNSW scan keeps per step (pgvector's default is 40): at least top_k, so a larger top_k is
# not cut short.
_EF_SEARCH_MIN = 40


class PgVectorStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, namespace: Namespace, chunks: Sequence[ChunkVector]) -> None:
        if not chunks:
            return
        rows = [
            (
                namespace.workspace_id,
                namespace.name,
                c.id,
                c.document_id,
                c.text,
                Jsonb(dict(c.metadata)),
                Vector([float(x) for x in c.embedding]).to_text(),
            )
            for c in chunks
        ]
        with self._tenant(namespace) as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO knowledge_chunks (workspace_id, namespace, id, document_id, text, metadata, embedding)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s::vector)"
                " ON CONFLICT (workspace_id, namespace, id) DO UPDATE SET document_id = EXCLUDED.document_id,"
                " text = EXCLUDED.text, metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding",
                rows,
            )

    def query(
        self,
        namespace: Namespace,
        embedding: Sequence[float],
        top_k: int,
        filter: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[ChunkMatch]:
        dims = len(embedding)
        vector_type = sql.SQL("vector({})").format(sql.Literal(dims))
        where, params = _where(filter or {})
        query = sql.SQL(
            "SELECT id, document_id, text, metadata, 1 - (embedding::{t} <=> %(q)s::{t}) AS score"
            " FROM knowledge_chunks WHERE workspace_id = %(ws)s AND namespace = %(ns)s AND dims = %(dims)s{where}"
            " ORDER BY embedding::{t} <=> %(q)s::{t} LIMIT %(k)s"
        ).format(t=vector_type, where=where)
        params.update(
            ws=namespace.workspace_id,
            ns=namespace.name,
            dims=dims,
            q=Vector([float(x) for x in embedding]).to_text(),
            k=top_k,
        )
        with self._tenant(namespace) as conn:
            conn.execute(
                "SELECT set_config('hnsw.iterative_scan', 'strict_order', true),"
                " set_config('hnsw.ef_search', %s, true)",
                (str(max(_EF_SEARCH_MIN, top_k)),),
            )
            rows = conn.execute(query, params).fetchall()
        return [
            ChunkMatch(
                id=str(r["id"]),
                document_id=str(r["document_id"]),
                text=str(r["text"]),
                score=float(r["score"]),
                metadata=dict(r["metadata"] or {}),
            )
            for r in rows
        ]

    def delete_document(self, namespace: Namespace, document_id: str) -> None:
        with self._tenant(namespace) as conn:
            conn.execute(
                "DELETE FROM knowledge_chunks WHERE workspace_id = %s AND namespace = %s AND document_id = %s",
                (namespace.workspace_id, namespace.name, document_id),
            )

    def drop(self, namespace: Namespace) -> None:
        with self._tenant(namespace) as conn:
            conn.execute(
                "DELETE FROM knowledge_chunks WHERE workspace_id = %s AND namespace = %s",
                (namespace.workspace_id, namespace.name),
            )

    def _tenant(self, namespace: Namespace) -> AbstractContextManager[Connection]:
        return self.db.tenant(namespace.workspace_id)


def _where(normal: Mapping[str, Mapping[str, Any]]) -> tuple[sql.Composable, dict[str, Any]]:
    """The filter as SQL over the jsonb metadata, with the same meaning as `domain.knowledge.matches`."""
    parts: list[sql.Composable] = []
    params: dict[str, Any] = {}
    n = 0

    def param(value: Any) -> sql.Placeholder:
        nonlocal n
        n += 1
        params[f"f{n}"] = value
        return sql.Placeholder(f"f{n}")

    def equal(key: str, value: Any) -> sql.Composable:
        # A scalar field equal to the value, or a list field holding it.
        return sql.SQL("(metadata @> {}::jsonb OR metadata @> {}::jsonb)").format(
            param(json.dumps({key: value})), param(json.dumps({key: [value]}))
        )

    for key, condition in normal.items():
        for op, operand in condition.items():
            if op == "$eq":
                parts.append(equal(key, operand))
            elif op == "$ne":
                parts.append(sql.SQL("NOT {}").format(equal(key, operand)))
            elif op in ("$in", "$nin"):
                any_of = sql.SQL("({})").format(sql.SQL(" OR ").join(equal(key, v) for v in operand))
                parts.append(any_of if op == "$in" else sql.SQL("NOT {}").format(any_of))
            else:
                compare = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
                parts.append(
                    sql.SQL(
                        "(CASE WHEN jsonb_typeof(metadata -> {k}) = 'number'"
                        " THEN (metadata ->> {k})::numeric {op} {v} ELSE false END)"
                    ).format(k=param(key), op=sql.SQL(compare), v=param(operand))
                )
    if not parts:
        return sql.SQL(""), params
    return sql.SQL(" AND ") + sql.SQL(" AND ").join(parts), params
