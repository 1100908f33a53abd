"""The per-node-run cost model (nexod.domain.cost): the prices the estimate uses, applied to one node run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from nexod.domain.cost import compute_cost_usd, cost_source, orchestration_cost_usd, usd_per_ms

REPO = Path(__file__).resolve().parents[2]


def test_a_second_at_a_gigabyte_costs_one_arm64_gb_second_and_a_thousand_transitions_cost_the_list_price():
    # Given the us-east-1 list prices (AWS Lambda arm64, Step Functions Standard)
    # When one node run takes 1 s at 1024 MB, or 1.5 s at 2048 MB, and 1,000 Task attempts are made
    # Then it costs the GB-seconds at $0.0000133334, and the transitions $0.025
    assert compute_cost_usd(1000, 1024) == pytest.approx(0.0000133334)
    assert compute_cost_usd(1500, 2048) == pytest.approx(3 * 0.0000133334)
    assert compute_cost_usd(None, 1024) == 0 and compute_cost_usd(-5, 1024) == 0
    assert usd_per_ms(1024) * 1000 == pytest.approx(0.0000133334)
    assert orchestration_cost_usd(1000) == pytest.approx(0.025)
    assert orchestration_cost_usd(1) == pytest.approx(0.000025)


@pytest.mark.parametrize(
    ("tokens_in", "tokens_out", "cost", "source"),
    [
        (100, 20, 0.0012, "price_table"),
        (100, 20, 0.0, "unknown"),  # a model LiteLLM has no price for
        (0, 5, None, "unknown"),
        (None, None, None, None),  # no model call
        (0, 0, 0.0, None),
    ],
)
def test_the_cost_source_says_whether_the_model_had_a_price(tokens_in, tokens_out, cost, source):
    assert cost_source(tokens_in, tokens_out, cost) == source


def test_the_monthly_estimate_uses_the_same_prices():
    # Given cdk/cost.py, loaded as `make cost` runs it
    spec = importlib.util.spec_from_file_location("cost_estimate", REPO / "cdk" / "cost.py")
    assert spec is not None and spec.loader is not None
    estimate = importlib.util.module_from_spec(spec)
    sys.modules["cost_estimate"] = estimate  # its dataclasses look their module up
    try:
        spec.loader.exec_module(estimate)
    finally:
        del sys.modules["cost_estimate"]
    # Then its Lambda and Step Functions prices are the ones node runs are costed with
    assert estimate.P["lambda_gbs_arm"].value == pytest.approx(compute_cost_usd(1000, 1024), rel=1e-12)
    assert estimate.P["sfn_transition"].value == pytest.approx(orchestration_cost_usd(1000), rel=1e-12)


def test_each_trigger_kind_costs_its_service_request_plus_the_lambda_that_starts_the_run():
    # Given cdk/cost.py and an App template whose trigger functions have 1 GB
    spec = importlib.util.spec_from_file_location("cost_estimate", REPO / "cdk" / "cost.py")
    assert spec is not None and spec.loader is not None
    estimate = importlib.util.module_from_spec(spec)
    sys.modules["cost_estimate"] = estimate
    try:
        spec.loader.exec_module(estimate)
    finally:
        del sys.modules["cost_estimate"]
    app = {
        "Resources": {
            f"{name}ABC123": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": 1024}}
            for name in ("RuntimeRunStarter", "RuntimeHandler", "RuntimeIngressConsumer")
        }
    }
    # When the per-1,000-deliveries lines are computed
    lines = {
        line.what.split(":")[0] + (":month" if "month" in line.what else ""): line
        for line in estimate.trigger_lines(app)
    }
    # Then a schedule fire is Scheduler's $1/M plus one 150 ms run-starter invocation at 1 GB
    lambda_each = 0.15 * compute_cost_usd(1000, 1024) + 0.20 / 1e6
    assert lines["schedules"].monthly == pytest.approx(1000 * (1.00 / 1e6 + lambda_each))
    assert lines["schedules:month"].monthly == pytest.approx(730 * (1.00 / 1e6 + lambda_each))
    # And a webhook is an HTTP API request plus the API's invocation; an event is $1/M plus the run starter
    assert lines["webhooks"].monthly == pytest.approx(1000 * (1.00 / 1e6 + lambda_each))
    assert lines["EventBridge"].monthly == pytest.approx(1000 * (1.00 / 1e6 + lambda_each))
    # And SQS is 1.3 requests a message at $0.40/M, and one consumer invocation per batch of 10
    batch = 1.5 * compute_cost_usd(1000, 1024) + 0.20 / 1e6
    assert lines["SQS"].monthly == pytest.approx(1300 * 0.40 / 1e6 + 100 * batch)
