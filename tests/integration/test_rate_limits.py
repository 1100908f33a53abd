"""Per-workspace rate limits shared through Postgres: exact under concurrency, waits that add up."""

from __future__ import annotations

import threading

import pytest

from nexod.adapters.postgres.db import Database
from nexod.adapters.postgres.rate_limits import PostgresRateLimiter
from nexod.local.boot import LocalStack
from tests.support.api import Api


@pytest.fixture
def ws(alice: Api) -> str:
    return str(alice.ok("POST", "/v1/workspaces", {"name": "limits"})["id"])


@pytest.fixture
def limiter(stack: LocalStack) -> PostgresRateLimiter:
    return PostgresRateLimiter(Database(stack.platform.postgres.app_url, max_size=24))


def test_a_minutes_allowance_passes_at_once_then_each_unit_waits_its_share(limiter, ws):
    # Given a limit of 5 requests per minute
    # When 5 requests arrive at once / Then all pass
    assert [limiter.acquire(ws, "llm.requests", 1, 5) for _ in range(5)] == [0.0] * 5
    # When a sixth arrives / Then it waits about 12 s (60 s / 5), and being refused spent nothing
    first, again = limiter.acquire(ws, "llm.requests", 1, 5), limiter.acquire(ws, "llm.requests", 1, 5)
    assert 11.0 < first <= 12.0 and 11.0 < again <= 12.0


def test_twenty_concurrent_callers_get_exactly_the_allowance(limiter, ws):
    # Given 20 runners asking at the same moment under a limit of 5 per minute
    results: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def ask() -> None:
        barrier.wait()
        wait = limiter.acquire(ws, "llm.requests", 1, 5)
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly five pass, and every other one is told to wait its share
    assert sorted(results)[:6] == [0.0] * 5 + [sorted(results)[5]]
    assert results.count(0.0) == 5
    assert all(11.0 < w <= 12.0 for w in results if w)


def test_settling_gives_back_an_overestimate_and_charges_an_underestimate(limiter, ws):
    # Given 1000 tokens per minute, and a call that reserved its estimate of 900
    assert limiter.acquire(ws, "llm.tokens", 900, 1000) == 0.0
    assert limiter.acquire(ws, "llm.tokens", 200, 1000) > 0  # 1100 > 1000: must wait
    # When the provider reports only 100 were used
    limiter.settle(ws, "llm.tokens", -800, 1000)
    # Then the room is back
    assert limiter.acquire(ws, "llm.tokens", 200, 1000) == 0.0
    # And an underestimate is charged
    limiter.settle(ws, "llm.tokens", 700, 1000)
    assert limiter.acquire(ws, "llm.tokens", 100, 1000) > 0


def test_one_call_bigger_than_a_minute_passes_when_idle_and_leaves_its_debt(limiter, ws):
    assert limiter.acquire(ws, "llm.tokens", 5000, 1000) == 0.0
    wait = limiter.acquire(ws, "llm.tokens", 1, 1000)
    assert 239.0 < wait <= 240.1  # 5000 tokens at 1000/min: four more minutes before the next


def test_workspaces_and_buckets_do_not_share_allowances(limiter, ws, alice: Api):
    other = str(alice.ok("POST", "/v1/workspaces", {"name": "limits-2"})["id"])
    assert limiter.acquire(ws, "llm.requests", 1, 1) == 0.0
    assert limiter.acquire(ws, "llm.requests", 1, 1) > 0
    assert limiter.acquire(other, "llm.requests", 1, 1) == 0.0
    assert limiter.acquire(ws, "llm.tokens", 1, 1) == 0.0
