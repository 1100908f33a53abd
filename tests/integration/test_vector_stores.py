"""One contract for every `VectorStore`: pgvector on the embedded PostgreSQL, and Pinecone through the real
`pinecone` SDK against a local fake of its REST API (the real service cannot be reached from here)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

import pytest

from nexod.adapters.postgres import PostgresStore
from nexod.adapters.vectors_pgvector import PgVectorStore
from nexod.adapters.vectors_pinecone import PineconeVectorStore
from nexod.domain.knowledge import check_filter
from nexod.local.boot import LocalStack
from nexod.ports import ChunkVector, Namespace, VectorStore, VectorStoreUnavailable
from tests.support.fake_pinecone import FakePinecone

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pinecone_server() -> Iterator[FakePinecone]:
    with FakePinecone() as server:
        yield server


@pytest.fixture(params=["pgvector", "pinecone"])
def vectors(request: pytest.FixtureRequest) -> VectorStore:
    if request.param == "pgvector":
        stack: LocalStack = request.getfixturevalue("stack")
        store = stack.platform.services.store
        assert isinstance(store, PostgresStore)
        return PgVectorStore(store.db)
    server: FakePinecone = request.getfixturevalue("pinecone_server")
    return PineconeVectorStore.connect(server.host, server.api_key)


@pytest.fixture
def workspace(stack: LocalStack) -> str:
    ws = str(uuid.uuid4())
    with stack.platform.services.store.tx(ws, "ann") as uow:
        uow.workspaces.create("vectors", "ann")
    return ws


def unit(angle_degrees: float) -> list[float]:
    """A 4-dimension unit vector at an angle in the first plane: similarity is the angle's cosine."""
    a = math.radians(angle_degrees)
    return [math.cos(a), math.sin(a), 0.0, 0.0]


def chunk(doc: str, n: int, angle: float, **metadata: object) -> ChunkVector:
    return ChunkVector(
        id=f"{doc}#{n}", document_id=doc, text=f"{doc} part {n}", embedding=unit(angle), metadata=metadata
    )


def test_the_nearest_chunks_come_first_with_their_text_score_and_metadata(vectors: VectorStore, workspace: str):
    # Given chunks at 0, 30 and 90 degrees from the query
    ns = Namespace(workspace, "kb-1")
    vectors.upsert(ns, [chunk("a", 0, 90, lang="en"), chunk("a", 1, 0, lang="en"), chunk("b", 0, 30, lang="de")])
    # When the store is queried for the two nearest
    found = vectors.query(ns, unit(0), 2)
    # Then the closest comes first, scored by cosine similarity, with its document, text and metadata
    assert [m.id for m in found] == ["a#1", "b#0"]
    assert found[0].score == pytest.approx(1.0, abs=1e-3)
    assert found[1].score == pytest.approx(math.cos(math.radians(30)), abs=1e-3)
    assert (found[0].document_id, found[0].text, found[0].metadata) == ("a", "a part 1", {"lang": "en"})


def test_upserting_the_same_id_replaces_the_chunk(vectors: VectorStore, workspace: str):
    ns = Namespace(workspace, "kb-1")
    vectors.upsert(ns, [chunk("a", 0, 0, v=1)])
    vectors.upsert(ns, [ChunkVector(id="a#0", document_id="a", text="new text", embedding=unit(10), metadata={"v": 2})])
    found = vectors.query(ns, unit(0), 5)
    assert [(m.id, m.text, m.metadata) for m in found] == [("a#0", "new text", {"v": 2})]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"lang": "en"}, ["en1", "en2"]),
        ({"lang": {"$ne": "en"}}, ["de", "none"]),
        ({"lang": {"$in": ["de", "fr"]}}, ["de"]),
        ({"lang": {"$nin": ["de"]}}, ["en1", "en2", "none"]),
        ({"year": {"$gte": 2024}}, ["en2", "de"]),
        ({"year": {"$lt": 2024}}, ["en1"]),
        ({"tags": "faq"}, ["en1", "de"]),  # a list field matches when it holds the value
        ({"tags": {"$in": ["faq", "x"]}, "lang": "de"}, ["de"]),  # every field must match
        ({"public": True}, ["en2"]),  # booleans are not numbers
        ({"year": 2023}, ["en1"]),  # 2023 and 2023.0 are the same number
    ],
)
def test_metadata_filters_mean_the_same_in_every_store(
    vectors: VectorStore, workspace: str, condition: dict[str, object], expected: list[str]
):
    # Given four chunks with different metadata (one with none), at increasing angles
    ns = Namespace(workspace, "filters")
    vectors.upsert(
        ns,
        [
            ChunkVector("en1", "d", "t", unit(1), {"lang": "en", "year": 2023.0, "tags": ["faq", "a"], "public": 1}),
            ChunkVector("en2", "d", "t", unit(2), {"lang": "en", "year": 2025, "tags": ["b"], "public": True}),
            ChunkVector("de", "d", "t", unit(3), {"lang": "de", "year": 2024, "tags": ["faq"]}),
            ChunkVector("none", "d", "t", unit(4), {}),
        ],
    )
    # When queried with the filter, Then exactly the matching chunks come back, nearest first
    found = vectors.query(ns, unit(0), 10, check_filter(condition))
    assert [m.id for m in found] == expected


def test_deleting_a_document_removes_its_chunks_only(vectors: VectorStore, workspace: str):
    ns = Namespace(workspace, "kb-del")
    vectors.upsert(ns, [chunk("doc1", n, n) for n in range(150)] + [chunk("doc10", 0, 5), chunk("doc2", 0, 1)])
    vectors.delete_document(ns, "doc1")
    found = vectors.query(ns, unit(0), 50)
    assert sorted(m.id for m in found) == ["doc10#0", "doc2#0"]  # `doc1` is not a prefix of `doc10`'s ids


def test_namespaces_and_workspaces_do_not_see_each_other(vectors: VectorStore, workspace: str, stack: LocalStack):
    other_ws = str(uuid.uuid4())
    with stack.platform.services.store.tx(other_ws, "bob") as uow:
        uow.workspaces.create("other", "bob")
    vectors.upsert(Namespace(workspace, "kb-a"), [chunk("a", 0, 0)])
    vectors.upsert(Namespace(workspace, "kb-b"), [chunk("b", 0, 0)])
    vectors.upsert(Namespace(other_ws, "kb-a"), [chunk("x", 0, 0)])
    assert [m.id for m in vectors.query(Namespace(workspace, "kb-a"), unit(0), 10)] == ["a#0"]
    assert [m.id for m in vectors.query(Namespace(other_ws, "kb-a"), unit(0), 10)] == ["x#0"]
    vectors.drop(Namespace(workspace, "kb-a"))
    assert vectors.query(Namespace(workspace, "kb-a"), unit(0), 10) == []
    assert [m.id for m in vectors.query(Namespace(workspace, "kb-b"), unit(0), 10)] == ["b#0"]


def test_pinecone_with_a_wrong_key_is_unavailable_and_does_not_say_the_key(pinecone_server: FakePinecone):
    store = PineconeVectorStore.connect(pinecone_server.host, "wrong-secret-key")
    with pytest.raises(VectorStoreUnavailable) as raised:
        store.query(Namespace("w", "k"), unit(0), 3)
    assert "401" in str(raised.value) and "wrong-secret-key" not in str(raised.value)


def test_pgvector_keeps_chunks_under_row_level_security(stack: LocalStack, workspace: str):
    store = stack.platform.services.store
    assert isinstance(store, PostgresStore)
    PgVectorStore(store.db).upsert(Namespace(workspace, "kb"), [chunk("a", 0, 0)])
    with store.db.tenant(None) as conn:  # a transaction without a workspace
        assert conn.execute("SELECT count(*) AS n FROM knowledge_chunks").fetchone() == {"n": 0}
    with store.db.tenant(workspace) as conn:
        assert conn.execute("SELECT count(*) AS n FROM knowledge_chunks").fetchone() == {"n": 1}
