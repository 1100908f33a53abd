"""Traces, metrics and Lambda logging with Powertools (DESIGN §10), shared by the Lambda roots.

- **Traces.** `tracer(service)`: X-Ray through Powertools, off outside Lambda (Powertools checks
  `LAMBDA_TASK_ROOT` and `POWERTOOLS_TRACE_DISABLED`), so local mode and tests pay nothing. Only botocore
  is patched: the AWS calls' latency is what a trace is for, and HTTP libraries are not patched because a
  node's URL path may carry a credential (a webhook token), which must never enter a trace (DESIGN §7).
  Handler responses are never captured (an API response is user data).
- **Metrics.** One EMF document per node run and per execution status change, each from its own
  `EphemeralMetrics` (local mode runs nodes on many threads at once; Powertools' shared `Metrics` is not
  thread-safe). Dimensions are `service` and `profile` only; workspace, run and node ids go in the
  document's metadata (searchable with Logs Insights), never in dimensions, which CloudWatch bills per
  distinct combination.
- **Logging.** `lambda_logging(logger)` makes our loggers (`nexod.*` and the functions') write through the
  Powertools logger, whose handler carries `nexod.observability.LogContextFilter`.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from ..observability import LogContext, Usage, install_log_context

NAMESPACE = "Nexod"
NODE_METRICS = ("NodeDuration", "LLMTokensIn", "LLMTokensOut", "LLMCostUSD")
PATCHED_MODULES = ("botocore",)

# Step Functions execution statuses -> the run metric each counts towards. A redrive starts a new
# execution, so RunsStarted counts executions (first attempts and redrives alike).
RUN_METRICS: dict[str, str] = {
    "RUNNING": "RunsStarted",
    "SUCCEEDED": "RunsSucceeded",
    "FAILED": "RunsFailed",
    "TIMED_OUT": "RunsFailed",
    "ABORTED": "RunsCancelled",
}


def tracer(service: str) -> Tracer:
    return Tracer(service=service, patch_modules=PATCHED_MODULES)


def annotate(active: Tracer, context: LogContext, **more: str | None) -> None:
    """X-Ray annotations (indexed, filterable) on the current segment; a no-op when tracing is off."""
    for key, value in {**context.fields(), **more}.items():
        if value:
            active.put_annotation(key=key, value=value)


def lambda_logging(logger: Logger) -> None:
    """In a Lambda: every line of our code as Powertools JSON, with the log context keys.

    It acts only inside Lambda (`LAMBDA_TASK_ROOT`, Powertools' own signal): it stops those loggers
    propagating to the root logger, which local mode and tests keep for their own handlers."""
    install_log_context(logger.registered_handler)
    if os.environ.get("LAMBDA_TASK_ROOT"):
        _copy_once(logger)


# Top-level logger names of our code in a Lambda: the layer's `nexod`, and the function packages, which the
# code asset's root makes top-level there (`api`, `steps`, `ops`; `functions.*` elsewhere).
OUR_LOGGERS = frozenset({"nexod", "functions", "api", "steps", "ops"})
_copied: set[int] = set()


def _copy_once(logger: Logger) -> None:
    if id(logger) not in _copied:
        for name in OUR_LOGGERS:
            logging.getLogger(name)  # registered before Powertools looks for them
        copy_config_to_registered_loggers(source_logger=logger, include=set(OUR_LOGGERS))
        _copied.add(id(logger))


@lru_cache(maxsize=1)
def _profile() -> str:
    from ..settings import Settings

    return Settings().profile


def _metrics(service: str) -> EphemeralMetrics:
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=service)
    metrics.add_dimension(name="profile", value=_profile())
    return metrics


def _metadata(metrics: EphemeralMetrics, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if value is not None:
            metrics.add_metadata(key=key, value=value)


def emit_node_run(
    *,
    service: str,
    context: LogContext,
    duration_ms: float,
    usage: Usage,
    outcome: str,
    node_kind: str | None,
    runtime: str | None = None,
) -> None:
    """NodeDuration for every node run; LLMTokensIn/Out and LLMCostUSD when the node called a model."""
    metrics = _metrics(service)
    metrics.add_metric(name="NodeDuration", unit=MetricUnit.Milliseconds, value=round(duration_ms, 3))
    if usage.calls:
        metrics.add_metric(name="LLMTokensIn", unit=MetricUnit.Count, value=usage.tokens_in)
        metrics.add_metric(name="LLMTokensOut", unit=MetricUnit.Count, value=usage.tokens_out)
        metrics.add_metric(name="LLMCostUSD", unit=MetricUnit.NoUnit, value=usage.cost_usd)
    _metadata(
        metrics,
        {
            **context.fields(),
            "node_kind": node_kind,
            "runtime": runtime,
            "outcome": outcome,
            "models": usage.models or None,
            "llm_calls": usage.calls or None,
        },
    )
    metrics.flush_metrics()


def emit_run_status(*, service: str, status: str, context: LogContext, execution_arn: str) -> bool:
    """One of RunsStarted/Succeeded/Failed/Cancelled for an execution status; False for other statuses."""
    name = RUN_METRICS.get(status)
    if name is None:
        return False
    metrics = _metrics(service)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    _metadata(metrics, {**context.fields(), "status": status, "execution_arn": execution_arn})
    metrics.flush_metrics()
    return True
