"""LLM node-runner Lambda: Step Functions invokes it for the Tasks of `llm`-runtime nodes.

The same code as the core runner (`node_runner.py`: execution binding, memo, record); this function also
carries the LLM layer, and its runner is the only one with a model client.

It also answers the API's knowledge-base requests (`{"knowledge": {...}}`, see
`nexod.adapters.knowledge_lambda`): reading PDFs, embeddings and Pinecone's key live here, not in the API.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.adapters import powertools as telemetry
from nexod.domain.nodes import Runtime
from nexod.observability import log_context

from .node_runner import RunnerFunction

logger = Logger(service="nexod-llm-runner")
tracer = telemetry.tracer("nexod-llm-runner")
LLM = RunnerFunction(Runtime.LLM, logger, tracer)
configure = LLM.configure
runner = LLM.runner
run_event = LLM.run_event


@tracer.capture_lambda_handler(capture_response=False)  # a response is run data: never in a trace
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "knowledge" in event:
        return knowledge_event(event["knowledge"])
    return LLM.lambda_event(event)


def knowledge_event(request: Any) -> dict[str, Any]:
    """One knowledge-base request of the API (ingest, forget, search), answered with `ok` or `error`."""
    from nexod.runtime.knowledge_requests import serve

    workspace_id = str(request.get("workspace_id") or "") if isinstance(request, dict) else ""
    with log_context(workspace_id=workspace_id):
        return serve(LLM.runner().tools.knowledge, request)
