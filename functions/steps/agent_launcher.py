"""Agent launcher Lambda: Step Functions invokes it (lambda:invoke.waitForTaskToken) for `agent` and `crew`
nodes. The same code as the core runner (`node_runner.py`): it renders the node, parks the Task's token and
writes the runner's task in one unit of work, then starts the agent runner as an ECS Fargate task holding only
the broker's URL and a capability token for that one task. It carries neither CrewAI nor LiteLLM: the runner
has them, and the runner's model calls come back through the broker (the API function).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.adapters import powertools as telemetry
from nexod.domain.nodes import Runtime

from .node_runner import RunnerFunction

logger = Logger(service="nexod-agent-launcher")
tracer = telemetry.tracer("nexod-agent-launcher")
LAUNCHER = RunnerFunction(Runtime.FARGATE, logger, tracer)
configure = LAUNCHER.configure
runner = LAUNCHER.runner
run_event = LAUNCHER.run_event


@tracer.capture_lambda_handler(capture_response=False)  # a response is run data: never in a trace
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return LAUNCHER.lambda_event(event)
