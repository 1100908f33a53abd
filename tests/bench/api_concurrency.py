"""Measure what the local server's concurrency choice rests on (numbers in docs/decisions.md).

1. Can the API Lambda handler (Powertools' resolver) serve two requests at once in one process?
   Calls `functions.api.handler.handler` from several threads, alternating two users on `/v1/me`, and
   counts answers that name the other user (or fail).
2. Run starts under load through the local HTTP server: `--runs` starts, `--concurrency` at a time, each on
   a fresh connection; counts connection errors and non-202 answers, then waits for every run to finish.

    PYTHONPATH=$PWD/layers:$PWD .venv/bin/python -m tests.bench.api_concurrency --runs 100 --concurrency 50
    ... --threads 16 --calls 3000 --switch-interval 0.00001   (the race, made frequent)
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nexod.local.boot import LocalStack, boot
from nexod.local.server import LambdaContext, apigw_v2_event  # re-exported, so this runs on older trees too
from tests.support.api import Api
from tests.unit.flows import edge, node


def resolver_race(stack: LocalStack, threads: int, calls: int) -> dict[str, int]:
    from functions.api import handler as api

    tokens = {u: stack.platform.issuer.token(u) for u in ("alice", "bob")}
    # The whole answer: the user and the workspaces they may see (alice and bob see different ones).
    expected = {u: Api(stack.url, t).ok("GET", "/v1/me") for u, t in tokens.items()}
    counts = {"calls": 0, "wrong_caller": 0, "errors": 0}
    lock = threading.Lock()

    def one(i: int) -> None:
        user = ("alice", "bob")[i % 2]
        event = apigw_v2_event("GET", "/v1/me", {"authorization": f"Bearer {tokens[user]}"}, b"", "127.0.0.1")
        result = api.handler(event, LambdaContext())  # no lock: what a multi-threaded server would do
        with lock:
            counts["calls"] += 1
            if result["statusCode"] != 200:
                counts["errors"] += 1
            elif json.loads(result["body"]) != expected[user]:
                counts["wrong_caller"] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(calls)))
    return counts


def run_starts(stack: LocalStack, runs: int, concurrency: int) -> dict[str, Any]:
    token = stack.platform.issuer.token("alice")
    api = Api(stack.url, token)
    ws = api.ok("POST", "/v1/workspaces", {"name": "bench"})["id"]
    definition = {"nodes": [node("start", "input"), node("result", "output")], "edges": [edge("start", "result")]}
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "bench", "definition": definition})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {"description": "bench"})
    body = json.dumps({"input": {}}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def start(_: int) -> tuple[str, float, str | None]:
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", int(stack.url.rsplit(":", 1)[1]), timeout=60)
        try:
            conn.request("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", body, headers)
            resp = conn.getresponse()
            payload = json.loads(resp.read())
            outcome = "202" if resp.status == 202 else str(resp.status)
            return outcome, time.perf_counter() - t0, payload.get("id")
        except OSError as exc:
            return type(exc).__name__, time.perf_counter() - t0, None
        finally:
            conn.close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(start, range(runs)))
    started = time.perf_counter() - t0
    outcomes: dict[str, int] = {}
    for outcome, _, _ in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    latencies = sorted(r[1] for r in results)
    finished: dict[str, int] = {}
    for _, _, run_id in results:
        if run_id:
            status = api.wait_run(ws, run_id, timeout=120)["status"]
            finished[status] = finished.get(status, 0) + 1
    return {
        "outcomes": outcomes,
        "finished": finished,
        "start_phase_s": round(started, 2),
        "all_done_s": round(time.perf_counter() - t0, 2),
        "latency_p50_ms": round(statistics.median(latencies) * 1000),
        "latency_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000),
        "latency_max_ms": round(latencies[-1] * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument(
        "--switch-interval", type=float, default=None, help="sys.setswitchinterval for the race (default 5 ms)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        stack = boot(Path(state), port=0)
        try:
            if args.switch_interval:  # more thread switches per request: the race shows in fewer calls
                sys.setswitchinterval(args.switch_interval)
            print("resolver race:", resolver_race(stack, args.threads, args.calls))
            sys.setswitchinterval(0.005)
            print("run starts:", run_starts(stack, args.runs, args.concurrency))
        finally:
            stack.close()


if __name__ == "__main__":
    main()
