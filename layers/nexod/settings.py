"""Runtime settings, read from NEXOD_* environment variables once per process by a composition root."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# LiteLLM provider prefixes flows may use unless the operator says otherwise: hosted APIs that take an API
# key. Providers that default to this machine (ollama, llamafile, lm_studio...) or sign with the runtime's
# cloud role (bedrock, sagemaker, vertex_ai...) are off until an operator enables them.
DEFAULT_LLM_PROVIDERS = (
    "openai",
    "anthropic",
    "gemini",
    "mistral",
    "groq",
    "cohere",
    "cohere_chat",
    "azure",
    "deepseek",
    "xai",
    "together_ai",
    "fireworks_ai",
    "openrouter",
    "perplexity",
)


class Settings(BaseSettings):
    """Everything an entry point needs to choose its adapters. Domain code never reads the environment."""

    model_config = SettingsConfigDict(env_prefix="NEXOD_", extra="ignore")

    mode: Literal["local", "aws"] = "local"
    # The deployment profile (starter, production; "local" on one machine): the one dimension besides the
    # service that Nexod's custom metrics carry (docs/decisions.md: metric dimensions).
    profile: str = "local"
    # Lambda sets AWS_REGION; NEXOD_REGION overrides it (local tools, tests).
    region: str = Field(default_factory=lambda: os.environ.get("AWS_REGION") or "us-east-1")

    # Database: a URL (local mode) or a Secrets Manager secret in the RDS format
    # {host, port, username, password, dbname} for the app role (AWS). The app role is never the owner.
    database_url: str | None = None
    database_secret_arn: str | None = None
    # Only for the migration entry point: the owner/master credentials.
    admin_database_url: str | None = None
    admin_database_secret_arn: str | None = None

    # Auth: JWTs from Cognito, Clerk or the local issuer. RS256 only.
    auth_issuer: str = "http://127.0.0.1:8000/local-issuer"
    auth_audience: str | None = Field(None, description="Expected aud (Clerk/local) or client_id (Cognito)")
    auth_jwks_url: str | None = None

    # Orchestration.
    # The runner functions the compiled ASL invokes: the core runner (no LiteLLM) and the LLM runner.
    node_runner_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:nexod-node-runner"
    llm_runner_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:nexod-llm-runner"
    state_machine_role_arn: str = "arn:aws:iam::123456789012:role/nexod-state-machine"
    # Agent and crew nodes: the launcher function their Tasks invoke (empty: the deployment has none, and
    # publishing a flow with such a node is refused), and what it starts: the runner's ECS task, where the
    # runner finds the broker (the Broker function's URL + v1/broker/), and the secret holding the capability
    # tokens' key. The ECS task it starts is described by NEXOD_AGENT_* (adapters.launcher_ecs).
    agent_launcher_arn: str = ""
    broker_url: str = ""
    broker_key_secret_arn: str = ""
    state_machine_prefix: str = "nexod"
    state_machine_log_group_arn: str | None = None
    # Test runs of drafts (issue 13) are deleted by the sweeper this many days after they started.
    test_run_retention_days: int = Field(7, ge=1, le=3650)

    # LLMs: the model a node gets when it says "default".
    default_model: str = "openai/gpt-4o-mini"
    # Knowledge bases (issue 10): the embedding model a new knowledge base gets when it names none
    # (`wordllama`: offline, inside its wheel, local mode; in AWS name a provider's model, e.g.
    # openai/text-embedding-3-small), and Pinecone index hosts allowed besides https://*.pinecone.io.
    default_embedding_model: str = "wordllama"
    pinecone_hosts: list[str] = Field(default_factory=list)
    # Local mode only: an OpenAI-compatible server standing in for the default model (offline SmolLM2).
    local_model_base_url: str | None = None

    # LLM providers flows may call (LiteLLM prefixes: "openai" for "openai/gpt-4o-mini"), as JSON:
    # NEXOD_LLM_PROVIDERS='["openai","anthropic","ollama"]'. Their endpoints still pass the outbound guard
    # (a provider defaulting to localhost also needs its host allow-listed).
    llm_providers: list[str] = Field(default_factory=lambda: list(DEFAULT_LLM_PROVIDERS))
    # Providers that sign with ambient cloud credentials need a dedicated role, never the runner's own:
    # NEXOD_LLM_PROVIDER_ROLES='{"bedrock": "arn:aws:iam::123456789012:role/nexod-bedrock"}' (an IAM role
    # ARN LiteLLM assumes for AWS providers; a service-account key file for vertex_ai).
    llm_provider_roles: dict[str, str] = Field(default_factory=dict)

    # Outbound HTTP guard: hosts (host or host:port) allowed despite resolving to private addresses,
    # on top of each workspace's own allow-list.
    outbound_allow_hosts: list[str] = Field(default_factory=list)

    # Large outputs (DESIGN §2): a node output whose JSON exceeds `blob_threshold_bytes` goes to the blob
    # store and its row keeps a pointer. AWS: the payload bucket (and the deployment's KMS key for SSE-KMS);
    # local mode: a folder (`.localdb/blobs`). Neither set: every output stays in PostgreSQL.
    blob_threshold_bytes: int = Field(256 * 1024, ge=1024)
    # The node runner functions' configured memory (CDK sets it from the profile): each node run's compute
    # cost is its measured duration at this many MB (nexod.domain.cost).
    runner_memory_mb: int = Field(1024, ge=128, le=10240)
    blob_bucket: str | None = None
    blob_kms_key_arn: str | None = None
    blob_dir: str | None = None
    # Credential values (DESIGN §7). AWS: one Secrets Manager secret per credential under this prefix
    # (the CDK's `Secrets.environment()`), read through the tag-scoped reader role, encrypted with the key.
    # Local mode: AES-256-GCM in PostgreSQL with the key in `vault_key_file` (created 0600 on first use).
    workspace_secret_prefix: str | None = None
    workspace_secrets_role_arn: str | None = None
    secrets_kms_key_arn: str | None = None
    vault_key_file: str | None = None

    event_bus_name: str | None = None

    # Approval notifications (issue 11). Links in emails are `{console_url}/#/approve/<token>` (the console's
    # route), signed with the key in `approval_link_key_file` (local mode: .localdb/keys/approval-links.key,
    # created 0600) or the
    # Secrets Manager secret `approval_link_key_secret_arn` (AWS). Emails go through SES from
    # `ses_from_address` (its verified identity `ses_identity_arn`), or to `outbox_dir` (local mode).
    console_url: str = "http://127.0.0.1:5173"
    approval_link_key_file: str | None = None
    approval_link_key_secret_arn: str | None = None
    ses_from_address: str | None = None
    ses_identity_arn: str | None = None
    outbox_dir: str | None = None
    # Schedule triggers in AWS (issue 12): EventBridge Scheduler schedules in this group, each targeting the
    # run-starter function through the role (which may only invoke it), retried, then sent to the DLQ.
    # Unset: no schedules are created (local mode fires them from its scheduler loop).
    scheduler_group: str | None = None
    run_starter_arn: str | None = None
    scheduler_role_arn: str | None = None
    scheduler_dlq_arn: str | None = None
    # SQS ingress (issue 12): the deployment's ingress queue (shown with sqs triggers; the CDK's event source).
    ingress_queue_url: str | None = None
    # EventBridge-in triggers (issue 12): a rule per trigger, `<state_machine_prefix>-trg-<id>`, on the Nexod bus
    # (`event_bus_name`) or a named bus, targeting `run_starter_arn`; failed deliveries go to this DLQ.
    event_rules_dlq_arn: str | None = None
    # The buses an eventbridge trigger may listen on (the CDK's Nexod bus and `nexod:triggerBuses`, JSON); empty:
    # any (local mode). The API's role may only manage rules on these.
    trigger_buses: list[str] = []
    # Approval reminders without a sweeper (issue 11, the starter profile, whose Aurora pauses): one
    # EventBridge Scheduler `at(...)` schedule per due notice in this group, invoking the Reminders function
    # (`reminders_function_arn`; the function itself uses its own ARN) through `reminder_role_arn`.
    # Unset: the sweeper sends reminders (production, local mode).
    reminder_schedule_group: str | None = None
    reminders_function_arn: str | None = None
    reminder_role_arn: str | None = None
    # The API's public base URL (webhook URLs in trigger answers); empty: the path alone.
    public_api_url: str = ""
    log_level: str = "INFO"

    @property
    def jwks_url(self) -> str:
        return self.auth_jwks_url or self.auth_issuer.rstrip("/") + "/.well-known/jwks.json"
