"""Every name, size and limit of the deployment in one place (profiles read these, constructs never hard-code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_SOURCE_DIR = REPO_ROOT / "layers" / "nexod"
AGENT_RUNNER_DIR = REPO_ROOT / "ecs_tasks" / "agent_runner"
CONSOLE_DIST_DIR = REPO_ROOT / "frontend" / "dist"
MIGRATIONS_DIR = LAYER_SOURCE_DIR / "migrations"
# Bundles are cached here by content hash so repeated synths (and the test session) skip pip.
BUNDLE_CACHE_DIR = REPO_ROOT / ".nexod" / "cdk-bundles"

# Offline synth: a fake environment. A real deploy takes the CLI's account and region instead.
FAKE_ACCOUNT = "123456789012"
FAKE_REGION = "us-east-1"
# `make synth`, `make cost` and tests/infra synthesize production offline with this (reserved domain).
OFFLINE_ALARM_EMAIL = "alarms@example.invalid"
# ECR keeps this many agent images; older ones expire (a rollback further back rebuilds and pushes).
AGENT_IMAGES_KEPT = 5
CDK_QUALIFIER = "hnb659fds"  # the default bootstrap qualifier (`cdk bootstrap` without --qualifier)

PYTHON_VERSION = "3.12"
LITELLM_PIN = "litellm==1.102.4"
# Knowledge bases (issue 10) ride in the LLM layer: the LLM runner embeds, reads PDFs and talks to Pinecone
# for rag nodes and for the API (which may not read credentials). trafilatura (+~60 MB with babel and lxml)
# and wordllama (+~120 MB with numpy) do not fit beside LiteLLM in 250 MB: HTML falls back to the standard
# library's parser, and AWS embeds with a provider's model (docs/decisions.md, 2026-11-26).
KNOWLEDGE_PINS = ("pgvector==0.5.1", "pinecone==10.2.0", "pypdf==7.1.1")
# Provided by the Lambda Python runtime: shipping them again would push the node runner over 250 MB.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Dead weight inside the LLM layer: the LiteLLM proxy's dashboard UI (static files) and its OpenAPI UI.
LLM_LAYER_PRUNE = ("litellm/proxy/_experimental", "litellm/proxy/swagger")

# Handlers of the contract with the application code (functions/ is the code asset root).
API_HANDLER = "api.handler.handler"
NODE_RUNNER_HANDLER = "steps.node_runner.handler"  # the core runner: nodes of the `core` runtime, no LiteLLM
LLM_RUNNER_HANDLER = "steps.llm_runner.handler"  # nodes of the `llm` runtime: the only function with the LLM layer
EXECUTION_EVENTS_HANDLER = "steps.execution_events.handler"
MIGRATE_HANDLER = "ops.migrate.handler"
REMIND_HANDLER = "ops.remind.handler"  # approval notices and reminders (EventBridge Scheduler)
RUN_STARTER_HANDLER = "triggers.run_starter.handler"  # schedule and EventBridge triggers (issue 12)
SQS_INGRESS_HANDLER = "triggers.sqs_ingress.handler"  # the SQS ingress queue's consumer (issue 12)
WEBHOOK_SECRET_PREFIX = "trigger."  # noqa: S105 - a name prefix. The vault name of a webhook's key (nexod.services.triggers.secret_name)
TRIGGER_RULE_INFIX = "trg-"  # trigger rules are `<prefix>-<profile>-trg-<trigger id>`
TEST_MACHINE_INFIX = "test-"  # `<prefix>-test-<ws8>-<flow>`: a flow's test state machine (services/test_runs)
# Agent and crew nodes (issue 10): the launcher starts the Fargate runner (core layer only, no LiteLLM, no
# crewai); the broker is the runner's only door into Nexod (LLM layer: it is the LLM gateway).
AGENT_LAUNCHER_HANDLER = "steps.agent_launcher.handler"
BROKER_HANDLER = "api.handler.broker_handler"
BROKER_PATH = "v1/broker/"  # below the broker's function URL (which ends with "/")
BROKER_TIMEOUT_SECONDS = 900  # a runner's LLM call may take minutes: no API Gateway 29 s cap on its URL
AGENT_LAUNCHER_TIMEOUT_SECONDS = 60
AGENT_CONTAINER = "agent-runner"  # nexod.adapters.launcher_ecs.EcsLauncher.container overrides this name
AGENT_CPU = 1024  # 1 vCPU
AGENT_MEMORY_MIB = 3072  # 3 GB

DB_NAME = "nexod"
DB_ADMIN_USER = "nexod_admin"
DB_APP_USER = "nexod_app"
DB_PORT = 5432

# Workspace credentials: one secret per credential, `nexod/ws/<workspace_id>/<credential_id>`.
# The reader role allows exactly `<prefix>/<its session tag>/*`.
WORKSPACE_SECRET_ROOT = "ws"  # noqa: S105 - a name segment, not a password
WORKSPACE_TAG_KEY = "nexod:workspace"
CREDENTIAL_TAG_KEY = "nexod:credential"  # the vault's second tag (adapters/vault_secretsmanager.py)
PAYLOAD_PREFIX = "ws"  # large node outputs: ws/<workspace>/runs/<run>/... in the payload bucket

# Custom metrics (EMF, nexod.adapters.powertools): namespace and the `service` dimension of each emitter;
# the other dimension is `profile` (NEXOD_PROFILE).
METRICS_NAMESPACE = "Nexod"
NODE_RUNNER_SERVICE = "nexod-node-runner"
EXECUTION_EVENTS_SERVICE = "nexod-execution-events"

STEP_FUNCTIONS_STATUS_EVENT = "Step Functions Execution Status Change"
LIVE_ALIAS = "live"

API_THROTTLE_RATE = 50
API_THROTTLE_BURST = 100
# The only route without a JWT: answered by the API Lambda, throttled on its own so that anonymous
# polling can neither run up the bill nor eat the authenticated routes' share of the stage limit.
HEALTH_ROUTE = "GET /v1/health"
HEALTH_THROTTLE_RATE = 2
HEALTH_THROTTLE_BURST = 5
# Everything the API serves lives under /v1; nothing else is routed (API Gateway answers 404 itself).
API_ROUTE_PATH = "/v1/{proxy+}"
# Webhook deliveries (issue 12): no JWT (a per-trigger HMAC signs them), a budget of their own below the API's.
HOOK_ROUTE = "POST /v1/hooks/{id}"
HOOK_THROTTLE_RATE = 20
HOOK_THROTTLE_BURST = 40
HOOK_MAX_BODY_BYTES = 1024 * 1024  # the handler answers 413 above it (API Gateway's own cap is 10 MB)
NODE_RUNNER_TIMEOUT_SECONDS = 900  # both runner functions
# Unzipped size cap (function code + its layers, nexod_cdk.sizes) of the functions without LiteLLM: the API
# and the core runner. tests/infra checks it, and Lambda's own 250 MB limit for every function.
SMALL_FUNCTION_CAP_MB = 50
API_TIMEOUT_SECONDS = 29


@dataclass(frozen=True)
class Profile:
    """What differs between the cheapest sane deployment and a production one."""

    name: str
    max_azs: int
    # "ipv6": dual-stack subnets + egress-only internet gateway ($0 idle; the endpoints must speak IPv6).
    # "nat-instance": one t4g.nano NAT instance (IPv4 to anything, ~$7/month).
    # "nat-gateway": one NAT gateway per AZ (managed, ~$33/month each).
    egress: str
    nat_count: int
    db_min_acu: float
    db_max_acu: float
    db_auto_pause_minutes: int | None
    db_readers: int
    db_backup_days: int
    deletion_protection: bool
    log_retention_days: int
    payload_retention_days: int  # large node outputs in S3 expire after this (the rows keep a pointer)
    rotate_secrets: bool
    dashboard: bool
    mfa_required: bool
    lambda_memory_mb: int
    node_runner_memory_mb: int
    # Production refuses to synthesize without an alarm email; starter may (alarms then only reach the
    # topic, whose ARN is an output: subscribe to it later). See docs/deploy.md.
    alarm_email_required: bool
    # Alarm when this many connections are open (Aurora's max_connections follows max ACU).
    db_connections_alarm: int
    # Cognito may redirect to the console on localhost (a developer running `npm run dev` against it).
    allow_localhost_callback: bool


PROFILES: dict[str, Profile] = {
    "starter": Profile(
        name="starter",
        max_azs=2,  # an Aurora subnet group needs two AZs even with a single (writer) instance
        egress="ipv6",
        nat_count=0,
        db_min_acu=0,
        db_max_acu=4,
        db_auto_pause_minutes=10,
        db_readers=0,
        db_backup_days=7,
        deletion_protection=False,
        log_retention_days=30,
        payload_retention_days=90,
        rotate_secrets=False,
        dashboard=False,
        mfa_required=False,
        lambda_memory_mb=512,
        node_runner_memory_mb=1024,
        alarm_email_required=False,
        db_connections_alarm=100,
        allow_localhost_callback=True,
    ),
    "production": Profile(
        name="production",
        max_azs=2,
        egress="nat-gateway",
        nat_count=2,
        db_min_acu=0.5,
        db_max_acu=16,
        db_auto_pause_minutes=None,
        db_readers=1,
        db_backup_days=30,
        deletion_protection=True,
        log_retention_days=365,
        payload_retention_days=365,
        rotate_secrets=True,
        dashboard=True,
        mfa_required=True,
        lambda_memory_mb=1024,
        node_runner_memory_mb=1769,  # one full vCPU
        alarm_email_required=True,
        db_connections_alarm=500,
        allow_localhost_callback=False,
    ),
}

# CloudWatch Logs vended-delivery APIs (state machine logging). AWS offers no resource-level
# permissions for them, so they are the one place a `Resource: "*"` is unavoidable.
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
)
# What setting up delivery may also need: reading log groups and resource policies, and writing the log
# group's resource policy when it lacks one. AWS documents these on `log-group:*` ARNs, so they are
# scoped to this account and region instead of `*` ("Logs sent to CloudWatch Logs", user permissions).
LOG_DELIVERY_POLICY_ACTIONS = (
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
