"""The `VectorStore` port on Pinecone (the `pinecone` SDK's data plane over HTTPS).

One Pinecone namespace per workspace and knowledge base (`Namespace.key`, `<workspace>.<kb>`), in the index
the knowledge base names; the API key is the workspace's `api_key` credential, read from the vault by the
caller at the moment of use and given to the SDK client, never logged. Chunk text and document id travel in
the vector's metadata (`_text`, `_document`); user metadata names start with a letter, so they cannot
collide. Chunk ids are `<document>#<n>`: deleting a document lists its ids by prefix and deletes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pinecone import Index
from pinecone.errors import PineconeError

from ..ports import ChunkMatch, ChunkVector, Namespace, VectorStoreUnavailable

TEXT_KEY = "_text"
DOCUMENT_KEY = "_document"
UPSERT_BATCH = 100  # vectors per request (Pinecone's limit is 1,000 or 2 MB)
DELETE_BATCH = 1000  # ids per delete request (Pinecone's limit)


class PineconeVectorStore:
    def __init__(self, index: Index) -> None:
        self.index = index

    @classmethod
    def connect(cls, index_host: str, api_key: str, timeout: float = 30.0) -> PineconeVectorStore:
        return cls(Index(host=index_host, api_key=api_key, timeout=timeout, source_tag="nexod"))

    def upsert(self, namespace: Namespace, chunks: Sequence[ChunkVector]) -> None:
        vectors: list[dict[str, Any]] = [
            {
                "id": c.id,
                "values": [float(x) for x in c.embedding],
                "metadata": dict(c.metadata) | {TEXT_KEY: c.text, DOCUMENT_KEY: c.document_id},
            }
            for c in chunks
        ]
        with _errors("upsert"):
            for start in range(0, len(vectors), UPSERT_BATCH):
                self.index.upsert(
                    vectors=vectors[start : start + UPSERT_BATCH], namespace=namespace.key, show_progress=False
                )

    def query(
        self,
        namespace: Namespace,
        embedding: Sequence[float],
        top_k: int,
        filter: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[ChunkMatch]:
        with _errors("query"):
            answer = self.index.query(
                top_k=top_k,
                vector=[float(x) for x in embedding],
                namespace=namespace.key,
                filter=dict(filter) if filter else None,
                include_metadata=True,
            )
        found = []
        for match in answer.matches:
            metadata = dict(match.metadata or {})
            text = str(metadata.pop(TEXT_KEY, ""))
            document = str(metadata.pop(DOCUMENT_KEY, match.id.partition("#")[0]))
            found.append(
                ChunkMatch(id=match.id, document_id=document, text=text, score=float(match.score), metadata=metadata)
            )
        return found

    def delete_document(self, namespace: Namespace, document_id: str) -> None:
        with _errors("delete"):
            ids = [
                str(v.id)
                for page in self.index.list(prefix=f"{document_id}#", namespace=namespace.key)
                for v in page.vectors
            ]
            for start in range(0, len(ids), DELETE_BATCH):
                self.index.delete(ids=ids[start : start + DELETE_BATCH], namespace=namespace.key)

    def drop(self, namespace: Namespace) -> None:
        with _errors("delete"):
            self.index.delete(delete_all=True, namespace=namespace.key)


class _errors:
    """Pinecone's errors as `VectorStoreUnavailable`, naming the operation and the status (never the key)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, PineconeError):
            status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
            said = f" (HTTP {status})" if status else ""
            raise VectorStoreUnavailable(f"Pinecone {self.operation} failed{said}: {type(exc).__name__}") from None
