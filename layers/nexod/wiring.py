"""Shared pieces of the composition roots: database credentials, the LLM and the node runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from .domain.nodes import Runtime
from .settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from .adapters.postgres import Database
    from .ports import (
        LLM,
        BlobStore,
        EventPublisher,
        EventRules,
        Notifier,
        Orchestrator,
        ReminderClock,
        Scheduler,
        Store,
        Vault,
    )
    from .ports.agents import AgentTaskBoard
    from .runtime.agent_launch import AgentLaunch
    from .runtime.blobs import OutputBlobs
    from .runtime.events import Relay
    from .runtime.knowledge import KnowledgeEngine
    from .runtime.llm_gateway import LlmGateway
    from .runtime.runner import NodeRunner
    from .services.approval_links import LinkSigner
    from .services.approval_notices import ApprovalNotices
    from .services.broker import Broker
    from .services.context import Services


def rds_ca_bundle() -> Path:
    """The Amazon RDS certificate authorities shipped in the package (cdk/rds_ca.py writes them)."""
    return Path(str(resources.files("nexod") / "adapters" / "postgres" / "rds-ca-bundle.pem"))


def conninfo_from_secret(secret: dict[str, Any]) -> str:
    """An RDS-format secret {host, port, username, password, dbname} as a libpq URL.

    TLS with the server's certificate verified against the RDS CAs and its name against the host
    (`verify-full`): `require` would encrypt to whoever answers on that address."""
    user = quote(str(secret["username"]), safe="")
    password = quote(str(secret["password"]), safe="")
    host = quote(str(secret["host"]), safe="")  # a name or an address as is; a socket directory encoded
    dbname = quote(str(secret.get("dbname") or "nexod"), safe="")
    ca = quote(str(rds_ca_bundle()), safe="/")
    return (
        f"postgresql://{user}:{password}@{host}:{secret.get('port', 5432)}/{dbname}"
        f"?sslmode=verify-full&sslrootcert={ca}"
    )


# A cached secret is used this long before Secrets Manager is asked again; an authentication failure (a
# rotated password) re-reads it at once, so this only bounds how stale an unused value may get.
SECRET_MAX_AGE_SECONDS = 300


def _secrets_provider(region: str) -> SecretsProvider:
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    # A client from boto3's default session, like every other AWS client here (Powertools would build its
    # own session otherwise, out of reach of the session-level hooks tests attach: IAM enforcement).
    return SecretsProvider(boto3_client=boto3.client("secretsmanager", region_name=region))


def _secret(arn: str, region: str, refresh: bool = False, provider: SecretsProvider | None = None) -> dict[str, Any]:
    """The secret's JSON value through Powertools parameters (cached `SECRET_MAX_AGE_SECONDS` per provider;
    `refresh` fetches it again)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    provider = provider or _secrets_provider(region)
    try:
        value = provider.get(arn, max_age=SECRET_MAX_AGE_SECONDS, transform="json", force_fetch=refresh)
    except GetParameterError as exc:
        # Powertools wraps AWS's error in a generic one: callers (and logs) get what AWS answered.
        if exc.__context__ is not None:
            raise exc.__context__ from None
        raise
    if not isinstance(value, dict):
        raise RuntimeError(f"secret {arn} is not a JSON object: expected an RDS secret {{host, username, ...}}")
    return value


class DatabaseConninfo:
    """The conninfo a `Database` connects with: the URL from settings, or the deployment's Secrets Manager
    secret read through one Powertools provider (cached; re-read when the server refused the password).

    Called for every new connection, so it must stay cheap: Secrets Manager is asked at most once per
    `SECRET_MAX_AGE_SECONDS`, plus once after each refused password."""

    def __init__(self, settings: Settings, admin: bool = False, secrets: SecretsProvider | None = None) -> None:
        self.url = settings.admin_database_url if admin else settings.database_url
        self.arn = settings.admin_database_secret_arn if admin else settings.database_secret_arn
        self.region = settings.region
        self.admin = admin
        self._provider = secrets  # built on first use otherwise (no boto3 client unless a secret is read)

    def __call__(self, refresh: bool = False) -> str:
        if self.url:
            return self.url
        if not self.arn:
            which = (
                "NEXOD_ADMIN_DATABASE_URL / _SECRET_ARN"
                if self.admin
                else "NEXOD_DATABASE_URL / NEXOD_DATABASE_SECRET_ARN"
            )
            raise RuntimeError(f"no database configured: set {which}")
        if self._provider is None:
            self._provider = _secrets_provider(self.region)
        return conninfo_from_secret(_secret(self.arn, self.region, refresh, self._provider))


def database_conninfo(settings: Settings, admin: bool = False) -> str:
    """The conninfo once (migrations, the CLI); long-lived pools take a `DatabaseConninfo`."""
    return DatabaseConninfo(settings, admin)()


PROVIDER_KEYS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "AZURE_API_KEY",
    "COHERE_API_KEY",
    "AWS_BEARER_TOKEN_BEDROCK",
)


def has_provider_key() -> bool:
    return any(os.environ.get(k) for k in PROVIDER_KEYS)


T = TypeVar("T")


def lazy(factory: Callable[[], T]) -> Callable[[], T]:
    """Build an adapter on first use, once (heavy imports such as litellm stay off the cold path)."""
    box: list[T] = []

    def get() -> T:
        if not box:
            box.append(factory())
        return box[0]

    return get


def llm_from_settings(settings: Settings) -> Any:
    from .adapters.llm_litellm import LiteLLM

    if settings.mode == "local" and settings.local_model_base_url and not has_provider_key():
        # An operator-set stand-in for `default` (tests' stub server); `nexod up` wraps its offline model
        # in `nexod.local.model.OfflineDefaultLLM` instead. The base URL is the operator's, never a flow's.
        return LiteLLM(
            "openai/smollm2-135m-instruct",
            settings.local_model_base_url,
            "local",
            providers=settings.llm_providers,
            provider_roles=settings.llm_provider_roles,
        )
    return LiteLLM(settings.default_model, providers=settings.llm_providers, provider_roles=settings.llm_provider_roles)


# The runtimes whose nodes a node-runner function runs (the others are not Lambda functions).
RUNNER_RUNTIMES = (Runtime.CORE, Runtime.LLM, Runtime.FARGATE)


def runner_arns(settings: Settings) -> dict[Runtime, str]:
    """The function ARN of each runner runtime, which `compiler.substitute` puts in published ASL (the agent
    launcher only where the deployment has one)."""
    arns = {Runtime.CORE: settings.node_runner_arn, Runtime.LLM: settings.llm_runner_arn}
    if settings.agent_launcher_arn:
        arns[Runtime.FARGATE] = settings.agent_launcher_arn
    return arns


def broker_key(settings: Settings) -> bytes:
    """The capability tokens' HMAC key: the deployment's secret in AWS (the API and the launcher read it)."""
    if not settings.broker_key_secret_arn:
        raise ValueError("NEXOD_BROKER_KEY_SECRET_ARN is required to mint or verify agent capability tokens")
    import boto3

    from .adapters.broker_keys import secrets_manager_broker_key

    client = boto3.client("secretsmanager", region_name=settings.region)
    return secrets_manager_broker_key(client, settings.broker_key_secret_arn)


def agent_board(store: Store, tasks: Orchestrator | None, outputs: Any = None) -> AgentTaskBoard:
    """The broker's task board: tasks in Postgres, heartbeats and results through the callback completions."""
    from .runtime.agent_tasks import RunAgentTaskBoard
    from .runtime.callbacks import CallbackCompletions

    return RunAgentTaskBoard(store, CallbackCompletions(store, tasks, outputs))


def ecs_agent_launch(settings: Settings) -> AgentLaunch:
    """The deployed launcher: each agent runner is an ECS Fargate task holding only the broker URL and token."""
    import boto3

    from .adapters.launcher_ecs import ecs_launcher_from_environment
    from .runtime.agent_launch import AgentLaunch
    from .services.broker import CapabilityTokens

    if not settings.broker_url:
        raise ValueError("the agent launcher needs NEXOD_BROKER_URL (the broker function's URL)")
    launcher = ecs_launcher_from_environment(boto3.client("ecs", region_name=settings.region), os.environ)
    return AgentLaunch(CapabilityTokens(broker_key(settings)).mint, launcher, settings.broker_url)


def blob_store_from_settings(settings: Settings) -> BlobStore | None:
    """The deployment's blob store: the S3 payload bucket, a local folder, or none (all outputs in Postgres)."""
    if settings.blob_bucket:
        import boto3

        from .adapters.blobs_s3 import S3BlobStore

        client = boto3.client("s3", region_name=settings.region)
        return S3BlobStore(client, settings.blob_bucket, settings.blob_kms_key_arn)
    if settings.blob_dir:
        from .adapters.blobs_local import LocalBlobStore

        return LocalBlobStore(Path(settings.blob_dir))
    return None


def vault_from_settings(settings: Settings, *, reads: bool, writes: bool, db: Database | None = None) -> Vault | None:
    """The deployment's credential vault, with only the rights the caller has: the API writes and never
    reads values (`reads=False`), the node runners read them through the tag-scoped role (`writes=False`)."""
    if settings.workspace_secret_prefix:
        import boto3

        from .adapters.vault_secretsmanager import SecretsManagerVault, TaggedReaders

        readers = None
        if reads:
            if not settings.workspace_secrets_role_arn:
                raise ValueError("NEXOD_WORKSPACE_SECRETS_ROLE_ARN is required to read credentials")
            session = boto3.session.Session(region_name=settings.region)
            readers = TaggedReaders(
                session.client("sts"),
                settings.workspace_secrets_role_arn,
                lambda **creds: session.client("secretsmanager", **creds),
            )
        manager = boto3.client("secretsmanager", region_name=settings.region) if writes else None
        return SecretsManagerVault(settings.workspace_secret_prefix, manager, readers, settings.secrets_kms_key_arn)
    if settings.vault_key_file and db is not None:
        from .adapters.vault_local import PostgresVault, load_or_create_key

        return PostgresVault(db, load_or_create_key(Path(settings.vault_key_file)))
    return None


def hook_vault_from_settings(settings: Settings) -> Vault | None:
    """The webhook door's reader of webhook keys (`trigger.<id>`) in AWS: the API's own Secrets Manager client,
    whose role may read those names only (cdk: Secrets.allow_read_webhook_secrets). None locally (the
    local vault reads them)."""
    if not settings.workspace_secret_prefix:
        return None
    import boto3

    from .adapters.vault_secretsmanager import SecretsManagerVault

    client = boto3.client("secretsmanager", region_name=settings.region)
    return SecretsManagerVault(settings.workspace_secret_prefix, None, lambda _workspace_id: client)


def event_publisher_from_settings(settings: Settings) -> EventPublisher | None:
    """The deployment's EventBridge bus (`NEXOD_EVENT_BUS_NAME`), or none: events then stay in Postgres."""
    if not settings.event_bus_name:
        return None
    import boto3

    from .adapters.eventbridge import EventBridgePublisher

    return EventBridgePublisher(boto3.client("events", region_name=settings.region), settings.event_bus_name)


def approval_links_from_settings(settings: Settings) -> LinkSigner | None:
    """The approval-link signer: a 0600 key file locally, a Secrets Manager secret in AWS; None without."""
    from .services.approval_links import LinkSigner

    if settings.approval_link_key_secret_arn:
        import boto3

        from .adapters.broker_keys import secrets_manager_link_key

        client = boto3.client("secretsmanager", region_name=settings.region)
        return LinkSigner(secrets_manager_link_key(client, settings.approval_link_key_secret_arn))
    if settings.approval_link_key_file:
        from .adapters.broker_keys import local_broker_key

        return LinkSigner(local_broker_key(Path(settings.approval_link_key_file)))
    return None


def notifier_from_settings(settings: Settings) -> Notifier | None:
    """SES from the configured identity, or the local outbox; chat posts through the guarded client."""
    from .adapters.outbound_http import GuardedHttp

    http = GuardedHttp()
    if settings.ses_from_address:
        import boto3

        from .adapters.notify_ses import SesNotifier

        client = boto3.client("sesv2", region_name=settings.region)
        return SesNotifier(client, settings.ses_from_address, settings.ses_identity_arn, outbound=lambda: http)
    if settings.outbox_dir:
        from .adapters.notify_outbox import LocalOutbox

        return LocalOutbox(Path(settings.outbox_dir), outbound=lambda: http)
    if settings.mode == "aws":
        from .adapters.notify_chat import ChatOnly

        return ChatOnly(lambda: http)
    return None


def approval_notices(
    settings: Settings,
    store: Store,
    vault: Vault | None,
    notifier: Notifier | None = None,
    reminders_arn: str | None = None,
) -> ApprovalNotices | None:
    """Approval emails, chat posts and reminders; None when the deployment has no notifier."""
    from .services.approval_notices import ApprovalNotices

    notifier = notifier or notifier_from_settings(settings)
    if notifier is None:
        return None
    links = approval_links_from_settings(settings)
    return ApprovalNotices(
        store,
        notifier,
        links,
        settings.console_url,
        vault,
        list(settings.outbound_allow_hosts),
        clock=reminder_clock_from_settings(settings, reminders_arn),
    )


def reminder_clock_from_settings(settings: Settings, reminders_arn: str | None = None) -> ReminderClock | None:
    """One-time EventBridge Scheduler schedules for approval reminders, where the deployment names a reminder
    group (the starter); None elsewhere (the sweeper sends them). `reminders_arn`: the target when the caller
    is the Reminders function itself (its own ARN), else `reminders_function_arn`."""
    target = reminders_arn or settings.reminders_function_arn
    if not settings.reminder_schedule_group:
        return None
    import boto3

    from .adapters.reminders_eventbridge import EventBridgeReminderClock

    return EventBridgeReminderClock(
        boto3.client("scheduler", region_name=settings.region),
        group=settings.reminder_schedule_group,
        target_arn=target or "",
        role_arn=settings.reminder_role_arn or "",
    )


def scheduler_from_settings(settings: Settings) -> Scheduler | None:
    """EventBridge Scheduler for schedule triggers, when the deployment names its group and run starter."""
    if not (settings.scheduler_group and settings.run_starter_arn and settings.scheduler_role_arn):
        return None
    import boto3

    from .adapters.scheduler_eventbridge import EventBridgeScheduler

    return EventBridgeScheduler(
        boto3.client("scheduler", region_name=settings.region),
        group=settings.scheduler_group,
        target_arn=settings.run_starter_arn,
        role_arn=settings.scheduler_role_arn,
        dlq_arn=settings.scheduler_dlq_arn,
    )


def event_rules_from_settings(settings: Settings) -> EventRules | None:
    """EventBridge rules for eventbridge triggers, when the deployment names its bus and run starter."""
    if not (settings.event_bus_name and settings.run_starter_arn):
        return None
    import boto3

    from .adapters.event_rules_eventbridge import EventBridgeRules

    return EventBridgeRules(
        boto3.client("events", region_name=settings.region),
        prefix=settings.state_machine_prefix,
        target_arn=settings.run_starter_arn,
        dlq_arn=settings.event_rules_dlq_arn,
    )


def output_blobs(settings: Settings, blobs: BlobStore | None) -> OutputBlobs | None:
    """The node runner's offload policy over `blobs` (the same storable step as the database adapter)."""
    if blobs is None:
        return None
    from .runtime.blobs import OutputBlobs
    from .services.json_limits import storable

    return OutputBlobs(blobs, storable, settings.blob_threshold_bytes)


def llm_gateway(
    settings: Settings, store: Store, vault: Vault | None, model: Callable[[], LLM] | None = None
) -> LlmGateway:
    """The workspace-aware front of the model client: keys from the vault, rate limits, the hard budget."""
    from .adapters.postgres import PostgresStore
    from .adapters.postgres.rate_limits import PostgresRateLimiter
    from .runtime.budget import StoreBudgetGuard
    from .runtime.llm_gateway import LlmGateway

    # The rate limits' shared counters live in the same database (one short transaction per call).
    limiter = PostgresRateLimiter(store.db) if isinstance(store, PostgresStore) else None
    return LlmGateway(
        store,
        vault,
        model or (lambda: llm_from_settings(settings)),
        environment_keys=settings.mode != "aws",
        default_model=settings.default_model,
        limiter=limiter,
        budget=StoreBudgetGuard(store),  # the hard monthly budget, checked before every provider call
    )


def knowledge_engine(settings: Settings, store: Store, vault: Vault | None, gateway: LlmGateway) -> KnowledgeEngine:
    """Knowledge bases at work (issue 10): pgvector in the deployment's database, Pinecone with the
    workspace's key, the offline `wordllama` embedder where its wheel is installed, LiteLLM otherwise.
    Every heavy import waits for first use."""
    from .adapters.postgres import PostgresStore
    from .runtime.knowledge import KnowledgeEngine

    def pgvector() -> Any:
        from .adapters.vectors_pgvector import PgVectorStore

        if not isinstance(store, PostgresStore):
            raise RuntimeError("pgvector needs the PostgreSQL store")
        return PgVectorStore(store.db)

    def embedder() -> Any:
        from importlib.util import find_spec

        from .adapters.embeddings_wordllama import RoutedEmbedder, WordLlamaEmbedder

        offline = WordLlamaEmbedder() if find_spec("wordllama") is not None else None
        return RoutedEmbedder(offline, lazy(lambda: llm_from_settings(settings)))

    def reader() -> Any:
        from .adapters.documents import DocumentTextReader

        return DocumentTextReader()

    def pinecone(host: str, key: str) -> Any:
        from .adapters.vectors_pinecone import PineconeVectorStore

        return PineconeVectorStore.connect(host, key)

    return KnowledgeEngine(
        embedder=lazy(embedder),
        pgvector=lazy(pgvector),
        reader=lazy(reader),
        pinecone=pinecone,
        vault=vault,
        gateway=gateway,
        store=store,
    )


def build_node_runner(
    settings: Settings,
    store: Store | None = None,
    llm: Callable[[], LLM] | None = None,
    *,
    runtime: Runtime,
    blobs: BlobStore | None = None,
    vault: Vault | None = None,
    tasks: Orchestrator | None = None,
    publisher: EventPublisher | None = None,
    agents: AgentLaunch | None = None,
    relay: Relay | None = None,
) -> NodeRunner:
    """The node runner of every composition root (the step Lambdas, local mode) for one runtime.

    `core` gets the store and guarded HTTP and never a model client: its function ships without LiteLLM.
    `llm` also gets the model client, built on the first LLM node (LiteLLM from settings unless `llm` is
    given: local mode wraps its offline model).

    `store` defaults to the deployment's Postgres with at most one connection, which waits up to 120 s for
    Aurora to resume (the Task's timeout is 900 s: giving up early would fail the node). Local mode passes
    its own, sized for a whole run in one process. `blobs` (where large outputs go, DESIGN §2) defaults to
    the settings' blob store (`blob_store_from_settings`). The model client is metered, so that the root can
    report each node run's tokens and cost (`nexod.observability.metered`)."""
    from .adapters.outbound_http import GuardedHttp
    from .observability import MeteredLLM
    from .runtime.events import EventRelay
    from .runtime.executors import Toolbox
    from .runtime.runner import NodeRunner

    if runtime not in RUNNER_RUNTIMES:
        raise ValueError(f"runtime '{runtime.value}' has no node-runner function")
    if llm is not None and runtime is not Runtime.LLM:
        raise ValueError(f"the '{runtime.value}' runner carries no model client")
    if store is None:
        from .adapters.postgres import Database, PostgresStore

        database = Database(DatabaseConninfo(settings), max_size=1, connect_retry_seconds=120)
        store = PostgresStore(database, generic_plans=True)
    if vault is None:
        vault = vault_from_settings(settings, reads=True, writes=False)
    http = GuardedHttp()
    client = llm or (lambda: llm_from_settings(settings))
    model = lazy(lambda: MeteredLLM(client())) if runtime is Runtime.LLM else None
    gateway = None
    knowledge = None
    if model is not None:
        # Keys per workspace from the vault; in AWS never from the process environment.
        gateway = llm_gateway(settings, store, vault, model)
        knowledge = knowledge_engine(settings, store, vault, gateway)  # rag_search / rag_upsert nodes
    if runtime is Runtime.FARGATE and agents is None and settings.mode == "aws":
        agents = ecs_agent_launch(settings)
    tools = Toolbox(
        runtime=runtime, outbound=lambda: http, llm=model, gateway=gateway, knowledge=knowledge, agents=agents
    )
    outputs = output_blobs(settings, blobs if blobs is not None else blob_store_from_settings(settings))
    if tasks is None and settings.mode == "aws":
        # Only SendTaskSuccess, for a callback node that already finished (a memo hit): no role is passed.
        import boto3

        from .adapters.stepfunctions import StepFunctionsOrchestrator

        tasks = StepFunctionsOrchestrator(
            boto3.client("stepfunctions", region_name=settings.region), settings.state_machine_role_arn
        )
    from .runtime.callbacks import CallbackCompletions

    if relay is None:  # run lifecycle events out to EventBridge, relayed by the runner itself (a Lambda)
        if publisher is None:
            publisher = event_publisher_from_settings(settings)
        relay = EventRelay(store, publisher) if publisher is not None else None
    runner = NodeRunner(
        store,
        tools,
        settings.outbound_allow_hosts,
        outputs,
        vault,
        memory_mb=settings.runner_memory_mb,
        tasks=tasks,
        relay=relay,
    )
    runner.expiry = CallbackCompletions(store, tasks, outputs, runner.flows)  # timed-out callbacks' outcomes
    notices = approval_notices(settings, store, vault)
    if notices is not None:  # an approval's emails and chat post, after the claim's unit of work committed
        runner.on_parked = notices.notify_parked
    return runner


def deployed_broker(settings: Settings) -> Broker:
    """The agent broker of a deployment (the Broker function, `functions/api/handler.broker_handler`): agent
    runners' only door into Nexod. It carries the
    LLM layer (its LLM calls go through the gateway with the workspace's keys, limits and budget), reads
    credentials through the tag-scoped reader role like the node runners, completes agent nodes' Tasks and
    starts sub-flows (run_flow) through Step Functions."""
    import boto3

    from .adapters.outbound_http import GuardedHttp
    from .adapters.postgres import Database, PostgresStore
    from .adapters.stepfunctions import StepFunctionsOrchestrator
    from .observability import MeteredLLM
    from .services.agent_tools import AgentMemories, FlowRuns, KnowledgeBases
    from .services.broker import Broker, CapabilityTokens
    from .services.context import Services

    store = PostgresStore(Database(DatabaseConninfo(settings), max_size=2, connect_retry_seconds=20))
    vault = vault_from_settings(settings, reads=True, writes=False)
    model = lazy(lambda: MeteredLLM(llm_from_settings(settings)))
    gateway = llm_gateway(settings, store, vault, model)
    orchestrator = StepFunctionsOrchestrator(
        boto3.client("stepfunctions", region_name=settings.region),
        settings.state_machine_role_arn,
        settings.state_machine_log_group_arn,
    )
    blobs = blob_store_from_settings(settings)
    services = Services(
        store=store,
        orchestrator=orchestrator,
        runner_arns=runner_arns(settings),
        state_machine_prefix=settings.state_machine_prefix,
        blobs=blobs,
        vault=None,  # the broker reads credential values (below); it never writes them
        knowledge=knowledge_engine(settings, store, vault, gateway),
        default_embedding_model=settings.default_embedding_model,
        pinecone_hosts=tuple(settings.pinecone_hosts),
        publisher=event_publisher_from_settings(settings),
    )
    http = GuardedHttp()
    return Broker(
        CapabilityTokens(broker_key(settings)),
        agent_board(store, orchestrator, output_blobs(settings, blobs)),
        gateway,
        outbound=lambda: http,
        store=store,
        vault=vault,
        knowledge=KnowledgeBases(services),
        flows=FlowRuns(services),
        memory=AgentMemories(services),
        allow_hosts=settings.outbound_allow_hosts,
    )


def run_starting_services(settings: Settings, store: Store) -> Services:
    """What a function that starts runs outside the API needs (the execution-events function starting runs a
    concurrency limit held): the store, Step Functions and the bus."""
    import boto3

    from .adapters.stepfunctions import StepFunctionsOrchestrator
    from .services.context import Services

    return Services(
        store=store,
        orchestrator=StepFunctionsOrchestrator(
            boto3.client("stepfunctions", region_name=settings.region),
            settings.state_machine_role_arn,
            settings.state_machine_log_group_arn,
        ),
        runner_arns=runner_arns(settings),
        state_machine_prefix=settings.state_machine_prefix,
        publisher=event_publisher_from_settings(settings),
    )
