"""The log context, the usage meter, Lambda's JSON log lines and the execution-events handler's refusals."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from functions.api.handler import ids_in_path
from functions.steps.execution_events import handle
from nexod.observability import LogContextFilter, MeteredLLM, current_log_context, log_context, metered
from nexod.ports import Completion
from tests.support.events import execution_status_change

REPO = Path(__file__).resolve().parents[2]
ARN = "arn:aws:states:us-east-1:123456789012:execution:nexod-aaaaaaaa-f:run-1"


def record(message: str = "m") -> logging.LogRecord:
    return logging.LogRecord("nexod.test", logging.INFO, __file__, 1, message, None, None)


def test_nested_scopes_add_ids_and_restore_the_outer_ones() -> None:
    # Given a run's scope
    with log_context(workspace_id="w", run_id="r"):
        # When a node's scope opens inside it (an empty id keeps what the outer scope knew)
        with log_context(run_id="", node_id="n") as inner:
            # Then records name all three
            assert inner.fields() == {"workspace_id": "w", "run_id": "r", "node_id": "n"}
            filtered = record()
            LogContextFilter(text=True).filter(filtered)
            assert (filtered.workspace_id, filtered.run_id, filtered.node_id) == ("w", "r", "n")  # type: ignore[attr-defined]
            assert filtered.log_context == " workspace_id=w run_id=r node_id=n"  # type: ignore[attr-defined]
        # And when it closes, the node is gone again
        assert current_log_context().fields() == {"workspace_id": "w", "run_id": "r"}
    assert current_log_context().fields() == {}


def test_another_thread_does_not_see_this_thread_s_ids() -> None:
    # Given a node scope on this thread
    seen: list[dict[str, str]] = []
    with log_context(workspace_id="w", node_id="here"):
        # When another thread logs meanwhile (local mode runs parallel branches on threads)
        worker = threading.Thread(target=lambda: seen.append(current_log_context().fields()))
        worker.start()
        worker.join()
    # Then its lines carry none of them
    assert seen == [{}]


def test_a_key_given_in_extra_wins_over_the_context() -> None:
    # Given a line that names another node explicitly
    explicit = record()
    explicit.node_id = "other"
    # When the filter runs inside a node scope
    with log_context(node_id="n"):
        LogContextFilter().filter(explicit)
    # Then the explicit value is kept
    assert explicit.node_id == "other"


class FixedModel:
    def __init__(self, *answers: Completion) -> None:
        self.answers = list(answers)

    def complete(self, **_: Any) -> Completion:
        return self.answers.pop(0)


def ask(llm: MeteredLLM) -> Completion:
    return llm.complete(model="m", system=None, prompt="p", temperature=0, max_tokens=None, json_mode=False, timeout=1)


def test_the_meter_adds_up_the_calls_made_inside_its_block_only() -> None:
    # Given a metered model answering three calls
    llm = MeteredLLM(
        FixedModel(
            Completion("a", "openai/x", tokens_in=3, tokens_out=5, cost_usd=0.25),
            Completion("b", "anthropic/y", tokens_in=7, tokens_out=11, cost_usd=0.5),
            Completion("c", "openai/x", tokens_in=100, tokens_out=100, cost_usd=9.0),
        )
    )
    # When two calls are made in a metered block and one outside it
    with metered() as usage:
        ask(llm)
        ask(llm)
    ask(llm)
    # Then the block counted its two calls, their tokens, cost and models
    assert (usage.calls, usage.tokens_in, usage.tokens_out, usage.cost_usd) == (2, 10, 16, 0.75)
    assert usage.models == ["openai/x", "anthropic/y"]


def test_in_lambda_a_runtime_log_line_is_powertools_json_with_the_ids() -> None:
    # Given Lambda's environment, and the node runner's logger set up as its handler does
    code = """
import logging
from aws_lambda_powertools import Logger
from nexod.adapters.powertools import lambda_logging
from nexod.observability import log_context
logger = Logger(service="nexod-node-runner")
lambda_logging(logger)
with log_context(workspace_id="w-1", run_id="r-1", node_id="n-1"):
    logging.getLogger("nexod.runtime.runner").warning("inside the node")
    logging.getLogger("steps.node_runner").warning("the function's own line")  # a top-level package in Lambda
logging.getLogger("nexod.runtime.runner").warning("after it")
"""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'layers'}{os.pathsep}{REPO}", "LAMBDA_TASK_ROOT": str(REPO)}
    # When the runtime logs during a node run and after it
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    inside, own, after = (json.loads(line) for line in done.stdout.strip().splitlines())
    # Then both are the Powertools JSON of the node runner, and only the first names the node run
    assert "log_context" not in inside
    assert (inside["message"], inside["service"], inside["name"]) == (
        "inside the node",
        "nexod-node-runner",
        "nexod.runtime.runner",
    )
    assert (inside["workspace_id"], inside["run_id"], inside["node_id"]) == ("w-1", "r-1", "n-1")
    assert (own["name"], own["node_id"]) == ("steps.node_runner", "n-1")
    assert after["message"] == "after it" and not {"workspace_id", "run_id", "node_id"} & set(after)


def test_the_api_reads_the_workspace_and_run_from_the_path() -> None:
    assert ids_in_path("/v1/workspaces/w-1/runs/r-1/nodes") == {"workspace_id": "w-1", "run_id": "r-1"}
    assert ids_in_path("/v1/workspaces/w-1/flows/f-1") == {"workspace_id": "w-1"}
    assert ids_in_path("/v1/me") == {}


def untouched_store() -> Any:
    raise AssertionError("a refused event must not reach the database")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"detail-type": "Scheduled Event", "detail": {}}, "source"),
        (execution_status_change("EXPLODED", ARN, {"id": "r", "ws": "w"}), "status"),
        (execution_status_change("TIMED_OUT", ARN, None), "input"),
        ({**execution_status_change("FAILED", ARN, {"id": "r", "ws": "w"}), "detail": "not an object"}, "detail"),
    ],
)
def test_an_event_that_is_not_a_status_change_of_a_run_is_refused_and_logged(
    event: dict[str, Any], field: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given an event that is not a Step Functions status change of a Nexod run
    # When the execution-events handler receives it
    answer = handle(event, untouched_store)
    # Then it is refused without an exception (EventBridge would only redeliver it) and nothing is counted
    assert answer == {"reconciled": False, "refused": True}
    assert '"_aws"' not in capsys.readouterr().out
    # And one warning says which field was wrong
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("refused an event that is not a Step Functions execution status change")
    problems = warning.problems  # type: ignore[attr-defined]
    assert any(field in problem["field"] for problem in problems), problems


def test_the_deployment_and_the_cost_model_name_the_metrics_the_functions_emit() -> None:
    import sys

    sys.path.insert(0, str(REPO / "cdk"))
    import cost

    from functions.steps import execution_events, node_runner
    from nexod.adapters.powertools import NAMESPACE, NODE_METRICS, RUN_METRICS
    from nexod_cdk import constants

    # Given the metric names the node runner and the execution-events handler emit
    emitted = set(NODE_METRICS) | set(RUN_METRICS.values())
    # Then the cost model counts each once (one dimension set each), and the dashboard reads the same names
    assert len(emitted) == cost.CUSTOM_METRICS == 8
    assert constants.METRICS_NAMESPACE == NAMESPACE
    assert constants.NODE_RUNNER_SERVICE == node_runner.METRICS_SERVICE
    assert constants.EXECUTION_EVENTS_SERVICE == execution_events.SERVICE
