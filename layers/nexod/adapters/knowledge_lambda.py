"""The `KnowledgeWorker` port in AWS: the API function asks the LLM runner function, which carries the
embedding client (LiteLLM), the PDF reader and the Pinecone SDK and may read the workspace's credentials
(the API may not), to ingest, forget or search, with one synchronous Lambda invocation.

The request names the workspace and the knowledge base by id: the runner loads the knowledge base itself
under the workspace's row-level security, so it never acts on a knowledge base the request describes.
Errors come back as `{"error": {status, code, message, details}}` and are raised here as the same API error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ..domain.errors import KnowledgeUnavailable, NexodError
from ..domain.records import KnowledgeBase
from ..ports import ChunkMatch, Embeddings, Found, Indexed


class LambdaKnowledgeWorker:
    def __init__(self, client: Any, function_name: str) -> None:
        self.client = client
        self.function_name = function_name

    def _call(self, request: dict[str, Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps({"knowledge": request}).encode(),
            )
            payload = answer["Payload"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise KnowledgeUnavailable(f"the knowledge worker could not be invoked ({code}); try again") from exc
        except BotoCoreError as exc:
            raise KnowledgeUnavailable(f"the knowledge worker could not be invoked ({type(exc).__name__})") from None
        if answer.get("FunctionError"):
            raise KnowledgeUnavailable(f"the knowledge worker failed ({answer['FunctionError']}); try again")
        body = json.loads(payload or b"null")
        if not isinstance(body, dict) or not ("ok" in body or "error" in body):
            raise KnowledgeUnavailable("the knowledge worker answered neither ok nor error")
        if "error" in body:
            error = body["error"]
            failure = NexodError(str(error.get("message")), error.get("details"))
            failure.status, failure.code = int(error.get("status", 503)), str(error.get("code", "error"))
            raise failure
        return body["ok"]

    def ingest(
        self,
        workspace_id: str,
        kb: KnowledgeBase,
        document_id: str,
        content: bytes,
        content_type: str,
        metadata: Mapping[str, Any],
    ) -> Indexed:
        ok = self._call(
            {
                "op": "ingest",
                "workspace_id": workspace_id,
                "kb": kb.id,
                "document_id": document_id,
                "content_base64": base64.b64encode(content).decode(),
                "content_type": content_type,
                "metadata": dict(metadata),
            }
        )
        return Indexed(chunks=int(ok["chunks"]), tokens=int(ok["tokens"]), cost_usd=ok["cost_usd"])

    def forget(self, workspace_id: str, kb: KnowledgeBase, document_id: str) -> None:
        self._call({"op": "forget", "workspace_id": workspace_id, "kb": kb.id, "document_id": document_id})

    def search(
        self,
        workspace_id: str,
        kb: KnowledgeBase,
        text: str,
        top_k: int,
        filter: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Found:
        ok = self._call(
            {
                "op": "search",
                "workspace_id": workspace_id,
                "kb": kb.id,
                "text": text,
                "top_k": top_k,
                "filter": dict(filter) if filter else None,
            }
        )
        return Found(
            matches=[ChunkMatch(**m) for m in ok["matches"]],
            embedding=Embeddings(vectors=[], model=ok["model"], tokens=int(ok["tokens"]), cost_usd=ok["cost_usd"]),
        )
