"""Node failures. The class names are the `Error` names Step Functions matches in Retry and Catch."""

from __future__ import annotations

import json
import math
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


# -- the LLM gateway's errors (issue 9). Their names are what the state machine's Retry and Catch match. ---------
class LLMRateLimited(NodeRetryableError):
    """The workspace's rate limit (or the provider's) says wait: `retry_after_seconds` in details."""

    def __init__(self, message: str, retry_after_seconds: float, details: Any = None) -> None:
        super().__init__(message, {**(details or {}), "retry_after_seconds": round(retry_after_seconds, 3)})
        self.retry_after_seconds = retry_after_seconds

    def __str__(self) -> str:
        # What Lambda reports as the error's `errorMessage`: JSON, so that the state machine can read the wait
        # (`States.StringToJson`) and honour it in a Wait state (compiler: rate-limit states).
        wait = max(1, math.ceil(self.retry_after_seconds))
        return json.dumps({"wait_seconds": wait, "message": self.message})


class LLMTimeout(NodeRetryableError):
    """The provider did not answer in time."""


class LLMProviderError(NodeRetryableError):
    """The provider failed (5xx, overloaded, connection): another attempt or a fallback model may work."""


class LLMBadRequest(NodeFailedError):
    """The request itself is wrong (unknown model, context too long, a model the workspace does not allow)."""


class BudgetExceeded(NodeFailedError):
    """The workspace's hard monthly budget is spent: no provider is called."""
