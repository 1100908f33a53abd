"""`GET /v1/health`: what each component of this deployment says about itself. Public: no secrets in it.

Locally the supervisor of `nexod up` keeps the board (database, orchestrator, offline model, ...). In AWS
the API reports only itself: probing Aurora from an anonymous route would wake a paused cluster.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from nexod.services.health import HealthBoard

from .responses import Health, reply

router = APIGatewayHttpRouter()
_board: Callable[[], HealthBoard]


def bind(board: Callable[[], HealthBoard]) -> None:
    global _board
    _board = board


@router.get(
    "/v1/health",
    summary="Health of each component",
    description="`status` is `ready`, `starting` or `failed` overall and per component, with the reason."
    " Always 200 while the API answers; read `status`.",
    tags=["health"],
)
def health() -> Response[Health]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=reply(Health, _board().as_json()),
        headers={"Cache-Control": "no-store"},
    )
