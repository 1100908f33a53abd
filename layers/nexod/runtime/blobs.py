"""Large node outputs (DESIGN §2): above a threshold a node's output goes to the `BlobStore` port and its
`node_runs` row keeps only a pointer (`output_ref`: key, size, sha256). Readers hydrate the pointer: the
next node's templating, the run's own output and the API, so nobody sees the difference.

Keys are `ws/<workspace>/runs/<run>/<node>/<iteration>/<sha256>.json`: scoped to the workspace (the IAM
prefix), grouped by run (one prefix to delete with the run), and content-addressed, so a retried Task that
writes the same output writes the same key with the same bytes. The run's own output, when it must be
stored apart, uses the node segment `-run`, which no node id can take (ids match `NODE_ID_PATTERN`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from ..ports import BlobNotFound, BlobRef, BlobStore
from .errors import NodeFailedError, NodeRetryableError

# DESIGN §2 / issue 8: "say 256 KiB". Step Functions' own payload limit is the same number, which makes it
# easy to remember; the state never carries outputs anyway (the runner returns only `take`).
THRESHOLD_BYTES = 256 * 1024
RUN_OUTPUT = "-run"
_NODE_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]{0,63}|-run)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobUnreadable(Exception):
    """A pointer whose blob cannot be served: missing, corrupt, undecodable, or pointing elsewhere."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def run_prefix(workspace_id: str, run_id: str) -> str:
    """`ws/<workspace>/runs/<run>/`, with both ids in canonical UUID form (ValueError otherwise)."""
    return f"ws/{uuid.UUID(str(workspace_id))}/runs/{uuid.UUID(str(run_id))}/"


def blob_key(workspace_id: str, run_id: str, node_id: str, iteration: int, sha256: str) -> str:
    if not _NODE_SEGMENT.match(node_id):
        raise ValueError(f"not a node id: {node_id!r}")
    if not (isinstance(iteration, int) and iteration >= 0):
        raise ValueError(f"not an iteration: {iteration!r}")
    if not _SHA256.match(sha256):
        raise ValueError("not a lowercase hex SHA-256")
    return f"{run_prefix(workspace_id, run_id)}{node_id}/{iteration}/{sha256}.json"


def encode(value: Any) -> bytes:
    """The bytes a blob holds: compact UTF-8 JSON of an already storable value."""
    return json.dumps(value, default=str, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def hydrate(blobs: BlobStore | None, workspace_id: str, run_id: str, ref: BlobRef | Any) -> Any:
    """The value a pointer stands for. BlobUnreadable when it cannot be had for a reason a retry will not
    fix; the blob store's own errors (network, throttling) propagate."""
    try:
        pointer = ref if isinstance(ref, BlobRef) else BlobRef.from_json(ref)
    except ValueError as exc:
        raise BlobUnreadable(f"the stored blob pointer is malformed ({exc})") from None
    try:
        inside = pointer.key.startswith(run_prefix(workspace_id, run_id))
    except ValueError:
        inside = False
    if not inside:  # only ever our own writes, but a pointer never reads another run's (or tenant's) data
        raise BlobUnreadable(f"the stored blob pointer {pointer.key} is not under this run")
    if blobs is None:
        raise BlobUnreadable(f"blob {pointer.key}: this deployment has no blob store configured")
    try:
        data = blobs.get(pointer.key)
    except BlobNotFound:
        raise BlobUnreadable(f"blob {pointer.key} is missing from the blob store") from None
    if len(data) != pointer.size or hashlib.sha256(data).hexdigest() != pointer.sha256:
        raise BlobUnreadable(
            f"blob {pointer.key} is corrupt: {len(data)} bytes that do not match the recorded"
            f" {pointer.size} bytes and SHA-256"
        )
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BlobUnreadable(f"blob {pointer.key} cannot be decoded: {str(exc)[:120]}") from None


@dataclass(frozen=True)
class OutputBlobs:
    """The offload policy the node runner applies: a blob store, a threshold and the storable step.

    `sanitize` is the same cleaning the database adapter applies to JSON it stores
    (`nexod.services.json_limits.storable`, passed in by the composition root), so a hydrated value is
    exactly what PostgreSQL would have returned."""

    blobs: BlobStore
    sanitize: Callable[[Any], Any]
    threshold: int = THRESHOLD_BYTES

    def offload(
        self, workspace_id: str, run_id: str, node_id: str, iteration: int, value: Any
    ) -> tuple[Any, BlobRef | None]:
        """(value, None) when it is small enough for the row; else (None, pointer) after writing the blob."""
        if value is None or isinstance(value, bool | int | float):
            return value, None
        data = encode(self.sanitize(value))
        if len(data) <= self.threshold:
            return value, None
        digest = hashlib.sha256(data).hexdigest()
        key = blob_key(workspace_id, run_id, node_id, iteration, digest)
        self.blobs.put(key, data)
        return None, BlobRef(key, len(data), digest)


def hydrate_upstream(
    outputs: OutputBlobs | None, workspace_id: str, run_id: str, node_id: str, upstream: MutableMapping[str, Any]
) -> None:
    """Replace every pointer among a node's upstream outputs by its value, in place; a pointer that cannot
    be read fails the node, naming the upstream node and why."""
    for source, value in list(upstream.items()):
        if not isinstance(value, BlobRef):
            continue
        try:
            upstream[source] = hydrate(outputs.blobs if outputs else None, workspace_id, run_id, value)
        except BlobUnreadable as exc:
            raise NodeFailedError(
                f"node '{node_id}': the output of '{source}' cannot be read: {exc.problem}",
                {"upstream": source, "key": value.key},
            ) from None
        except Exception as exc:  # the blob store itself failed (network, throttling): Step Functions retries
            raise NodeRetryableError(
                f"node '{node_id}': the output of '{source}' could not be read from the blob store:"
                f" {type(exc).__name__}: {exc}"
            ) from None


def offload_output(
    outputs: OutputBlobs | None, workspace_id: str, run_id: str, node_id: str, iteration: int, value: Any
) -> tuple[Any, BlobRef | None]:
    """What the node runner records for an output: (value, None), or (None, pointer) once it is in the blob
    store. A blob store that fails is a retryable node error (Step Functions retries the Task)."""
    if outputs is None:
        return value, None
    try:
        return outputs.offload(workspace_id, run_id, node_id, iteration, value)
    except Exception as exc:
        raise NodeRetryableError(
            f"node '{node_id}': its output could not be written to the blob store: {type(exc).__name__}: {exc}"
        ) from None


def run_output(
    outputs: OutputBlobs | None, workspace_id: str, run_id: str, output_nodes: list[str], values: dict[str, Any]
) -> tuple[Any, BlobRef | None]:
    """The run's output from its output nodes' outputs (`values`, pointers included): one node's output as
    it is (a pointer stays the same pointer: no copy), several as {node: output}, stored apart when large."""
    if len(output_nodes) == 1:
        value = values.get(output_nodes[0])
        return (None, value) if isinstance(value, BlobRef) else (value, None)
    composed = {k: values[k] for k in output_nodes if k in values}
    hydrate_upstream(outputs, workspace_id, run_id, RUN_OUTPUT, composed)
    return offload_output(outputs, workspace_id, run_id, RUN_OUTPUT, 0, composed)
