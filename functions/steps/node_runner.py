"""Node-runner Lambda: Step Functions invokes it for every node Task (and the run's finish/fail)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.runtime.runner import NodeRunner

logger = Logger(service="nexod-node-runner")
_runner: NodeRunner | None = None


def configure(runner: NodeRunner) -> None:
    global _runner
    _runner = runner


@lru_cache(maxsize=1)
def _from_settings() -> NodeRunner:
    from nexod.adapters.outbound_http import GuardedHttp
    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.runtime.executors import Toolbox
    from nexod.settings import Settings
    from nexod.wiring import database_conninfo, lazy, llm_from_settings

    settings = Settings()
    store = PostgresStore(Database(lambda: database_conninfo(settings), max_idle=1))
    http = GuardedHttp()
    tools = Toolbox(llm=lazy(lambda: llm_from_settings(settings)), outbound=lambda: http)
    return NodeRunner(store, tools, settings.outbound_allow_hosts)


def runner() -> NodeRunner:
    return _runner if _runner is not None else _from_settings()


def run_event(event: dict[str, Any]) -> dict[str, Any]:
    """The handler body without Lambda's context object (the local orchestrator calls this)."""
    run = event.get("run") or {}
    logger.append_keys(
        workspace_id=run.get("ws"),
        run_id=run.get("id"),
        node_id=event.get("node"),
        op=event.get("op", "node"),
    )
    return runner().handle(event)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_event(event)
