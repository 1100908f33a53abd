"""The agent broker's Lambda function: API Gateway routes `/v1/broker/*` here, never to the API function.

Agent runners (ECS Fargate tasks that hold no database access, no provider key and no credential) reach
Nexod only through it, each request authorised by the capability token the launcher minted for one task
(`nexod.services.broker`). It carries the LLM layer, because the runners' model calls go through the LLM
gateway here; the API function stays small. The HTTP surface is `functions.api.broker.handle`, which local
mode serves from its own server.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api import broker, door
from nexod.services.broker import Broker

logger = Logger(service="nexod-broker")


@lru_cache(maxsize=1)
def _deployed() -> Broker:
    from nexod.settings import Settings
    from nexod.wiring import deployed_broker

    return deployed_broker(Settings())


def handle(event: dict[str, Any]) -> dict[str, Any]:
    refused = door.prepare(event) or door.check(event)
    if refused is not None:
        return broker.refusal(refused.status, refused.code, refused.message)
    return broker.handle(event)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    broker.bind(_deployed)
    return handle(event)
