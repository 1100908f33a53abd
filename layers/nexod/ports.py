"""Ports: what the domain and runtime need from the outside world, named in the domain's words."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .adapters.postgres.store import Tx


class Store(Protocol):
    """Durable records, one workspace-scoped transaction at a time."""

    def tx(self, workspace_id: str | None, user_sub: str | None = None) -> AbstractContextManager[Tx]: ...


@dataclass(frozen=True)
class PublishedMachine:
    state_machine_arn: str
    version_arn: str


class Orchestrator(Protocol):
    """Runs compiled flows: Step Functions in AWS, moto's interpreter of the same ASL locally."""

    def publish(self, name: str, definition: dict[str, Any], description: str) -> PublishedMachine: ...

    def set_live(self, state_machine_arn: str, version_arn: str) -> None: ...

    def start(self, target_arn: str, execution_name: str, payload: dict[str, Any]) -> str: ...

    def stop(self, execution_arn: str, cause: str) -> None: ...

    def status(self, execution_arn: str) -> str: ...


@dataclass
class Completion:
    text: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


class LLM(Protocol):
    """One chat completion. Implementations raise NodeRetryableError / NodeFailedError."""

    def complete(
        self,
        *,
        model: str,
        system: str | None,
        prompt: str,
        temperature: float,
        max_tokens: int | None,
        json_mode: bool,
        timeout: float,
    ) -> Completion: ...


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any
    url: str


class Outbound(Protocol):
    """Guarded outbound HTTP: refuses private, loopback and metadata destinations unless allow-listed.

    A redirect to another origin drops credentials and the headers named in `secret_headers` (rendered
    from secrets), and refuses to re-send a body there unless `redirect_body_to_other_origins`.
    """

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: Any,
        timeout: float,
        follow_redirects: bool,
        max_redirects: int,
        allow_hosts: list[str],
        secret_headers: Collection[str] = (),
        redirect_body_to_other_origins: bool = False,
    ) -> HttpResponse: ...


# -- large values (DESIGN §2): node outputs above a threshold live in a blob store -------------------------
@dataclass(frozen=True)
class BlobRef:
    """Where a large stored value lives: the blob's key, its size in bytes and the SHA-256 of its bytes.

    Kept in `node_runs.output_ref` (and `runs.output_ref`) in place of the value itself."""

    key: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, value: Any) -> BlobRef:
        """A stored pointer; ValueError if it is not one."""
        if not isinstance(value, dict):
            raise ValueError("a blob pointer is an object")
        key, size, sha = value.get("key"), value.get("size"), value.get("sha256")
        if not (isinstance(key, str) and isinstance(size, int) and isinstance(sha, str)):
            raise ValueError("a blob pointer has a string key, an integer size and a string sha256")
        return cls(key, size, sha)


class BlobNotFound(LookupError):
    """The blob store has nothing under this key."""


class BlobStore(Protocol):
    """Bytes under workspace-scoped keys (`ws/<workspace>/...`): S3 in AWS, a folder under `.localdb/` locally.

    Keys are content-addressed by their writers, so writing the same key again writes the same bytes."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The blob's bytes; BlobNotFound if there is none."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with `prefix`; returns how many."""
        ...
