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
    from .ports import LLM, BlobStore, EventPublisher, Orchestrator, Scheduler, Store, Vault
    from .runtime.blobs import OutputBlobs
    from .runtime.knowledge import KnowledgeEngine
    from .runtime.llm_gateway import LlmGateway
    from .runtime.runner import NodeRunner


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
RUNNER_RUNTIMES = (Runtime.CORE, Runtime.LLM)


def runner_arns(settings: Settings) -> dict[Runtime, str]:
    """The function ARN of each runner runtime, which `compiler.substitute` puts in published ASL."""
    return {Runtime.CORE: settings.node_runner_arn, Runtime.LLM: settings.llm_runner_arn}


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


def event_publisher_from_settings(settings: Settings) -> EventPublisher | None:
    """The deployment's EventBridge bus (`NEXOD_EVENT_BUS_NAME`), or none: events then stay in Postgres."""
    if not settings.event_bus_name:
        return None
    import boto3

    from .adapters.eventbridge import EventBridgePublisher

    return EventBridgePublisher(boto3.client("events", region_name=settings.region), settings.event_bus_name)


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

        store = PostgresStore(Database(DatabaseConninfo(settings), max_size=1, connect_retry_seconds=120))
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
    tools = Toolbox(runtime=runtime, outbound=lambda: http, llm=model, gateway=gateway, knowledge=knowledge)
    outputs = output_blobs(settings, blobs if blobs is not None else blob_store_from_settings(settings))
    if tasks is None and settings.mode == "aws":
        # Only SendTaskSuccess, for a callback node that already finished (a memo hit): no role is passed.
        import boto3

        from .adapters.stepfunctions import StepFunctionsOrchestrator

        tasks = StepFunctionsOrchestrator(
            boto3.client("stepfunctions", region_name=settings.region), settings.state_machine_role_arn
        )
    from .runtime.callbacks import CallbackCompletions

    if publisher is None:
        publisher = event_publisher_from_settings(settings)  # run lifecycle events out to EventBridge
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
    return runner
