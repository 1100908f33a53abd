"""The LLM runner's side of `adapters.knowledge_lambda`: one knowledge request from the API, answered as
`{"ok": ...}` or `{"error": {status, code, message, details}}` (never an exception: the API maps it)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from typing import Any

from ..domain.errors import InvalidInput, NexodError, NotFound
from ..domain.knowledge import check_filter
from .errors import NodeError
from .knowledge import KnowledgeEngine, node_error_status


def serve(engine: KnowledgeEngine | None, request: Any) -> dict[str, Any]:
    try:
        if engine is None:
            raise NexodError("this function has no knowledge bases configured")
        return {"ok": _serve(engine, request)}
    except NexodError as exc:
        return {"error": {"status": exc.status, "code": exc.code, "message": exc.message, "details": exc.details}}
    except NodeError as exc:
        status, code = node_error_status(exc)
        return {"error": {"status": status, "code": code, "message": exc.message, "details": exc.details}}


def _serve(engine: KnowledgeEngine, request: Any) -> Any:
    if not isinstance(request, dict):
        raise InvalidInput("a knowledge request is an object")
    workspace_id = str(request.get("workspace_id") or "")
    kb = engine.base(workspace_id, str(request.get("kb") or ""))
    if kb is None:
        raise NotFound(f"knowledge base '{request.get('kb')}' not found")
    op = request.get("op")
    if op == "ingest":
        try:
            content = base64.b64decode(str(request.get("content_base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("content_base64: not base64", {"field": "content_base64"}) from None
        indexed = engine.ingest(
            workspace_id,
            kb,
            str(request["document_id"]),
            content,
            str(request.get("content_type") or ""),
            dict(request.get("metadata") or {}),
        )
        return asdict(indexed)
    if op == "forget":
        engine.forget(workspace_id, kb, str(request["document_id"]))
        return {}
    if op == "search":
        found = engine.search(
            workspace_id,
            kb,
            str(request.get("text") or ""),
            int(request.get("top_k") or 5),
            check_filter(request.get("filter")),
        )
        return {
            "matches": [asdict(m) for m in found.matches],
            "model": found.embedding.model,
            "tokens": found.embedding.tokens,
            "cost_usd": found.embedding.cost_usd,
        }
    raise InvalidInput(f"op: '{op}' is not a knowledge operation", {"field": "op"})
