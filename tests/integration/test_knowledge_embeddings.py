"""A knowledge base on a provider's embedding model: LiteLLM's embedding API with the workspace's
`llm_provider` key, through the outbound guard and the workspace's allow-list, priced from LiteLLM's table.
The provider is a real HTTP server on 127.0.0.1 speaking OpenAI's `/v1/embeddings`."""

from __future__ import annotations

import json
import math
import threading
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api

pytestmark = pytest.mark.integration
DIMS = 1536


def bag_of_words(text: str) -> list[float]:
    """A deterministic embedding: shared words make vectors close."""
    vector = [0.0] * DIMS
    for word in text.lower().replace(".", " ").replace("?", " ").split():
        vector[zlib.crc32(word.encode()) % DIMS] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class EmbeddingServer:
    def __init__(self) -> None:
        self.authorizations: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.authorizations.append(self.headers.get("Authorization", ""))
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                answer = {
                    "object": "list",
                    "model": body["model"],
                    "data": [
                        {"object": "embedding", "index": i, "embedding": bag_of_words(t)} for i, t in enumerate(texts)
                    ],
                    "usage": {
                        "prompt_tokens": 1000 * sum(len(t.split()) for t in texts),
                        "total_tokens": 1000 * sum(len(t.split()) for t in texts),
                    },
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def provider() -> Iterator[EmbeddingServer]:
    server = EmbeddingServer()
    yield server
    server.http.shutdown()
    server.http.server_close()


def test_a_provider_model_embeds_with_the_workspace_key_and_is_priced(
    alice: Api, stack: LocalStack, provider: EmbeddingServer
):
    # Given a workspace with an openai key whose endpoint is allow-listed, and a knowledge base on its model
    ws = alice.ok("POST", "/v1/workspaces", {"name": f"emb-{uuid.uuid4().hex[:6]}"})["id"]
    key = f"sk-workspace-{uuid.uuid4().hex[:8]}"
    alice.ok(
        "POST",
        f"/v1/workspaces/{ws}/credentials",
        {
            "name": "openai",
            "type": "llm_provider",
            "value": {"provider": "openai", "key": key, "base_url": f"http://{provider.host}/v1"},
        },
    )
    kb = alice.ok(
        "POST",
        f"/v1/workspaces/{ws}/knowledge-bases",
        {
            "name": "provider",
            "embedding_model": "openai/text-embedding-3-small",
        },
    )
    assert kb["dimensions"] == DIMS
    path = f"/v1/workspaces/{ws}/knowledge-bases/{kb['id']}"
    # When the allow-list does not name the endpoint, Then the guard refuses the connection
    code, answer = alice.post(path + "/documents", {"name": "a.txt", "content": "red apples grow on trees"})
    assert code == 422 and answer["error"]["code"] == "blocked_destination", answer
    # When it does
    alice.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": [provider.host]})
    doc = alice.ok("POST", path + "/documents", {"name": "a.txt", "content": "red apples grow on trees"})
    alice.ok("POST", path + "/documents", {"name": "b.txt", "content": "quarterly taxes are due in april"})
    found = alice.ok("POST", path + "/query", {"text": "when are taxes due?", "top_k": 2})
    # Then the documents were embedded with the workspace's key, priced, and found by their words
    assert provider.authorizations and set(provider.authorizations) == {f"Bearer {key}"}
    assert doc["embedding_tokens"] == 5000 and doc["embedding_cost_usd"] > 0
    assert found["matches"][0]["metadata"]["document"] == "b.txt" and found["cost_usd"] > 0
    assert key not in json.dumps(found)
    # And what the embeddings cost counts toward the workspace's monthly spend (the budget's counter)
    docs = alice.ok("GET", path + "/documents")["items"]
    spent = alice.ok("GET", f"/v1/workspaces/{ws}/budget")["month_to_date_usd"]
    assert spent == pytest.approx(sum(d["embedding_cost_usd"] for d in docs) + found["cost_usd"], rel=1e-6)
