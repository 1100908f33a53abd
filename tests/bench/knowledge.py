"""Knowledge-base query latency at 10,000 chunks on pgvector (issue 10; aim: median under 50 ms locally).

Embedded PostgreSQL 16 with pgvector 0.8, the chunks of one knowledge base embedded by the offline model
(wordllama, 256 dimensions) and stored through `PgVectorStore`, which the HNSW index of migration 0015
serves. Measured: the store's query alone, and the whole search as the API and `rag_search` run it (the
query's embedding included). Recall is checked against an exact search over the same vectors.

    python -m tests.bench.knowledge [--chunks 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

TOPICS = [
    "invoice",
    "refund",
    "shipping",
    "password",
    "vacation",
    "printer",
    "salary",
    "contract",
    "laptop",
    "meeting",
    "security",
    "backup",
    "customer",
    "warehouse",
    "recipe",
    "garden",
    "football",
    "volcano",
    "planet",
    "piano",
]
VERBS = ["explains", "describes", "lists", "summarises", "compares", "questions", "updates", "reviews"]
DETAILS = [
    "for the finance team",
    "after the outage",
    "in the northern region",
    "before the holidays",
    "for new staff",
    "with photos",
    "in three steps",
    "for managers",
    "during the audit",
    "for the mobile app",
]


def sentence(rng: random.Random) -> str:
    a, b = rng.sample(TOPICS, 2)
    return f"This note {rng.choice(VERBS)} the {a} policy and the {b} process {rng.choice(DETAILS)}, item {rng.randint(1, 99999)}."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from nexod.adapters.embeddings_wordllama import WordLlamaEmbedder
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.adapters.vectors_pgvector import PgVectorStore
    from nexod.domain.records import KnowledgeBase
    from nexod.local import pg
    from nexod.ports import ChunkVector, Namespace
    from nexod.runtime.knowledge import KnowledgeEngine

    rng = random.Random(10)
    embedder = WordLlamaEmbedder()
    with tempfile.TemporaryDirectory(prefix="nexod-bench-kb-") as tmp:
        server = pg.start(Path(tmp) / "pg")
        db = Database(server.app_url, max_size=2)
        store = PostgresStore(db)
        try:
            ws = str(uuid.uuid4())
            with store.tx(ws, "bench") as uow:
                uow.workspaces.create("bench", "bench")
            kb = KnowledgeBase(
                id=str(uuid.uuid4()),
                name="bench",
                description="",
                embedding_model="wordllama",
                dimensions=256,
                store="pgvector",
                pinecone=None,
                created_by="bench",
                created_at=None,  # type: ignore[arg-type]
            )
            vectors = PgVectorStore(db)
            namespace = Namespace(ws, kb.id)
            texts = [sentence(rng) for _ in range(args.chunks)]
            started = time.perf_counter()
            embedded = embedder.embed("wordllama", texts).vectors
            embed_s = time.perf_counter() - started
            started = time.perf_counter()
            for start in range(0, len(texts), 1000):
                vectors.upsert(
                    namespace,
                    [
                        ChunkVector(f"doc{n // 20}#{n % 20}", f"doc{n // 20}", texts[n], embedded[n], {"n": n % 10})
                        for n in range(start, min(start + 1000, len(texts)))
                    ],
                )
            upsert_s = time.perf_counter() - started
            import psycopg

            with psycopg.connect(server.admin_url, autocommit=True) as admin:  # only the owner may ANALYZE
                admin.execute("ANALYZE knowledge_chunks")  # what autovacuum does after a bulk load
            engine = KnowledgeEngine(embedder=lambda: embedder, pgvector=lambda: vectors)
            questions = [sentence(rng) for _ in range(args.queries)]
            q_vectors = embedder.embed("wordllama", questions).vectors
            for q in q_vectors[:10]:  # warm-up: index pages in the buffer cache, connections open
                vectors.query(namespace, q, args.top_k)
            store_ms, search_ms, recall = [], [], []
            matrix = np.array(embedded, dtype=np.float32)
            for question, q in zip(questions, q_vectors, strict=True):
                t0 = time.perf_counter()
                found = vectors.query(namespace, q, args.top_k)
                store_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                engine.search(ws, kb, question, args.top_k)
                search_ms.append((time.perf_counter() - t0) * 1000)
                exact = np.argsort(-(matrix @ np.array(q, dtype=np.float32)))[: args.top_k]
                exact_ids = {f"doc{n // 20}#{n % 20}" for n in exact.tolist()}
                recall.append(len(exact_ids & {m.id for m in found}) / args.top_k)
            with db.tenant(ws) as conn:
                plan = conn.execute(
                    "EXPLAIN SELECT id FROM knowledge_chunks WHERE workspace_id = %s AND namespace = %s AND dims = 256"
                    " ORDER BY embedding::vector(256) <=> %s::vector(256) LIMIT 5",
                    (ws, kb.id, str(q_vectors[0])),
                ).fetchall()
            uses_hnsw = any("knowledge_chunks_hnsw_256" in str(row) for row in plan)
        finally:
            db.close()
            server.stop()

    def line(label: str, values: list[float]) -> str:
        values = sorted(values)
        p95 = values[int(len(values) * 0.95) - 1]
        return f"  {label:52}median {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms"

    print(
        f"\nKnowledge-base query, {args.chunks:,} chunks on pgvector (256 dims, cosine; {args.queries} queries,"
        f" top {args.top_k}; aim: median under 50 ms)"
    )
    print(f"  index: {'HNSW (knowledge_chunks_hnsw_256)' if uses_hnsw else 'NOT the HNSW index: check the plan'}")
    print(line("store only (PgVectorStore.query)", store_ms))
    print(line("search incl. the query's embedding (wordllama)", search_ms))
    print(f"  {'recall@' + str(args.top_k) + ' against exact search':52}{statistics.mean(recall):.3f}")
    print(f"  (setup: embedding {args.chunks:,} chunks {embed_s:.1f} s, storing them {upsert_s:.1f} s)")


if __name__ == "__main__":
    main()
