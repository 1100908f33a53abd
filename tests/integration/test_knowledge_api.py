"""Knowledge bases through the API, end to end on the local stack: the offline embedding model (wordllama),
pgvector in the embedded PostgreSQL, and Pinecone through its SDK against the local fake of its REST API."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.support.documents import pdf_with_text
from tests.support.fake_pinecone import FakePinecone

pytestmark = pytest.mark.integration

CATS = "Cats are small domesticated felines. A cat purrs, hunts mice and sleeps most of the day."
TAXES = "Quarterly tax filings are due to the revenue office; late returns pay interest and penalties."
RECIPE_HTML = (
    "<html><head><title>Bread</title><script>var tracking = 1;</script></head><body><nav>Home | About</nav>"
    "<article><h1>Sourdough bread</h1><p>Knead the dough, let it rise overnight and bake the loaf in a hot"
    " oven until the crust is brown.</p></article><footer>Copyright</footer></body></html>"
)


def kb_path(ws: str, kb: str = "") -> str:
    return f"/v1/workspaces/{ws}/knowledge-bases" + (f"/{kb}" if kb else "")


@pytest.fixture
def kb(alice: Api, demo_ws: str) -> str:
    created = alice.ok("POST", kb_path(demo_ws), {"name": f"handbook-{uuid.uuid4().hex[:8]}"})
    return str(created["id"])


def add(api: Api, ws: str, kb: str, name: str, **body: object) -> tuple[int, dict[str, object]]:
    return api.post(kb_path(ws, kb) + "/documents", {"name": name, **body})


def test_documents_of_every_type_are_chunked_embedded_and_found_by_meaning(alice: Api, demo_ws: str, kb: str):
    # Given a knowledge base on the offline model, with a text, a markdown, an HTML and a PDF document
    status, text_doc = add(alice, demo_ws, kb, "cats.txt", content=CATS, metadata={"topic": "pets", "year": 2025})
    assert status == 201, text_doc
    assert text_doc["chunks"] == 1 and text_doc["embedding_cost_usd"] == 0.0 and text_doc["size_bytes"] == len(CATS)
    assert (
        add(
            alice,
            demo_ws,
            kb,
            "taxes.md",
            content=f"# Taxes\n\n{TAXES}",
            content_type="text/markdown",
            metadata={"topic": "money", "year": 2024},
        )[0]
        == 201
    )
    assert add(alice, demo_ws, kb, "bread.html", content=RECIPE_HTML, content_type="text/html")[0] == 201
    pdf = base64.b64encode(pdf_with_text("Volcanoes erupt lava and ash.", "Magma rises from the mantle.")).decode()
    status, pdf_doc = add(alice, demo_ws, kb, "volcano.pdf", content_base64=pdf, content_type="application/pdf")
    assert status == 201, pdf_doc

    # When the knowledge base is queried in other words
    def top(text: str, **extra: object) -> list[dict[str, object]]:
        answer = alice.ok("POST", kb_path(demo_ws, kb) + "/query", {"text": text, "top_k": 4, **extra})
        assert answer["model"] == "wordllama" and answer["cost_usd"] == 0.0
        return list(answer["matches"])

    # Then the chunk with that meaning comes first, with its document, score and metadata
    pets = top("kitten purring pet")
    assert pets[0]["document_id"] == text_doc["id"] and "purrs" in pets[0]["text"]
    assert pets[0]["metadata"] == {"topic": "pets", "year": 2025, "document": "cats.txt", "chunk": 0}
    assert pets[0]["score"] > pets[1]["score"]
    assert "lava" in top("eruption of a volcano")[0]["text"]  # the PDF's text layer
    bread = top("baking a loaf of bread")[0]["text"]
    assert "oven" in bread and "tracking" not in bread and "Copyright" not in bread  # the article, not the page
    # And a metadata filter keeps only what matches
    assert [m["metadata"]["topic"] for m in top("kitten purring pet", filter={"year": {"$lt": 2025}})] == ["money"]
    # And the listing and the knowledge base's counts show the four documents
    docs = alice.ok("GET", kb_path(demo_ws, kb) + "/documents")
    assert sorted(d["name"] for d in docs["items"]) == ["bread.html", "cats.txt", "taxes.md", "volcano.pdf"]
    listed = {b["id"]: b for b in alice.ok("GET", kb_path(demo_ws))["items"]}
    assert (listed[kb]["documents"], listed[kb]["store"], listed[kb]["dimensions"]) == (4, "pgvector", 256)


def test_deleting_a_document_removes_it_from_answers(alice: Api, demo_ws: str, kb: str):
    _, cats = add(alice, demo_ws, kb, "cats.txt", content=CATS)
    add(alice, demo_ws, kb, "taxes.txt", content=TAXES)
    assert alice.delete(kb_path(demo_ws, kb) + f"/documents/{cats['id']}")[0] == 204
    found = alice.ok("POST", kb_path(demo_ws, kb) + "/query", {"text": "cat", "top_k": 5})["matches"]
    assert [m["metadata"]["document"] for m in found] == ["taxes.txt"]
    assert alice.delete(kb_path(demo_ws, kb) + f"/documents/{cats['id']}")[0] == 404


def test_long_documents_are_chunked_with_overlap(alice: Api, demo_ws: str, kb: str):
    sentences = [f"Sentence number {n} talks about topic {n % 7}." for n in range(200)]
    status, doc = add(alice, demo_ws, kb, "long.txt", content=" ".join(sentences))
    assert status == 201 and doc["chunks"] > 8
    found = alice.ok("POST", kb_path(demo_ws, kb) + "/query", {"text": "Sentence number 150", "top_k": 50})
    texts = [m["text"] for m in found["matches"]]
    assert len(texts) == doc["chunks"]
    # consecutive chunks share text: each chunk starts inside the previous one
    by_id = {m["id"]: m["text"] for m in found["matches"]}
    first, second = by_id[f"{doc['id']}#0"], by_id[f"{doc['id']}#1"]
    assert second[:40] in first


def test_viewers_read_and_query_members_write_and_outsiders_see_nothing(
    alice: Api, vera: Api, bob: Api, demo_ws: str, kb: str
):
    add(alice, demo_ws, kb, "cats.txt", content=CATS)
    assert vera.get(kb_path(demo_ws))[0] == 200
    assert vera.post(kb_path(demo_ws, kb) + "/query", {"text": "cat"})[0] == 200
    assert vera.get(kb_path(demo_ws, kb) + "/documents")[0] == 200
    assert add(vera, demo_ws, kb, "x.txt", content="x")[0] == 403
    assert vera.post(kb_path(demo_ws), {"name": "mine"})[0] == 403
    assert bob.get(kb_path(demo_ws))[0] == 404
    assert bob.post(kb_path(demo_ws, kb) + "/query", {"text": "cat"})[0] == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"content": "x" * (1024 * 1024 + 1)}, 413, "content"),
        ({"content": "   "}, 422, "content"),
        ({"content": "a", "content_base64": "YQ=="}, 422, "content"),
        ({"content_base64": "not base64!"}, 422, "content_base64"),
        (
            {"content_base64": base64.b64encode(b"%PDF-1.4 garbage").decode(), "content_type": "application/pdf"},
            422,
            "content",
        ),
        ({"content": "a", "content_type": "image/png"}, 422, "content_type"),
        ({"content": "a", "metadata": {"nested": {"a": 1}}}, 422, "metadata.nested"),
        ({"content": "a", "metadata": {"$bad": 1}}, 422, "metadata.$bad"),
    ],
)
def test_bad_documents_are_refused_naming_the_field(
    alice: Api, demo_ws: str, kb: str, body: dict[str, object], status: int, field: str
):
    code, answer = add(alice, demo_ws, kb, "bad", **body)
    assert code == status, answer
    assert field in str(answer["error"])


def test_bad_queries_and_knowledge_bases_are_refused(alice: Api, demo_ws: str, kb: str):
    query = kb_path(demo_ws, kb) + "/query"
    code, answer = alice.post(query, {"text": "x", "filter": {"year": {"$regex": "x"}}})
    assert code == 422 and "filter.year.$regex" in answer["error"]["message"]
    assert alice.post(query, {"text": "x", "top_k": 51})[0] == 422
    assert alice.post(kb_path(demo_ws, str(uuid.uuid4())) + "/query", {"text": "x"})[0] == 404
    name = f"dup-{uuid.uuid4().hex[:6]}"
    assert alice.post(kb_path(demo_ws), {"name": name})[0] == 201
    assert alice.post(kb_path(demo_ws), {"name": name})[0] == 409
    code, answer = alice.post(kb_path(demo_ws), {"name": "x1", "embedding_model": "acme/embedder"})
    assert code == 422 and "dimensions" in answer["error"]["message"]
    code, answer = alice.post(kb_path(demo_ws), {"name": "x2", "store": "pinecone"})
    assert code == 422 and "pinecone" in answer["error"]["message"]


@pytest.fixture
def pinecone_server(stack: LocalStack) -> Iterator[FakePinecone]:
    with FakePinecone(api_key="pc-secret-123") as server:
        services = stack.platform.services
        saved = services.pinecone_hosts
        services.pinecone_hosts = (server.host,)
        yield server
        services.pinecone_hosts = saved


def test_a_pinecone_knowledge_base_uses_its_credential_and_one_namespace(
    alice: Api, demo_ws: str, pinecone_server: FakePinecone
):
    # Given an api_key credential with the Pinecone key, and a knowledge base on Pinecone
    cred = f"pinecone{uuid.uuid4().hex[:6]}"
    assert (
        alice.post(
            f"/v1/workspaces/{demo_ws}/credentials",
            {"name": cred, "type": "api_key", "value": {"key": "pc-secret-123"}},
        )[0]
        == 201
    )
    code, created = alice.post(
        kb_path(demo_ws),
        {
            "name": f"pc-{cred}",
            "store": "pinecone",
            "pinecone": {"index_host": pinecone_server.host, "credential": cred},
        },
    )
    assert code == 201, created
    kb = str(created["id"])
    # When documents are added and the knowledge base is queried
    add(alice, demo_ws, kb, "cats.txt", content=CATS)
    add(alice, demo_ws, kb, "taxes.txt", content=TAXES)
    found = alice.ok("POST", kb_path(demo_ws, kb) + "/query", {"text": "kitten", "top_k": 2})["matches"]
    # Then the chunks live in Pinecone, in the namespace of this workspace and knowledge base only
    assert "purrs" in found[0]["text"]
    assert set(pinecone_server.namespaces) == {f"{demo_ws}.{kb}"}
    # And a host that is not Pinecone's is refused
    code, answer = alice.post(
        kb_path(demo_ws),
        {"name": "evil", "store": "pinecone", "pinecone": {"index_host": "http://169.254.169.254", "credential": cred}},
    )
    assert code == 422 and "index_host" in answer["error"]["message"]


class InProcessLambda:
    """A Lambda client whose `invoke` runs the LLM runner's handler body in this process (JSON both ways)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        from functions.steps import llm_runner

        event = json.loads(Payload)
        self.calls.append(event)
        answer = llm_runner.knowledge_event(event["knowledge"])
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


@pytest.fixture
def through_lambda(stack: LocalStack) -> Iterator[InProcessLambda]:
    from nexod.adapters.knowledge_lambda import LambdaKnowledgeWorker

    client = InProcessLambda()
    services = stack.platform.services
    saved = services.knowledge
    services.knowledge = LambdaKnowledgeWorker(client, "arn:aws:lambda:us-east-1:123456789012:function:llm-runner")
    yield client
    services.knowledge = saved


def test_in_aws_the_api_asks_the_llm_runner_and_gets_the_same_answers(
    alice: Api, demo_ws: str, kb: str, through_lambda: InProcessLambda
):
    # Given the API's knowledge worker is the LLM runner function (as in AWS)
    # When a PDF is added, the knowledge base searched and the document deleted through the API
    pdf = base64.b64encode(pdf_with_text("Glaciers carve valleys over millennia.")).decode()
    status, doc = add(alice, demo_ws, kb, "ice.pdf", content_base64=pdf, content_type="application/pdf")
    assert status == 201, doc
    found = alice.ok("POST", kb_path(demo_ws, kb) + "/query", {"text": "ice sheets shaping land", "top_k": 1})
    # Then the runner did the work: ingest and search requests named the workspace and knowledge base by id
    assert "Glaciers" in found["matches"][0]["text"] and found["model"] == "wordllama"
    assert [c["knowledge"]["op"] for c in through_lambda.calls] == ["ingest", "search"]
    assert {c["knowledge"]["kb"] for c in through_lambda.calls} == {kb}
    # And its refusals come back as the same API errors
    code, answer = add(
        alice, demo_ws, kb, "empty.html", content="<html><script>x()</script></html>", content_type="text/html"
    )
    assert code == 422 and answer["error"]["details"] == {"field": "content"}
    assert alice.delete(kb_path(demo_ws, kb) + f"/documents/{doc['id']}")[0] == 204
    assert through_lambda.calls[-1]["knowledge"]["op"] == "forget"
