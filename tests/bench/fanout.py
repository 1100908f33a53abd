"""Benchmark: a 50-node fan-out/fan-in flow of no-op nodes, end to end, against LangGraph.

    make bench        (python -m tests.bench.fanout [--runs 20])

Nexod: the flow is created and published through the HTTP API of the local stack; each run is started
with POST .../runs and watched through its event stream (GET .../runs/{id}/events, long-polled) until it
ends, so the number includes the API,
moto's Step Functions interpreter running the compiled ASL (one Parallel of 48 branches), 51 node-runner
invocations and their Postgres writes. Peer: LangGraph with its Postgres checkpointer (PostgresSaver)
running the same DAG (start -> 48 parallel nodes -> end) on the same embedded PostgreSQL server.

The two are measured interleaved: run i of Nexod, then run i of LangGraph (the order swapped every other
pair), each followed by the same short pause, so that both see the same moments of a shared machine (measured
one after the other, the ratio moved by a whole unit with the load of the minute). Time per run is one run's
latency from start to its observed end; CPU per run is this process's and PostgreSQL's CPU over each run and
its pause (what a run leaves running in the background is counted there). Both are also run alone, back to
back without the pause, and their medians printed.
"""

from __future__ import annotations

import argparse
import operator
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

WIDTH = 48  # + input + output = 50 nodes
RUN_ENDS = ("run.succeeded", "run.failed", "run.cancelled")


@dataclass
class Timings:
    """Wall time of each measured run, and the CPU they took in this process and in PostgreSQL.

    On a shared machine the wall times move with everyone else's load (a single-threaded client loses
    more of them than Nexod's many threads do), while the CPU a run costs barely does: compare both.
    """

    wall: list[float]
    cpu: float  # seconds per run: this process (API, moto, node runner or LangGraph) + PostgreSQL
    pg_cpu: float | None  # of which PostgreSQL, when /proc can tell
    sessions: float | None = None  # new PostgreSQL connections per run (pg_stat_database.sessions)


def _postgres_cpu(pgdata: str) -> float | None:
    """CPU seconds of the postmaster and its backends so far (exited backends count in its children's time)."""
    try:
        postmaster = int((Path(pgdata) / "postmaster.pid").read_text().splitlines()[0])
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == postmaster:  # utime, stime, cutime, cstime
                total += sum(int(f) for f in fields[11:15])
            elif ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / tick
    except (OSError, ValueError, IndexError):  # not Linux, or the server is gone
        return None


def _sessions(admin_url: str) -> tuple[int, int]:
    """Connections ever opened to the database and transactions committed in it. Backends report them at
    most once a second, so wait."""
    import psycopg

    time.sleep(1.5)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SET stats_fetch_consistency = none")
        row = conn.execute(
            "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0]) - 1, int(row[1])  # not this connection


class _CpuMeter:
    def __init__(self, pgdata: str, admin_url: str | None = None) -> None:
        self.pgdata = pgdata
        self.admin_url = admin_url
        self.opened, self.committed = _sessions(admin_url) if admin_url else (None, None)
        self.process = time.process_time()
        self.pg = _postgres_cpu(pgdata)

    def sessions_per_run(self, runs: int) -> float | None:
        if self.admin_url is None or self.opened is None:
            return None
        return (_sessions(self.admin_url)[0] - self.opened) / runs

    def commits_per_run(self, runs: int) -> float | None:
        """Transactions committed per run (the meter's own reads count a few)."""
        if self.admin_url is None or self.committed is None:
            return None
        return (_sessions(self.admin_url)[1] - self.committed) / runs

    def per_run(self, runs: int) -> tuple[float, float | None]:
        process = time.process_time() - self.process
        pg_now = _postgres_cpu(self.pgdata)
        pg = None if pg_now is None or self.pg is None else pg_now - self.pg
        return (process + (pg or 0.0)) / runs, None if pg is None else pg / runs


def nexod_flow() -> dict[str, Any]:
    nodes = [{"id": "start", "type": "input", "config": {}}]
    nodes += [{"id": f"n{i}", "type": "transform", "config": {"expression": "`1`"}} for i in range(WIDTH)]
    nodes.append({"id": "result", "type": "output", "config": {"value": "done"}})
    edges = [{"from": "start", "to": f"n{i}"} for i in range(WIDTH)]
    edges += [{"from": f"n{i}", "to": "result"} for i in range(WIDTH)]
    return {"nodes": nodes, "edges": edges}


SETTLE_SECONDS = 0.1  # after every measured run of either system, inside its CPU window
STATS_DELAY_SECONDS = 10.5  # PostgreSQL's idle backends report their counters within 10 s (PGSTAT_IDLE_INTERVAL)


class NexodFanout:
    """The flow published on a local stack; `run` starts it through the API and follows its event stream."""

    def __init__(self, stack: Any) -> None:
        from tests.support.api import Api

        self.stack = stack
        self.api = Api(stack.url, stack.platform.issuer.token("alice"))
        self.ws = self.api.ok("POST", "/v1/workspaces", {"name": "bench"})["id"]
        definition = {"name": "fanout", "definition": nexod_flow()}
        self.flow = self.api.ok("POST", f"/v1/workspaces/{self.ws}/flows", definition)
        self.api.ok("POST", f"/v1/workspaces/{self.ws}/flows/{self.flow['id']}/versions", {})

    def run(self) -> None:
        api, ws = self.api, self.ws
        status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{self.flow['id']}/runs", {"input": {}})
        assert status == 202, started
        # Watched as a client would: the run's event stream, long-polled until the run ends.
        events, cursor = f"/v1/workspaces/{ws}/runs/{started['id']}/events", "0"
        ended = None
        while ended is None:
            page = api.ok("GET", f"{events}?after={cursor}&wait=25&limit=500")
            cursor = page["cursor"]
            ended = next((e["type"] for e in page["items"] if e["type"] in RUN_ENDS), None)
        assert ended == "run.succeeded", api.ok("GET", f"/v1/workspaces/{ws}/runs/{started['id']}")


class LangGraphFanout:
    """The same DAG in LangGraph, checkpointed by PostgresSaver in the stack's PostgreSQL."""

    def __init__(self, admin_url: str) -> None:
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.graph import END, START, StateGraph

        builder: StateGraph[GraphState] = StateGraph(GraphState)

        def noop(_: GraphState) -> dict[str, list[int]]:
            return {"results": [1]}

        builder.add_node("start", noop)
        builder.add_node("result", noop)
        builder.add_edge(START, "start")
        for i in range(WIDTH):
            builder.add_node(f"n{i}", noop)
            builder.add_edge("start", f"n{i}")
        builder.add_edge([f"n{i}" for i in range(WIDTH)], "result")
        builder.add_edge("result", END)
        self._saver_context = PostgresSaver.from_conn_string(admin_url)
        saver = self._saver_context.__enter__()
        saver.setup()
        self.graph = builder.compile(checkpointer=saver)

    def run(self) -> None:
        out = self.graph.invoke({"results": []}, {"configurable": {"thread_id": str(uuid.uuid4())}})
        assert len(out["results"]) == WIDTH + 2

    def close(self) -> None:
        self._saver_context.__exit__(None, None, None)


def _measured(run: Callable[[], None], pgdata: str) -> tuple[float, float, float | None]:
    """Wall time of one run; CPU (process + PostgreSQL) and PostgreSQL's alone over the run and its pause."""
    pg0, cpu0 = _postgres_cpu(pgdata), time.process_time()
    t0 = time.perf_counter()
    run()
    wall = time.perf_counter() - t0
    time.sleep(SETTLE_SECONDS)
    cpu, pg1 = time.process_time() - cpu0, _postgres_cpu(pgdata)
    pg = None if pg0 is None or pg1 is None else pg1 - pg0
    return wall, cpu + (pg or 0.0), pg


def bench(state: Path, runs: int, warmup: int) -> tuple[Timings, Timings, list[float]]:
    """Nexod and LangGraph, interleaved; also the per-pair ratios (Nexod's wall / LangGraph's)."""
    from nexod.local.boot import boot

    stack = boot(state / "nexod", port=0, with_seed=False)
    peer: LangGraphFanout | None = None
    try:
        nexod = NexodFanout(stack)
        pgdata, admin_url = stack.platform.postgres.server.pgdata, stack.platform.postgres.admin_url
        peer = LangGraphFanout(admin_url)
        meter = _CpuMeter(pgdata, admin_url)
        nexod.run()
        print(f"  first run opened {meter.sessions_per_run(1):.0f} PostgreSQL connections")
        for _ in range(warmup):
            nexod.run()
            peer.run()
        measured: dict[str, list[tuple[float, float, float | None]]] = {"nexod": [], "peer": []}
        for i in range(runs):
            order = (("nexod", nexod.run), ("peer", peer.run))
            for name, run in order if i % 2 == 0 else order[::-1]:
                measured[name].append(_measured(run, pgdata))
        # Each alone, back to back without the pause, right after (the table's numbers are the interleaved
        # ones): were the peer's runs slowed by Nexod's, and what do Nexod's cost when each starts while the
        # work the previous one left (event relay, end bookkeeping) still runs? Nexod's connections and
        # transactions per run are counted over its runs here: the server's counters, which an idle backend
        # reports up to 10 s after its last transaction, so the count waits that long on both sides.
        alone: dict[str, list[float]] = {"Nexod": [], "LangGraph": []}
        sessions: float | None = None
        commits: float | None = None
        time.sleep(STATS_DELAY_SECONDS)
        meter = _CpuMeter(pgdata, admin_url)
        for label, run in (("Nexod", nexod.run), ("LangGraph", peer.run)):
            for _ in range(runs):
                t0 = time.perf_counter()
                run()
                alone[label].append(time.perf_counter() - t0)
            if label == "Nexod":
                time.sleep(STATS_DELAY_SECONDS)
                sessions, commits = meter.sessions_per_run(runs), meter.commits_per_run(runs)
            print(f"  {label} alone, back to back: median {statistics.median(alone[label]) * 1000:.0f}ms")
        latency = event_latency(stack.url, nexod.api, nexod.ws, nexod.flow["id"], runs=3)
        print(
            f"  event latency (node status change -> SSE client), {latency.count} node events of 3 fan-out runs:"
            f" median {latency.median_ms:.0f}ms, p95 {latency.p95_ms:.0f}ms, max {latency.max_ms:.0f}ms"
        )
        pool = getattr(getattr(stack.platform.services.store, "db", None), "pool", None)
        if pool is not None:  # psycopg_pool's own counters: connections made, held, lost
            print(f"  app pool: {pool.get_stats()}")
        if commits is not None:
            print(f"  PostgreSQL transactions committed per run: {commits:.0f}")

        def timings(rows: list[tuple[float, float, float | None]], conns: float | None) -> Timings:
            pgs = [r[2] for r in rows]
            pg = None if any(p is None for p in pgs) else statistics.fmean(p for p in pgs if p is not None)
            return Timings([r[0] for r in rows], statistics.fmean(r[1] for r in rows), pg, conns)

        pairs = [n[0] / p[0] for n, p in zip(measured["nexod"], measured["peer"], strict=True)]
        return timings(measured["nexod"], sessions), timings(measured["peer"], None), pairs
    finally:
        if peer is not None:
            peer.close()
        stack.close()


@dataclass
class Latency:
    count: int
    median_ms: float
    p95_ms: float
    max_ms: float


def event_latency(base_url: str, api: Any, ws: str, flow_id: str, runs: int) -> Latency:
    """Open a Server-Sent Events stream on the workspace, run the flow `runs` times, and measure for every
    node.started/succeeded event the time from its change (the event's created_at, the start of the
    transaction that made the change: a slight overestimate) to this client reading it."""
    import http.client
    import json
    import threading
    from datetime import datetime
    from urllib.parse import urlsplit

    cursor = api.ok("GET", f"/v1/workspaces/{ws}/events?limit=1")["cursor"]
    while True:  # to the end of what is there
        page = api.ok("GET", f"/v1/workspaces/{ws}/events?after={cursor}&limit=500")
        if not page["items"]:
            break
        cursor = page["cursor"]
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {api.token}", "Last-Event-ID": cursor}
    conn.request("GET", f"/v1/workspaces/{ws}/events", headers=headers)
    response = conn.getresponse()
    assert response.status == 200, response.read()
    delays: list[float] = []
    finished: list[str] = []

    def read() -> None:
        while len(finished) < runs:
            line = response.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                received = time.time()
                event = json.loads(line[6:])
                if event["type"] in ("node.started", "node.succeeded"):
                    changed = datetime.fromisoformat(event["created_at"]).timestamp()
                    delays.append(received - changed)
                elif event["type"] == "run.succeeded":
                    finished.append(event["run_id"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for _ in range(runs):
        status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": {}})
        assert status == 202, started
        deadline = time.monotonic() + 60
        while started["id"] not in finished and time.monotonic() < deadline:
            time.sleep(0.01)
    reader.join(timeout=10)
    conn.close()
    assert delays, "no node event reached the stream"
    ordered = sorted(delays)
    return Latency(
        len(ordered),
        statistics.median(ordered) * 1000,
        ordered[int(len(ordered) * 0.95) - 1] * 1000,
        ordered[-1] * 1000,
    )


class GraphState(TypedDict):
    results: Annotated[list[int], operator.add]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    # As `nexod up` does: local mode prints no EMF documents (CloudWatch reads them in Lambda only).
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    with tempfile.TemporaryDirectory(prefix="nexod-bench-") as tmp:
        nexod_times, lg_times, pairs = bench(Path(tmp), args.runs, args.warmup)
    nodes = WIDTH + 2
    n_med, l_med = statistics.median(nexod_times.wall), statistics.median(lg_times.wall)
    print(
        f"\n50-node fan-out/fan-in, no-op nodes, {args.runs} runs of each after {args.warmup} warm-up, interleaved"
        " (median)"
    )
    print(f"  {'':38}{'per run':>10}{'nodes/s':>10}{'CPU/run':>10}{'of it PG':>10}{'new conns':>10}")
    for label, med, t in (
        ("Nexod local (API + moto ASL + Postgres)", n_med, nexod_times),
        ("LangGraph + PostgresSaver (peer)", l_med, lg_times),
    ):
        pg = "n/a" if t.pg_cpu is None else f"{t.pg_cpu * 1000:.0f}ms"
        conns = "n/a" if t.sessions is None else f"{t.sessions:.1f}"
        print(f"  {label:38}{med * 1000:>8.0f}ms{nodes / med:>10.0f}{t.cpu * 1000:>8.0f}ms{pg:>10}{conns:>10}")
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else [pairs[0]] * 3
    print(
        f"  ratio Nexod / LangGraph: {n_med / l_med:.1f}x the time per run "
        f"({nodes / n_med / (nodes / l_med):.2f}x the throughput), "
        f"{nexod_times.cpu / lg_times.cpu:.1f}x the CPU per run; "
        f"run by run {statistics.median(pairs):.1f}x (quartiles {quartiles[0]:.1f}-{quartiles[2]:.1f}x)"
    )
    print(f"  load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times move with it)")


if __name__ == "__main__":
    main()
