"""Who starts or changes things: a user, a trigger or the platform itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "trigger", "system"]
ACTOR_KINDS: tuple[ActorKind, ...] = ("user", "trigger", "system")


@dataclass(frozen=True, slots=True)
class UserActor:
    """A person, from a verified token: their subject and, once known, their role in the workspace."""

    sub: str
    role: str | None = None

    @property
    def ref(self) -> ActorRef:
        return ActorRef("user", self.sub)


@dataclass(frozen=True, slots=True)
class TriggerActor:
    """A trigger firing on its own (schedule, webhook, queue, event rule)."""

    id: str
    kind: str

    @property
    def ref(self) -> ActorRef:
        return ActorRef("trigger", self.id)


@dataclass(frozen=True, slots=True)
class SystemActor:
    """The platform, acting for a reason (start-up recovery, reconciliation of an ended execution)."""

    reason: str

    @property
    def ref(self) -> ActorRef:
        return ActorRef("system", self.reason)


Actor = UserActor | TriggerActor | SystemActor


@dataclass(frozen=True, slots=True)
class ActorRef:
    """What a record keeps of an actor: its kind and id (a user's subject, a trigger's id, the system's reason).

    Its JSON is `{"kind": "user", "id": "<sub>"}`."""

    kind: ActorKind
    id: str

    @property
    def label(self) -> str:
        """One string for text columns (`created_by`, the audit log's `actor`): a user's subject as itself,
        anything else prefixed with its kind."""
        return self.id if self.kind == "user" else f"{self.kind}:{self.id}"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id}
