"""The services an entry point wires together once per process (its composition root)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..domain.actor import UserActor
from ..domain.nodes import Runtime
from ..ports import (
    BlobStore,
    EventPublisher,
    EventRules,
    KnowledgeWorker,
    Orchestrator,
    ReminderClock,
    Scheduler,
    Store,
    Vault,
)

if TYPE_CHECKING:
    from ..runtime.callbacks import CallbackCompletions
    from ..runtime.events import Relay
    from .approval_links import LinkSigner
    from .approval_notices import ApprovalNotices


@dataclass(frozen=True)
class Principal:
    """The caller, from a verified JWT."""

    sub: str
    email: str | None = None
    name: str | None = None

    def as_user(self) -> dict[str, Any]:
        return {"sub": self.sub, "email": self.email, "name": self.name}

    def actor(self, role: str | None = None) -> UserActor:
        """The caller as the actor of what they start or change (with their role, once it is known)."""
        return UserActor(self.sub, role)


@dataclass
class Services:
    store: Store
    orchestrator: Orchestrator
    # The function of each runner runtime, put into the ASL at publish (`compiler.substitute`).
    runner_arns: Mapping[Runtime, str]
    state_machine_prefix: str = "nexod"
    blobs: BlobStore | None = None  # where large outputs live (DESIGN §2); the API hydrates their pointers
    vault: Vault | None = None  # credential values: the API writes them, never reads them (DESIGN §7)
    # Reads, embeds and searches knowledge-base documents (issue 10); None: knowledge bases are unavailable.
    knowledge: KnowledgeWorker | None = None
    default_embedding_model: str = "wordllama"
    # Pinecone index hosts besides https://*.pinecone.io a knowledge base may name (local tests' fake).
    pinecone_hosts: tuple[str, ...] = ()

    _callbacks: CallbackCompletions | None = field(default=None, repr=False)

    # Run lifecycle events to the deployment's EventBridge bus (relayed from the outbox after commit).
    publisher: EventPublisher | None = None
    # Who relays them; None: the caller, at once (in a Lambda). Local mode relays on a thread of its own.
    relay: Relay | None = None
    # Signed one-time approval links (issue 11): None answers the public link routes 404.
    approval_links: LinkSigner | None = None
    # Approval emails, chat posts and reminders (issue 11): None sends none (the inbox still shows them).
    notices: ApprovalNotices | None = None

    # Approval reminders' one-time wake-ups (the starter in AWS): a final decision deletes the one waiting.
    reminder_clock: ReminderClock | None = None
    # Schedule triggers in AWS (EventBridge Scheduler); None locally, where the scheduler loop fires them.
    scheduler: Scheduler | None = None
    # Reads webhook secrets (`trigger.<id>`) for the webhook door; None: `vault` (local mode reads it). In AWS
    # the API's vault is write-only, so the hook route needs one that may read `trigger.*` values.
    hook_vault: Vault | None = None
    # Where webhook URLs start (the API's public base URL); empty: the answer names the path alone.
    hook_base_url: str = ""
    # EventBridge-in triggers (issue 12): one rule per trigger (AWS) or the local ingress loop's buses; None:
    # no rules are kept. `nexod_bus` is the bus a trigger without `bus` listens on.
    event_rules: EventRules | None = None
    nexod_bus: str = "nexod-runs"
    # SQS ingress (issue 12): the deployment's ingress queue, shown with sqs triggers.
    ingress_queue_url: str = ""
    # The buses eventbridge triggers may name (AWS: the ones the API's role may put rules on); empty: any.
    trigger_buses: tuple[str, ...] = ()
    # Test runs of drafts are deleted this many days after they started (issue 13; NEXOD_TEST_RUN_RETENTION_DAYS).
    test_run_retention_days: int = 7

    @property
    def callbacks(self) -> CallbackCompletions:
        """Completes parked callback nodes (`nexod.runtime.callbacks`), built on first use."""
        if self._callbacks is None:
            from ..runtime.blobs import OutputBlobs
            from ..runtime.callbacks import CallbackCompletions
            from .json_limits import storable

            outputs = OutputBlobs(self.blobs, storable) if self.blobs is not None else None
            self._callbacks = CallbackCompletions(self.store, self.orchestrator, outputs)
        return self._callbacks

    def publish_events(self, workspace_id: str) -> None:
        """Relay the workspace's pending EventBridge events (never raises: they stay queued on failure)."""
        if self.relay is not None:
            self.relay.flush(workspace_id)
        elif self.publisher is not None:
            from ..runtime.events import EventRelay

            EventRelay(self.store, self.publisher).flush(workspace_id)
