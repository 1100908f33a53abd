"""Benchmark: what appending run events costs parallel writers, with and without NOTIFY, and one read.

    python -m tests.bench.events

48 threads (a fan-out's branches) each commit short transactions that append one event, as a node
finish does; measured as is and with `pg_notify` in the same transaction (what LISTEN/NOTIFY wake-ups
would need: PostgreSQL serialises committing transactions that notified on one global queue lock). Then the
cost of one long-poll read (`EventLog.after`) of a run with 100 events.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

THREADS = 48
PER_THREAD = 40


def main() -> None:
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.domain.actor import UserActor
    from nexod.local import pg

    with tempfile.TemporaryDirectory(prefix="nexod-bench-events-") as tmp:
        postgres = pg.start(Path(tmp) / "pg")
        try:
            store = PostgresStore(Database(postgres.app_url, max_size=THREADS + 2))
            ws = str(uuid.uuid4())
            with store.tx(ws, "bench") as uow:
                uow.workspaces.create("bench", "bench")
                definition = {"nodes": [{"id": "start", "type": "input", "config": {}}], "edges": []}
                flow = uow.flows.create("f", "", definition)
                uow.versions.add(flow.id, 1, definition, {}, "h", "arn:v1", "")
                run_id = uow.runs.create(flow.id, 1, {}, "manual", UserActor("bench")).id

            def writers(notify: bool) -> float:
                def work(n: int) -> None:
                    for i in range(PER_THREAD):
                        with store.tx(ws) as uow:
                            uow.events.append(run_id, "node.succeeded", f"n{n}", i)
                            if notify:
                                uow.conn.execute("SELECT pg_notify('nexod_events', %s)", (ws,))  # type: ignore[attr-defined]

                threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
                t0 = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return (time.perf_counter() - t0) / (THREADS * PER_THREAD)

            for label, notify in (("append", False), ("append + NOTIFY", True), ("append", False)):
                per = writers(notify)
                print(f"  {label:18} {THREADS} threads: {per * 1e6:7.0f} µs per committed event ({1 / per:6.0f}/s)")
            reads = []
            with store.tx(ws) as uow:
                first = uow.events.after(None, run_id, limit=1)[0].cursor
            for _ in range(200):
                t0 = time.perf_counter()
                with store.tx(ws) as uow:
                    uow.events.after(first, run_id, limit=100)
                reads.append(time.perf_counter() - t0)
            print(
                f"  one read of 100 events after a cursor (a long-poll tick): median {statistics.median(reads) * 1000:.2f} ms"
            )
            quiet = []
            with store.tx(ws) as uow:
                last = uow.events.after(None, run_id, limit=100_000)[-1].cursor
            for _ in range(200):
                t0 = time.perf_counter()
                with store.tx(ws) as uow:
                    uow.events.after(last, run_id, limit=100)
                quiet.append(time.perf_counter() - t0)
            print(f"  one empty read (nothing new): median {statistics.median(quiet) * 1000:.2f} ms")
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
