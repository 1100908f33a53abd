"""The services an entry point wires together once per process (its composition root)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.actor import UserActor
from ..domain.nodes import Runtime
from ..ports import BlobStore, EventPublisher, Orchestrator, Store, Vault


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
    # Run lifecycle events to the deployment's EventBridge bus (relayed from the outbox after commit).
    publisher: EventPublisher | None = None

    def publish_events(self, workspace_id: str) -> None:
        """Relay the workspace's pending EventBridge events (never raises: they stay queued on failure)."""
        if self.publisher is not None:
            from ..runtime.events import EventRelay

            EventRelay(self.store, self.publisher).flush(workspace_id)
