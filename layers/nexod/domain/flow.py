"""The flow document: `{nodes: [{id, type, config}], edges: [{from, to, condition?}]}`."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
MAX_NODES = 500
MAX_DOCUMENT_BYTES = 1024 * 1024


class RetryPolicy(BaseModel):
    """Retries of transient failures, executed by Step Functions' native `Retry`."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(2, ge=0, le=10, description="Retries after the first attempt")
    interval_seconds: int = Field(2, ge=1, le=3600)
    backoff_rate: float = Field(2.0, ge=1.0, le=10.0)
    max_delay_seconds: int | None = Field(None, ge=1, le=86_400)

    def delay_seconds(self, retries: int) -> float:
        """How long Step Functions waits before retry number `retries + 1` (0-based): the interval times the
        backoff rate to the power of the retries so far, capped at `max_delay_seconds`."""
        delay = self.interval_seconds * self.backoff_rate**retries
        return min(delay, self.max_delay_seconds) if self.max_delay_seconds else delay


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float
    y: float


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=64)
    type: str = Field(..., min_length=1, max_length=64)
    name: str | None = Field(None, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    retry: RetryPolicy | None = None
    timeout_seconds: int | None = Field(None, ge=1, le=31_536_000)
    on_error: Literal["fail", "continue"] = Field(
        "fail", description="'continue' marks the node failed and skips what depends only on it"
    )
    position: Position | None = None


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = Field(None, max_length=128)
    source: str = Field(..., alias="from", min_length=1)
    target: str = Field(..., alias="to", min_length=1)
    condition: str | None = Field(
        None,
        max_length=10_000,
        description='"true"/"false" after a condition node, or a JMESPath expression over {output, input, nodes}',
    )

    @property
    def key(self) -> str:
        return self.id or f"{self.source}->{self.target}"


class FlowDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def config_hash(value: Any) -> str:
    """Stable hash of any JSON value (sorted keys), used to memoise node runs and identify versions."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def node_hash(node: Node) -> str:
    """What must be unchanged for a finished node run to be reused: type, config and error policy."""
    return config_hash({"type": node.type, "config": node.config, "on_error": node.on_error})
