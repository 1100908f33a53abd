"""What a node run costs (DESIGN §9): LLM, compute and orchestration, from one price table.

The AWS prices are us-east-1 list prices; `cdk/cost.py` (the monthly estimate) imports them from here,
so the estimate and the recorded costs use one price table.

- LLM: LiteLLM's price table (`cost_usd` from the gateway). A model LiteLLM has no price for reports
  tokens but a cost of 0: its `cost_source` is `unknown` (its LLM cost counts as 0, never as a guess).
- Compute: Lambda GB-seconds, the node run's measured duration times the runner's configured memory
  (`NEXOD_RUNNER_MEMORY_MB`), at the arm64 price. The measured duration is the node run's `duration_ms`:
  from its first claim to its finish. For a first-attempt success that is a little under what Lambda bills
  (no init); a retried node also counts the waits between attempts, an overestimate.
- Agent runners: an agent or crew node's ECS Fargate task, from its launch to its result (the node run's
  duration), with Fargate's one-minute minimum, at the task definition's vCPU and memory (arm64).
- Orchestration: Step Functions Standard state transitions attributable to the node. The model is one
  transition per Task attempt (the node's Task state entered once per attempt, retries included), which
  is what `attempts` counts; Choice/Pass/Map bookkeeping states are not attributed to nodes.
"""

from __future__ import annotations

from typing import Literal

LAMBDA_GB_SECOND_ARM64_USD = 0.0000133334  # AWS Lambda pricing, per GB-second (arm64)
SFN_1000_TRANSITIONS_USD = 0.025  # AWS Step Functions pricing, Standard, per 1,000 state transitions
SFN_TRANSITION_USD = SFN_1000_TRANSITIONS_USD / 1000
DEFAULT_RUNNER_MEMORY_MB = 1024
# Agent runners (agent and crew nodes): ECS Fargate, Linux/ARM64, per vCPU-hour and per GB-hour, billed per
# second with a one-minute minimum. The task definition's size (cdk: 1 vCPU, 3 GB) is AGENT_TASK_*.
FARGATE_VCPU_HOUR_ARM64_USD = 0.03238
FARGATE_GB_HOUR_ARM64_USD = 0.00356
FARGATE_MINIMUM_MS = 60_000
AGENT_TASK_VCPU = 1.0
AGENT_TASK_GB = 3.0

CostSource = Literal["price_table", "unknown"]


def compute_cost_usd(duration_ms: int | None, memory_mb: int) -> float:
    """Lambda GB-seconds of `duration_ms` at `memory_mb`, priced for arm64."""
    return max(duration_ms or 0, 0) / 1000 * memory_mb / 1024 * LAMBDA_GB_SECOND_ARM64_USD


def usd_per_ms(memory_mb: int) -> float:
    """The compute price of one millisecond at `memory_mb` (what the store multiplies the duration by)."""
    return memory_mb / 1024 * LAMBDA_GB_SECOND_ARM64_USD / 1000


def fargate_cost_usd(duration_ms: int | None, vcpu: float = AGENT_TASK_VCPU, gb: float = AGENT_TASK_GB) -> float:
    """What an agent runner's Fargate task costs for `duration_ms` (its node run's, from launch to result)."""
    hours = max(duration_ms or 0, FARGATE_MINIMUM_MS) / 3_600_000
    return hours * (vcpu * FARGATE_VCPU_HOUR_ARM64_USD + gb * FARGATE_GB_HOUR_ARM64_USD)


def orchestration_cost_usd(transitions: int) -> float:
    return max(transitions, 0) * SFN_TRANSITION_USD


def cost_source(tokens_in: int | None, tokens_out: int | None, cost_usd: float | None) -> CostSource | None:
    """`price_table` for a model call LiteLLM priced, `unknown` for tokens without a price, None without a call."""
    tokens = (tokens_in or 0) + (tokens_out or 0)
    if cost_usd:
        return "price_table"
    if tokens > 0:
        return "unknown"
    return None
