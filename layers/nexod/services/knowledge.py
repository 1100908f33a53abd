"""Knowledge bases (issue 10): create and list them, add, list and delete documents, query.

Viewers read and query; members create knowledge bases and write documents. The work itself (reading a
PDF or HTML page, embedding, the vector store) is the `KnowledgeWorker` port's, so this module stays light.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from ..domain.errors import Conflict, InvalidInput, KnowledgeUnavailable, NexodError, NotFound, PayloadTooLarge
from ..domain.knowledge import (
    CONTENT_TYPES,
    MAX_DOCUMENT_BYTES,
    STORES,
    check_filter,
    check_metadata,
    dimensions_of,
)
from ..domain.records import KnowledgeBase, KnowledgeDocument
from ..ports import KnowledgeWorker, UnitOfWork
from .access import authorize, parse_id
from .context import Principal, Services
from .paging import decode_cursor, page

log = logging.getLogger(__name__)
_PINECONE_HOST = re.compile(r"^https://[a-z0-9][a-z0-9.-]*\.pinecone\.io/?$")
# Errors of the embedding model (the runtime's NodeError classes, by name: services import no runtime).
_LLM_ERRORS = {
    "BudgetExceeded": (402, "budget_exceeded"),
    "LLMRateLimited": (429, "rate_limited"),
    "BlockedDestinationError": (422, "blocked_destination"),  # the outbound guard: allow-list the host
    "LLMBadRequest": (422, "embedding_refused"),
    "NodeFailedError": (422, "embedding_failed"),  # what a retry cannot fix (after the more specific ones)
}


def _worker(services: Services) -> KnowledgeWorker:
    if services.knowledge is None:
        raise KnowledgeUnavailable("this deployment has no knowledge-base worker configured")
    return services.knowledge


@contextmanager
def _answers() -> Iterator[None]:
    """The embedding model's and store's failures as API errors (a NexodError passes as it is)."""
    try:
        yield
    except NexodError:
        raise
    except Exception as exc:
        name = type(exc).__name__
        if not any(c.__name__ == "NodeError" for c in type(exc).__mro__):
            raise
        status, code = next(
            (v for c in type(exc).__mro__ for k, v in _LLM_ERRORS.items() if c.__name__ == k),
            (503, "knowledge_unavailable"),
        )
        error = NexodError(str(getattr(exc, "message", exc)), {"error": name})
        error.status, error.code = status, code
        raise error from None


def view(kb: KnowledgeBase) -> dict[str, Any]:
    return asdict(kb)


def _base(uow: UnitOfWork, kb_id: str) -> KnowledgeBase:
    kb = uow.knowledge.base(parse_id(kb_id, "knowledge base"))
    if kb is None:
        raise NotFound(f"knowledge base '{kb_id}' not found")
    return kb


def create_knowledge_base(
    services: Services,
    principal: Principal,
    workspace_id: str,
    name: str,
    description: str,
    embedding_model: str | None,
    dimensions: int | None,
    store: str,
    pinecone: dict[str, Any] | None,
) -> dict[str, Any]:
    model = embedding_model or services.default_embedding_model
    dims = dimensions_of(model, dimensions)
    if store not in STORES:
        raise InvalidInput(f"store: one of {', '.join(STORES)}", {"field": "store"})
    if (store == "pinecone") != (pinecone is not None):
        raise InvalidInput(
            "pinecone: {index_host, credential} is required with store 'pinecone' and only then", {"field": "pinecone"}
        )
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "knowledge.write")
        if pinecone is not None:
            pinecone = _pinecone_config(services, uow, pinecone)
        kb = uow.knowledge.create_base(name, description, model, dims, store, pinecone, principal.sub)
        if kb is None:
            raise Conflict(f"a knowledge base named '{name}' already exists in this workspace", {"field": "name"})
        uow.audit.record(
            "knowledge_base.create", "knowledge_base", kb.id, {"name": name, "store": store, "model": model}
        )
    return view(kb)


def _pinecone_config(services: Services, uow: UnitOfWork, config: dict[str, Any]) -> dict[str, Any]:
    host = str(config.get("index_host") or "")
    allowed = _PINECONE_HOST.match(host) or any(host.rstrip("/") == h.rstrip("/") for h in services.pinecone_hosts)
    if not allowed:
        raise InvalidInput(
            "pinecone.index_host: the index's https://<index>-<project>.svc.<env>.pinecone.io host",
            {"field": "pinecone.index_host"},
        )
    credential_name = str(config.get("credential") or "")
    credential = uow.credentials.get(credential_name)
    if credential is None or credential.type != "api_key":
        raise InvalidInput(
            f"pinecone.credential: no api_key credential named '{credential_name}' in this workspace (create one"
            " with the Pinecone API key as its key)",
            {"field": "pinecone.credential"},
        )
    return {"index_host": host.rstrip("/"), "credential": credential_name}


def list_knowledge_bases(services: Services, principal: Principal, workspace_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "knowledge.read")
        return {"items": [view(kb) for kb in uow.knowledge.bases()]}


def _content(content: str | None, content_base64: str | None, content_type: str) -> bytes:
    if (content is None) == (content_base64 is None):
        raise InvalidInput("content: give exactly one of content (text) and content_base64", {"field": "content"})
    if content_type not in CONTENT_TYPES:
        raise InvalidInput(f"content_type: one of {', '.join(CONTENT_TYPES)}", {"field": "content_type"})
    if content is not None:
        if content_type == "application/pdf":
            raise InvalidInput("content_base64: a PDF is sent base64-encoded", {"field": "content_base64"})
        raw = content.encode("utf-8", errors="surrogatepass")
    else:
        try:
            raw = base64.b64decode(content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("content_base64: not base64", {"field": "content_base64"}) from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(
            f"content: the document is {len(raw)} bytes; the limit is {MAX_DOCUMENT_BYTES}",
            {"field": "content", "limit": MAX_DOCUMENT_BYTES},
        )
    return raw


def add_document(
    services: Services,
    principal: Principal,
    workspace_id: str,
    kb_id: str,
    name: str,
    content_type: str,
    content: str | None,
    content_base64: str | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    raw = _content(content, content_base64, content_type)
    meta = check_metadata(metadata)
    worker = _worker(services)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "knowledge.write")
        kb = _base(uow, kb_id)
    document_id = str(uuid.uuid4())
    with _answers():
        indexed = worker.ingest(workspace_id, kb, document_id, raw, content_type, {**meta, "document": name})
    try:
        with services.store.tx(workspace_id, principal.sub) as uow:
            if uow.knowledge.base(kb.id) is None:  # deleted meanwhile
                raise NotFound(f"knowledge base '{kb_id}' not found")
            if indexed.cost_usd:  # the embeddings count toward the monthly budget like a node's LLM cost
                uow.budgets.add_spend(indexed.cost_usd)
            stored = uow.knowledge.add_document(
                KnowledgeDocument(
                    id=document_id,
                    knowledge_base_id=kb.id,
                    name=name,
                    content_type=content_type,
                    size_bytes=len(raw),
                    sha256=hashlib.sha256(raw).hexdigest(),
                    chunks=indexed.chunks,
                    metadata=meta,
                    embedding_tokens=indexed.tokens,
                    embedding_cost_usd=indexed.cost_usd,
                    created_by=principal.sub,
                    created_at=_now(),
                )
            )
    except BaseException:
        try:
            worker.forget(workspace_id, kb, document_id)  # no chunks without their document
        except Exception:  # the first failure is the answer; orphan chunks are logged
            log.warning("could not remove the chunks of document %s after a failed add", document_id, exc_info=True)
        raise
    return asdict(stored)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def list_documents(
    services: Services, principal: Principal, workspace_id: str, kb_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    before = decode_cursor(cursor) if cursor else None
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "knowledge.read")
        kb = _base(uow, kb_id)
        found = uow.knowledge.documents(kb.id, limit + 1, (before.created_at, before.id) if before else None)
    items, next_cursor = page(found, limit)
    return {"items": [asdict(d) for d in items], "next_cursor": next_cursor}


def delete_document(services: Services, principal: Principal, workspace_id: str, kb_id: str, document_id: str) -> None:
    doc_id = parse_id(document_id, "document")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "knowledge.write")
        kb = _base(uow, kb_id)
        if uow.knowledge.document(kb.id, doc_id) is None:
            raise NotFound(f"document '{document_id}' not found")
    with _answers():
        _worker(services).forget(workspace_id, kb, doc_id)
    with services.store.tx(workspace_id, principal.sub) as uow:
        uow.knowledge.delete_document(kb.id, doc_id)


def query(
    services: Services,
    principal: Principal,
    workspace_id: str,
    kb_id: str,
    text: str,
    top_k: int,
    filter: dict[str, Any] | None,
) -> dict[str, Any]:
    normal = check_filter(filter)
    if not text.strip():
        raise InvalidInput("text: what to search for", {"field": "text"})
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "knowledge.query")
        kb = _base(uow, kb_id)
    with _answers():
        found = _worker(services).search(workspace_id, kb, text, top_k, normal)
    if found.embedding.cost_usd:
        with services.store.tx(workspace_id, principal.sub) as uow:
            uow.budgets.add_spend(found.embedding.cost_usd)
    return {
        "matches": [asdict(m) for m in found.matches],
        "model": found.embedding.model,
        "tokens": found.embedding.tokens,
        "cost_usd": found.embedding.cost_usd,
    }
