"""A local fake of Pinecone's data-plane REST API (the part the `pinecone` SDK's `Index` uses), served by a
real HTTP server on 127.0.0.1 so that the adapter and the SDK run unchanged: upsert, query (cosine, metadata
filter with the meaning of `nexod.domain.knowledge.matches`), list ids by prefix (paginated), delete by ids
or everything in a namespace. Every request must carry the API key it was started with."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nexod.domain.knowledge import check_filter, matches

PAGE = 100


class FakePinecone:
    def __init__(self, api_key: str = "pc-test-key") -> None:
        self.api_key = api_key
        self.namespaces: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Api-Key") != fake.api_key:
                    self._answer(401, {"error": {"code": "UNAUTHENTICATED", "message": "Invalid API Key"}})
                    return False
                return True

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                fake.requests.append(("GET", url.path))
                if not self._authorized():
                    return
                if url.path != "/vectors/list":
                    self._answer(404, {"error": {"code": "NOT_FOUND", "message": url.path}})
                    return
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with fake.lock:
                    ids = sorted(
                        i
                        for i in fake.namespaces.get(query.get("namespace", ""), {})
                        if i.startswith(query.get("prefix", ""))
                    )
                start = int(query.get("paginationToken") or 0)
                limit = int(query.get("limit") or PAGE)
                page = ids[start : start + limit]
                body: dict[str, Any] = {"vectors": [{"id": i} for i in page], "namespace": query.get("namespace", "")}
                if start + limit < len(ids):
                    body["pagination"] = {"next": str(start + limit)}
                body["usage"] = {"readUnits": 1}
                self._answer(200, body)

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                fake.requests.append(("POST", url.path))
                if not self._authorized():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                namespace = body.get("namespace") or ""
                with fake.lock:
                    space = fake.namespaces.setdefault(namespace, {})
                    if url.path == "/vectors/upsert":
                        for vector in body["vectors"]:
                            space[vector["id"]] = vector
                        self._answer(200, {"upsertedCount": len(body["vectors"])})
                    elif url.path == "/vectors/delete":
                        if body.get("deleteAll"):
                            space.clear()
                        for i in body.get("ids") or []:
                            space.pop(i, None)
                        self._answer(200, {})
                    elif url.path == "/query":
                        self._answer(200, fake.query(space, body, namespace))
                    else:
                        self._answer(404, {"error": {"code": "NOT_FOUND", "message": url.path}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def query(self, space: dict[str, dict[str, Any]], body: dict[str, Any], namespace: str) -> dict[str, Any]:
        wanted = check_filter(body.get("filter"))
        q = body["vector"]
        scored = []
        for vector in space.values():
            metadata = vector.get("metadata") or {}
            if wanted and not matches(metadata, wanted):
                continue
            scored.append((_cosine(q, vector["values"]), vector))
        scored.sort(key=lambda pair: -pair[0])
        found = [
            {
                "id": v["id"],
                "score": s,
                **({"metadata": v.get("metadata") or {}} if body.get("includeMetadata") else {}),
            }
            for s, v in scored[: body["topK"]]
        ]
        return {"matches": found, "namespace": namespace, "usage": {"readUnits": 5}}

    def __enter__(self) -> FakePinecone:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
