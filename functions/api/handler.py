"""HTTPS API Lambda: API Gateway HTTP API (v2) events -> Powertools resolver -> services.

The same handler serves local mode, where the local server turns each HTTP request into a v2 event.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.adapters import powertools as telemetry
from nexod.auth import JwtVerifier
from nexod.domain.errors import NexodError, Unauthorized
from nexod.observability import install_log_context, log_context
from nexod.services.broker import Broker
from nexod.services.context import Principal, Services
from nexod.services.health import HealthBoard

from . import approval_links, broker, door, drafts, health, hooks, routes
from .encoding import dumps
from .openapi import document

SERVICE = "nexod-api"
logger = Logger(service=SERVICE)
install_log_context(logger.registered_handler)
tracer = telemetry.tracer(SERVICE)
# The ids a request is about, read from its path (before routing: log lines of a refused request carry them too).
_IDS_IN_PATH = re.compile(r"^/v1/workspaces/(?P<workspace_id>[^/]+)(?:/runs/(?P<run_id>[^/]+))?")


def raw_error(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    """An error answered before routing, in the Lambda proxy response format."""
    body = {"error": {"code": code, "message": message, "details": details}}
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": dumps(body)}


def error_response(status: int, code: str, message: str, details: Any = None) -> Response[str]:
    body = {"error": {"code": code, "message": message, "details": details}}
    return Response(status_code=status, content_type="application/json", body=dumps(body))


app = APIGatewayHttpResolver(enable_validation=True, serializer=dumps)
app.include_router(routes.router)
app.include_router(drafts.router)
app.include_router(health.router)
app.include_router(approval_links.router)
app.configure_openapi(
    title="Nexod API",
    version="0.1.0",
    summary="Flows compiled to AWS Step Functions: build, publish, run and watch them.",
)


@lru_cache(maxsize=1)
def openapi_document() -> str:
    """Generated once per process (the routes do not change after import)."""
    return dumps(document(json.loads(app.get_openapi_json_schema()), PUBLIC_PATHS))


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_document())


@app.exception_handler(NexodError)
def _domain_error(exc: NexodError) -> Response[str]:
    response = error_response(exc.status, exc.code, exc.message, exc.details)
    retry_after = getattr(exc, "retry_after", None)  # 503 while the database resumes
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@app.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response[str]:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[1:] if loc and loc[0] in ("body", "query", "path") else loc
        field = ".".join(where) or "(body)"
        details.append({"field": field, "in": loc[0] if loc else "body", "message": err.get("msg", "invalid")})
    first = details[0] if details else {"field": "(body)", "message": "invalid request"}
    return error_response(422, "invalid_request", f"{first['field']}: {first['message']}", details)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_type(exc: RequestUnsupportedContentType) -> Response[str]:
    # The door refuses other media types first; this keeps Powertools' own 415 in our envelope too.
    details = {"field": "content-type", "in": "header", "supported": ["application/json"]}
    return error_response(415, "unsupported_media_type", "send the body as application/json", details)


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response[str]:
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "error"
    return error_response(exc.status_code, phrase.lower().replace(" ", "_"), str(exc.msg or phrase))


def _refuse_unknown_query(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """A query parameter no route reads is a typo the caller should hear about (`?limt=5`), not ignore."""
    route = resolver.context.get("_route")
    if route is None or not any(route is r for r in (*resolver._static_routes, *resolver._dynamic_routes)):
        return next_middleware(resolver)  # the not-found route: it answers 404 or 405
    known = {param.alias for param in route.dependant.query_params}
    unknown = sorted(set(resolver.current_event.query_string_parameters or {}) - known)
    if unknown:
        details = [{"field": name, "in": "query", "message": "unknown query parameter"} for name in unknown]
        expected = f" (this route reads: {', '.join(sorted(known))})" if known else " (this route reads none)"
        return error_response(422, "invalid_request", f"{unknown[0]}: unknown query parameter{expected}", details)
    return next_middleware(resolver)


app.use(middlewares=[_refuse_unknown_query])


def allowed_methods(path: str) -> list[str]:
    """Methods the API serves on `path` (Powertools answers 404 for a known path with another method).

    Reads the resolver's route table: Powertools is pinned and a test covers this against its routes."""
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({route.method for route in routes if route.rule.match(path)})


@app.not_found
def _not_found(_: Exception) -> Response[str]:
    method, path = app.current_event.http_method, app.current_event.path
    allowed = allowed_methods(path)
    if allowed:
        body = {
            "error": {
                "code": "method_not_allowed",
                "message": f"{method} is not allowed on {path}; allowed: {', '.join(allowed)}",
                "details": {"allowed": allowed},
            }
        }
        headers = {"Allow": ", ".join(allowed)}
        return Response(status_code=405, content_type="application/json", body=dumps(body), headers=headers)
    return error_response(404, "not_found", f"no route {method} {path}")


# -- composition root ------------------------------------------------------------------------------
_services: Services | None = None
_verifier: JwtVerifier | None = None
_health: HealthBoard | None = None


def configure(services: Services, verifier: JwtVerifier, health: HealthBoard | None = None) -> None:
    """Inject adapters (local server, tests). Without it, the AWS adapters are built from settings."""
    global _services, _verifier, _health
    _services, _verifier, _health = services, verifier, health


@lru_cache(maxsize=1)
def _api_only_board() -> HealthBoard:
    board = HealthBoard()
    board.report("api", "ready", "the API answered this request")
    return board


def health_board() -> HealthBoard:
    return _health if _health is not None else _api_only_board()


@lru_cache(maxsize=1)
def _from_settings() -> tuple[Services, JwtVerifier]:
    import boto3

    from nexod.adapters.postgres import Database, PostgresStore
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator
    from nexod.settings import Settings
    from nexod.wiring import (
        DatabaseConninfo,
        approval_links_from_settings,
        blob_store_from_settings,
        event_publisher_from_settings,
        event_rules_from_settings,
        hook_vault_from_settings,
        reminder_clock_from_settings,
        runner_arns,
        scheduler_from_settings,
        vault_from_settings,
    )

    settings = Settings()
    knowledge = None
    if settings.llm_runner_arn:
        from nexod.adapters.knowledge_lambda import LambdaKnowledgeWorker

        # Documents, embeddings and Pinecone's key are the LLM runner's: the API asks it (one invocation).
        knowledge = LambdaKnowledgeWorker(boto3.client("lambda", region_name=settings.region), settings.llm_runner_arn)
    services = Services(
        store=PostgresStore(Database(DatabaseConninfo(settings), max_size=1)),
        orchestrator=StepFunctionsOrchestrator(
            boto3.client("stepfunctions", region_name=settings.region),
            settings.state_machine_role_arn,
            settings.state_machine_log_group_arn,
        ),
        runner_arns=runner_arns(settings),
        state_machine_prefix=settings.state_machine_prefix,
        blobs=blob_store_from_settings(settings),
        vault=vault_from_settings(settings, reads=False, writes=True),  # write-only: never GetSecretValue
        knowledge=knowledge,
        default_embedding_model=settings.default_embedding_model,
        pinecone_hosts=tuple(settings.pinecone_hosts),
        publisher=event_publisher_from_settings(settings),  # run lifecycle events (EventBridge, an outbox)
        approval_links=approval_links_from_settings(settings),  # verifies signed approval links; sends nothing
        scheduler=scheduler_from_settings(settings),  # schedule triggers (EventBridge Scheduler)
        event_rules=event_rules_from_settings(settings),  # eventbridge triggers (a rule each)
        nexod_bus=settings.event_bus_name or "",
        ingress_queue_url=settings.ingress_queue_url or "",
        trigger_buses=tuple(settings.trigger_buses),
        reminder_clock=reminder_clock_from_settings(settings),  # a decision deletes its reminder's wake-up
        hook_vault=hook_vault_from_settings(settings),  # reads webhook keys only (the role allows no more)
        hook_base_url=settings.public_api_url,
        test_run_retention_days=settings.test_run_retention_days,
    )
    return services, JwtVerifier(settings.auth_issuer, settings.auth_audience, settings.jwks_url)


def services() -> Services:
    return _services if _services is not None else _from_settings()[0]


PUBLIC_PATHS = frozenset({"/v1/openapi.json", "/v1/health"})


def is_public(path: str) -> bool:
    """No JWT: the public documents, and approval links (whose signed token is the credential)."""
    return path in PUBLIC_PATHS or (path.startswith(approval_links.PREFIX) and path.count("/") in (3, 4))


def caller() -> Principal:
    principal = app.context.get("principal")
    if not isinstance(principal, Principal):  # only reachable if a route is added to PUBLIC_PATHS
        raise Unauthorized("authentication required")
    return principal


BROKER_KEY_ENV = "NEXOD_BROKER_KEY_SECRET_ARN"  # set on the Broker function only (cdk constructs/orchestration.py)


@lru_cache(maxsize=1)
def _broker_from_settings() -> Broker | None:
    """The agent broker of the deployed Broker function (`nexod.wiring.deployed_broker`: capability tokens keyed
    by the broker key secret, the agent task board in Postgres, the LLM gateway, the outbound guard, the
    credential vault read through the workspace-tagged role, knowledge, sub-flows and memory). None where no
    broker key is configured (the API function: API Gateway never routes /v1/broker/* to it; it answers 503)."""
    import os

    if not os.environ.get(BROKER_KEY_ENV):
        return None
    from nexod.settings import Settings
    from nexod.wiring import deployed_broker

    return deployed_broker(Settings())


routes.bind(services, caller)
approval_links.bind(services)
health.bind(health_board)
broker.bind(_broker_from_settings)  # local mode and tests bind their own (nexod.local.boot)


def ids_in_path(path: str) -> dict[str, str]:
    """{workspace_id, run_id} named by an API path, where it names them."""
    found = _IDS_IN_PATH.match(path)
    return {k: v for k, v in found.groupdict().items() if v} if found else {}


@tracer.capture_lambda_handler(capture_response=False)  # a response is user data: never in a trace
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    telemetry.lambda_logging(logger)
    path = str(event.get("rawPath") or event.get("path") or "")
    with log_context(**ids_in_path(path)) as ids:
        telemetry.annotate(tracer, ids)
        return _handle(event, context)


def broker_handler(event: dict[str, Any], _: Any = None) -> dict[str, Any]:
    """The agent broker's requests alone (local mode serves them on their own threads: they never touch the
    Powertools resolver, whose state is per class)."""
    refused = door.prepare(event)
    if refused is None:
        refused = door.check(event)
    if refused is not None:
        return raw_error(refused.status, refused.code, refused.message, refused.details)
    return broker.handle(event)


def hook_handler(event: dict[str, Any], _: Any = None) -> dict[str, Any]:
    """Webhook deliveries alone: a per-trigger signature over the raw bytes, never a JWT; any body (a
    provider's form-encoded or binary payload) reaches the verifier as sent. No resolver state, so local mode
    serves them on their own threads (a synchronous webhook waits for its run)."""
    return hooks.handle(services(), event)


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if str(event.get("rawPath") or event.get("path") or "").startswith(hooks.PREFIX):
        return hook_handler(event)
    refused = door.prepare(event)
    if refused is not None:
        return raw_error(refused.status, refused.code, refused.message, refused.details)
    headers = event["headers"]
    path = event.get("rawPath") or event.get("path") or ""
    if str(path).startswith(broker.PREFIX):  # agent runners: a capability token, never a user JWT
        return broker_handler(event)
    # Authenticate before routing: Powertools validates bodies before any middleware runs, and an
    # anonymous caller must learn nothing but "401" (nor make the API parse its body).
    if not is_public(path):
        verifier = _verifier if _verifier is not None else _from_settings()[1]
        try:
            principal = verifier.verify(headers.get("authorization"))
        except NexodError as exc:
            return raw_error(exc.status, exc.code, exc.message, exc.details)
        app.append_context(principal=principal)
        logger.append_keys(user=principal.sub)
    refused = door.check(event)  # the body's media type and JSON limits, before Powertools parses it
    if refused is not None:
        return raw_error(refused.status, refused.code, refused.message, refused.details)
    try:
        return app.resolve(event, context)
    except Exception:  # the last line of defence: log it, answer a JSON 500 without internals
        logging.getLogger(__name__).exception("unhandled error")
        return raw_error(500, "internal", "internal error")
