"""The local composition root: the same services, handlers and ASL as AWS, on one machine."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from ..adapters.broker_keys import local_broker_key
from ..adapters.launcher_local import SubprocessLauncher
from ..adapters.moto_glue import Handler
from ..adapters.postgres import Database, PostgresStore
from ..adapters.stepfunctions_moto import MotoStepFunctionsOrchestrator
from ..auth import JwtVerifier
from ..domain.compiler import substitute
from ..domain.flow import MAX_NODES
from ..domain.nodes import Runtime
from ..ports import LLM, EventPublisher
from ..ports.agents import AgentTaskBoard
from ..runtime.agent_launch import AgentLaunch
from ..runtime.events import BackgroundRelay, EventRelay
from ..runtime.runner import NodeRunner
from ..services import approvals, runs, test_runs
from ..services.agent_tools import AgentMemories, FlowRuns, KnowledgeBases
from ..services.broker import Broker, CapabilityTokens
from ..services.context import Services
from ..services.health import HealthBoard
from ..settings import Settings
from ..wiring import (
    agent_board,
    approval_links_from_settings,
    approval_notices,
    blob_store_from_settings,
    build_node_runner,
    knowledge_engine,
    llm_from_settings,
    llm_gateway,
    vault_from_settings,
)
from . import pg
from .bell import EventBell
from .ingress import IngressDoor, IngressLoop, LocalIngress
from .issuer import AUDIENCE, LocalIssuer
from .model import OfflineDefaultLLM, OfflineModel
from .scheduler import SchedulerLoop
from .supervisor import Supervisor

log = logging.getLogger(__name__)
# Connections to the embedded server that the app's pool leaves to others: the admin pool (2), the
# supervisor's check, `psql`, the CLI and tests.
LOCAL_POOL_HEADROOM = 16
NODE_RUNNER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:nexod-node-runner"
LLM_RUNNER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:nexod-llm-runner"
AGENT_LAUNCHER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:nexod-agent-launcher"
RUNNER_ARNS = {Runtime.CORE: NODE_RUNNER_ARN, Runtime.LLM: LLM_RUNNER_ARN, Runtime.FARGATE: AGENT_LAUNCHER_ARN}
ROLE_ARN = "arn:aws:iam::123456789012:role/nexod-state-machine"
SWEEP_SECONDS = 60.0  # approval notices and reminders (AWS: an EventBridge schedule, every 5 minutes)


def local_broker(
    tokens: CapabilityTokens, settings: Settings, services: Services, llm_runner: NodeRunner, board: AgentTaskBoard
) -> Broker:
    """The broker of local mode: its HMAC key in .localdb/keys/broker.key (0600), tasks in Postgres like in
    AWS, LLM calls through the same gateway as llm nodes, tools through the same outbound guard."""
    from ..adapters.outbound_http import GuardedHttp

    http = GuardedHttp()
    return Broker(
        tokens,
        board,
        llm_runner.tools.gateway,
        outbound=lambda: http,
        store=services.store,
        vault=services.vault,
        knowledge=KnowledgeBases(services),
        flows=FlowRuns(services),
        memory=AgentMemories(services),
        allow_hosts=settings.outbound_allow_hosts,
    )


@dataclass
class LocalPlatform:
    settings: Settings
    postgres: pg.LocalPostgres
    services: Services
    runner: NodeRunner
    orchestrator: MotoStepFunctionsOrchestrator
    issuer: LocalIssuer
    verifier: JwtVerifier
    admin_db: Database
    supervisor: Supervisor
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # The agent runners' broker (capability tokens, the in-memory task board, the LLM runtime's gateway).
    broker: Broker | None = None
    event_bell: EventBell = field(default_factory=EventBell)
    # Fires schedule triggers within a second of their due time (issue 12).
    scheduler: SchedulerLoop | None = None
    # Drains moto's SQS ingress queue and the buses eventbridge triggers listen on (issue 12).
    ingress: IngressLoop | None = None
    ingress_door: IngressDoor | None = None

    @property
    def health(self) -> HealthBoard:
        return self.supervisor.board

    @classmethod
    def start(
        cls,
        state_dir: Path,
        base_url: str = "http://127.0.0.1:8000",
        settings: Settings | None = None,
        jwks_client: Any = None,
        supervisor: Supervisor | None = None,
        offline: OfflineModel | None = None,
    ) -> LocalPlatform:
        """Start Postgres (migrated), the orchestrator and the node runner; replay published machines.

        `supervisor` watches what the platform owns (Postgres here; the caller may already supervise
        more, such as the offline model). `offline` makes model `default` the offline model.
        """
        import time

        from functions.steps import agent_launcher as agent_launcher_handler
        from functions.steps import llm_runner as llm_runner_handler
        from functions.steps import node_runner as node_runner_handler

        supervisor = supervisor or Supervisor(HealthBoard())
        started = time.monotonic()
        postgres = pg.start(state_dir / "pg")
        timings = {"database": time.monotonic() - started}
        supervisor.supervise(pg.PostgresPart(postgres))
        issuer_url = base_url.rstrip("/") + "/local-issuer"
        settings = (settings or Settings()).model_copy(
            update={
                "mode": "local",
                "database_url": postgres.app_url,
                "auth_issuer": issuer_url,
                "auth_audience": AUDIENCE,
                "node_runner_arn": NODE_RUNNER_ARN,
                "llm_runner_arn": LLM_RUNNER_ARN,
                "state_machine_role_arn": ROLE_ARN,
                "blob_dir": str(state_dir / "blobs"),
                "vault_key_file": str(state_dir / "keys" / "vault.key"),
                # Approval emails land in .localdb/outbox (`nexod outbox`); their links open this console.
                "console_url": base_url.rstrip("/"),
                "outbox_dir": str(state_dir / "outbox"),
                "approval_link_key_file": str(state_dir / "keys" / "approval-links.key"),
            }
        )
        # One process runs every branch of a Parallel at once: the pool may grow to the widest fan-out a flow
        # can have, bounded by what the server accepts (branches beyond it wait for a connection).
        database = Database(postgres.app_url, max_size=local_pool_size(postgres.admin_url))
        event_bell = EventBell()  # wakes the local server's event streams when events commit
        store = PostgresStore(database, on_events=event_bell.ring)
        # The node runners' view of the same pool: their statements are planned once (`generic_plans`).
        runner_store = PostgresStore(database, on_events=event_bell.ring, generic_plans=True)
        # Credential values: AES-256-GCM in this Postgres, the key in .localdb/keys/vault.key (refused when
        # others can read it).
        vault = vault_from_settings(settings, reads=True, writes=True, db=database)
        llm: Callable[[], LLM] | None = None
        if offline is not None:
            model = offline

            def llm() -> LLM:
                return OfflineDefaultLLM(model, supervisor.board, llm_from_settings(settings))

        holder: dict[str, Services] = {}

        def on_end(execution_arn: str, status: str) -> None:
            reconcile_execution(holder["services"], execution_arn, status)

        handlers: dict[str, Handler] = {
            NODE_RUNNER_ARN: node_runner_handler.run_event,
            LLM_RUNNER_ARN: llm_runner_handler.run_event,
            AGENT_LAUNCHER_ARN: agent_launcher_handler.run_event,
        }
        orchestrator = MotoStepFunctionsOrchestrator(handlers, ROLE_ARN, on_end=on_end)
        # Run lifecycle events go to moto's EventBridge (inside the orchestrator's mock) and to the log.
        publisher = local_event_bus(settings)
        # SQS ingress and EventBridge-in (issue 12): moto's queues, drained by the ingress loop.
        local_ingress = LocalIngress.create(settings)
        # Relayed on a thread of its own: a run's start and end make no EventBridge call on their path.
        relay = BackgroundRelay(EventRelay(store, publisher))
        # The two runner functions, as in AWS: each Task reaches the runner of its kind's runtime.
        blobs = blob_store_from_settings(settings)  # .localdb/blobs: large node outputs (DESIGN §2)
        runner = build_node_runner(settings, runner_store, runtime=Runtime.CORE, blobs=blobs, vault=vault, relay=relay)
        node_runner_handler.configure(runner)
        llm_runner = build_node_runner(
            settings, runner_store, llm, runtime=Runtime.LLM, blobs=blobs, vault=vault, relay=relay
        )
        llm_runner_handler.configure(llm_runner)
        # Agent and crew nodes: the launcher starts each agent runner as a subprocess (the agents venv),
        # holding only this server's broker URL and a capability token, as the ECS task does in AWS.
        tokens = CapabilityTokens(local_broker_key(state_dir / "keys" / "broker.key"))
        launch = AgentLaunch(tokens.mint, SubprocessLauncher(log_dir=state_dir / "logs" / "agents"), base_url)
        agent_launcher = build_node_runner(
            settings, runner_store, runtime=Runtime.FARGATE, blobs=blobs, vault=vault, relay=relay, agents=launch
        )
        agent_launcher_handler.configure(agent_launcher)
        # A finished callback node completes its Task at once (a memo hit).
        for each in (runner, llm_runner, agent_launcher):
            each.tasks = orchestrator
        supervisor.board.report("orchestrator", "ready", "moto's Step Functions interpreter, in this process")
        services = Services(
            store=store,
            orchestrator=orchestrator,
            runner_arns=RUNNER_ARNS,
            state_machine_prefix=settings.state_machine_prefix,
            blobs=blobs,
            vault=vault,
            knowledge=knowledge_engine(settings, store, vault, llm_gateway(settings, store, vault, llm)),
            default_embedding_model=settings.default_embedding_model,
            pinecone_hosts=tuple(settings.pinecone_hosts),
            publisher=publisher,
            relay=relay,
            approval_links=approval_links_from_settings(settings),
            notices=approval_notices(settings, store, vault),
            hook_base_url=base_url.rstrip("/"),
            event_rules=local_ingress.rules,
            nexod_bus=settings.event_bus_name or LOCAL_EVENT_BUS,
            ingress_queue_url=local_ingress.queue.url,
            test_run_retention_days=settings.test_run_retention_days,
        )
        holder["services"] = services
        issuer = LocalIssuer(state_dir / "keys", issuer_url)
        verifier = JwtVerifier(issuer_url, AUDIENCE, settings.jwks_url, jwks_client=jwks_client)
        platform = cls(
            settings,
            postgres,
            services,
            runner,
            orchestrator,
            issuer,
            verifier,
            Database(postgres.admin_url, max_size=2, name="nexod-admin"),
            supervisor,
            timings,
            event_bell=event_bell,
        )
        board = agent_board(store, orchestrator, llm_runner.outputs)
        platform.broker = local_broker(tokens, settings, services, llm_runner, board)
        platform.replay_machines()
        platform.interrupt_in_flight()
        platform.start_sweeper()
        platform.scheduler = SchedulerLoop(services, platform.admin_db)
        platform.scheduler.start()
        platform.ingress, platform.ingress_door = local_ingress.start(services, platform.admin_db)
        return platform

    def start_sweeper(self, every: float = SWEEP_SECONDS) -> None:
        """The local twin of the ops function's schedule: approval notices and reminders, every minute."""
        import threading

        stop = threading.Event()

        def sweep() -> None:
            while not stop.wait(every):
                try:
                    approvals.remind_due(self.services)
                except Exception:
                    log.exception("the approval reminder sweep failed (it runs again in %s s)", every)
                try:
                    test_runs.sweep(self.services)  # test runs of drafts past their retention (issue 13)
                except Exception:
                    log.exception("the test-run sweep failed (it runs again in %s s)", every)

        thread = threading.Thread(target=sweep, name="nexod-approval-sweeper", daemon=True)
        thread.start()
        self.extra["sweeper_stop"] = stop

    def workspace_ids(self) -> list[str]:
        with self.admin_db.connection() as conn:
            return [str(r["id"]) for r in conn.execute("SELECT id FROM workspaces ORDER BY created_at").fetchall()]

    def replay_machines(self) -> int:
        """moto starts empty: publish every stored version again, in order, so their ARNs resolve."""
        with self.admin_db.connection() as conn:
            rows = conn.execute(
                "SELECT v.workspace_id, v.flow_id, v.version, v.asl, v.state_machine_version_arn, f.live_version"
                # Test snapshots of drafts (negative versions) go to the flow's test machine, in the order made.
                " FROM flow_versions v JOIN flows f ON f.id = v.flow_id"
                " ORDER BY v.flow_id, v.version < 0, abs(v.version)"
            ).fetchall()
        from ..services.flows import machine_name
        from ..services.test_runs import test_machine_name

        for row in rows:
            named = test_machine_name if row["version"] < 0 else machine_name
            name = named(self.services, str(row["workspace_id"]), str(row["flow_id"]))
            machine = self.orchestrator.publish(name, substitute(row["asl"], RUNNER_ARNS), f"version {row['version']}")
            if machine.version_arn != row["state_machine_version_arn"]:
                log.warning(
                    "replayed %s as %s (stored %s)",
                    name,
                    machine.version_arn,
                    row["state_machine_version_arn"],
                )
            if row["version"] == row["live_version"]:
                self.orchestrator.set_live(machine.state_machine_arn, machine.version_arn)
        return len(rows)

    def interrupt_in_flight(self) -> int:
        return sum(runs.interrupt_in_flight(self.services, ws) for ws in self.workspace_ids())

    def close(self) -> None:
        stop = self.extra.get("sweeper_stop")
        if stop is not None:
            stop.set()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.ingress is not None:
            self.ingress.stop()
        self.supervisor.stop()
        if isinstance(self.services.relay, BackgroundRelay):  # before moto's EventBridge goes away
            self.services.relay.close()
        self.orchestrator.close()
        for db in (self.admin_db,):
            db.close()
        store = self.services.store
        if isinstance(store, PostgresStore):
            store.db.close()
        self.postgres.stop()


def local_pool_size(admin_url: str) -> int:
    """The app pool's size: the widest `Parallel` a flow can compile to (every node a branch), at most the
    connections the embedded server accepts from ordinary roles, less `LOCAL_POOL_HEADROOM`."""
    with psycopg.connect(admin_url) as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - coalesce(current_setting('reserved_connections', true)::int, 0)"
        ).fetchone()
    assert row is not None
    return max(1, min(MAX_NODES, int(row[0]) - LOCAL_POOL_HEADROOM))


LOCAL_EVENT_BUS = "nexod-runs"


def local_event_bus(settings: Settings) -> EventPublisher:
    """moto's EventBridge with the deployment's bus created (call inside the orchestrator's mock)."""
    import boto3

    from ..adapters.eventbridge import EventBridgePublisher

    client = boto3.client(
        "events",
        region_name=settings.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto, in-process only
    )
    name = settings.event_bus_name or LOCAL_EVENT_BUS
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_event_bus(Name=name)
    return EventBridgePublisher(client, name)


def reconcile_execution(services: Services, execution_arn: str, status: str) -> None:
    """Local twin of the EventBridge execution-events Lambda."""
    import json

    try:
        described = services.orchestrator.client.describe_execution(executionArn=execution_arn)  # type: ignore[attr-defined]
        run = json.loads(described.get("input") or "{}").get("run") or {}
    except Exception:
        return
    if not (run.get("id") and run.get("ws")):
        return
    if status != "SUCCEEDED" and runs.reconcile(services.store, str(run["ws"]), str(run["id"]), status, execution_arn):
        services.publish_events(str(run["ws"]))
    runs.admit_queued(services, str(run["ws"]))  # its slot is free: a run a concurrency limit held may start


def psql_admin(platform: LocalPlatform) -> psycopg.Connection[Any]:
    return psycopg.connect(platform.postgres.admin_url, autocommit=True)
