"""Signed one-time approval links (issue 11): public routes, like `/v1/health`, with no JWT: the link's
token is the credential (HMAC-signed claims; the workspace for row-level security comes from them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from nexod.services import approvals
from nexod.services.context import Services

from .models import ApprovalDecide
from .responses import ApprovalLinkApproval, ApprovalLinkView, reply

PREFIX = "/v1/approval-links/"
PATHS = frozenset({"/v1/approval-links/{token}", "/v1/approval-links/{token}/decide"})
# A token's shape (`v1.<claims>.<signature>`, base64url): anything else is a 422 before its signature is checked.
Token = Annotated[
    str,
    Path(pattern=r"^v1\.[A-Za-z0-9_-]{1,2000}\.[A-Za-z0-9_-]{43}$", max_length=2048, description="the link's token"),
]
router = APIGatewayHttpRouter()
_services: Callable[[], Services]


def bind(services: Callable[[], Services]) -> None:
    global _services
    _services = services


@router.get(
    "/v1/approval-links/<token>",
    summary="What an approval link asks",
    description="Public: the token is the credential. 401 for a token this deployment did not sign, 410"
    " `link_expired` or `link_used`.",
    tags=["approval links"],
)
def open_link(token: Token) -> ApprovalLinkView:
    return reply(ApprovalLinkView, approvals.open_link(_services(), token))


@router.post(
    "/v1/approval-links/<token>/decide",
    summary="Decide through an approval link, once",
    description="Public: the token is the credential. The decision's `by` is `link:<email>`. 409 when the"
    " approval is decided already, 410 `link_used` once the link decided, 422 naming an invalid field.",
    tags=["approval links"],
)
def decide_link(token: Token, body: ApprovalDecide) -> ApprovalLinkApproval:
    decided = approvals.decide_by_link(_services(), token, body.decision, body.comment, body.fields)
    return reply(ApprovalLinkApproval, decided)
