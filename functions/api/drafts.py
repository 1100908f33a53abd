"""Routes of issue 13's builder loop: test runs of a flow's draft and pinned node outputs
(`nexod.services.test_runs`). Authenticated and workspace-scoped like every route of `routes.py`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from nexod.services import preview as previews
from nexod.services import test_runs

from . import routes
from .models import PinPut, PreviewRequest, TestRunCreate
from .responses import PinItem, PinList, Preview, Run, reply

router = APIGatewayHttpRouter()


@router.post("/v1/workspaces/<ws>/flows/<flow>/test-runs", tags=["runs"], status_code=202)
def start_test_run(ws: str, flow: str, body: TestRunCreate | None = None) -> Response[Run]:
    """Run the draft without publishing it (422 listing its problems when it is not valid). Pinned nodes do not
    execute; with `only`, that node runs alone on the outputs of `from_run` or the pins."""
    principal = routes._caller()
    body = body or TestRunCreate()
    started = test_runs.start(
        routes._services(),
        principal,
        routes._ws(ws),
        flow,
        body.input,
        use_pins=body.use_pins,
        only=body.only,
        from_run=body.from_run,
        label=body.label,
    )
    return routes._answer(202, reply(Run, started))


@router.get("/v1/workspaces/<ws>/flows/<flow>/pins", tags=["flows"])
def list_pins(ws: str, flow: str) -> PinList:
    principal = routes._caller()
    return reply(PinList, test_runs.list_pins(routes._services(), principal, routes._ws(ws), flow))


@router.put("/v1/workspaces/<ws>/flows/<flow>/pins/<node>", tags=["flows"])
def put_pin(ws: str, flow: str, node: str, body: PinPut) -> PinItem:
    principal = routes._caller()
    fields = body.model_dump(exclude_unset=True)
    return reply(PinItem, test_runs.put_pin(routes._services(), principal, routes._ws(ws), flow, node, fields))


@router.delete("/v1/workspaces/<ws>/flows/<flow>/pins/<node>", tags=["flows"], status_code=204)
def delete_pin(ws: str, flow: str, node: str) -> Response[str]:
    principal = routes._caller()
    test_runs.delete_pin(routes._services(), principal, routes._ws(ws), flow, node)
    return Response(status_code=204, body="")


@router.post("/v1/workspaces/<ws>/flows/<flow>/preview", tags=["flows"])
def preview_field(ws: str, flow: str, body: PreviewRequest) -> Preview:
    """Render one field of a draft node (a `{{ … }}` template, a JMESPath or JSONata expression) against the
    flow's last run, or `run`, as the node would see it: the run's input and its upstream nodes' outputs.
    Members and up; nothing is stored and secrets are never rendered. A template or expression that fails there
    is a 422 naming `text`; a JSONata evaluation stops after 2 s."""
    principal = routes._caller()
    return reply(
        Preview,
        previews.preview(
            routes._services(),
            principal,
            routes._ws(ws),
            flow,
            body.node,
            body.text,
            body.kind,
            body.run,
            body.json_,
            body.edge,
        ),
    )
