"""Node failures. The class names are the `Error` names Step Functions matches in Retry and Catch."""

from __future__ import annotations

from typing import Any


class NodeError(Exception):
    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NodeFailedError(NodeError):
    """A failure retrying cannot fix (bad template, 4xx, blocked destination)."""


class NodeRetryableError(NodeError):
    """A transient failure (timeout, 5xx, rate limit): the node's retry policy applies."""


class BlockedDestinationError(NodeFailedError):
    """The outbound guard refused an address."""


class RunFinishError(NodeError):
    """Recording the run's end failed after its last node succeeded; retried (the node is memoised)."""


class RunNotActiveError(NodeFailedError):
    """The run was cancelled or already finished: stop executing its nodes."""
