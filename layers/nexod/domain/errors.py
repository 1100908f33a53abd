"""Domain exceptions. The API maps each to one HTTP status in one place."""

from __future__ import annotations

from typing import Any


class NexodError(Exception):
    """Base class: `code` is machine-readable, the message tells the user what to do."""

    code = "error"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(NexodError):
    code = "invalid_input"
    status = 422


class FlowInvalid(InvalidInput):
    """A flow document failed validation; `details` lists every issue found."""

    code = "invalid_flow"


class PayloadTooLarge(NexodError):
    code = "payload_too_large"
    status = 413


class NotFound(NexodError):
    code = "not_found"
    status = 404


class Forbidden(NexodError):
    code = "forbidden"
    status = 403


class Unauthorized(NexodError):
    code = "unauthorized"
    status = 401


class Conflict(NexodError):
    code = "conflict"
    status = 409


class VaultUnavailable(NexodError):
    """The credential store could not be reached or could not decrypt a value (never includes the value)."""

    code = "vault_unavailable"
    status = 503


class DeletionIncomplete(NexodError):
    """A workspace deletion stopped part-way (the orchestrator or the vault failed): the workspace is already
    gone for its users, and the same DELETE finishes the remaining steps."""

    code = "deletion_incomplete"
    status = 503


class KnowledgeUnavailable(NexodError):
    """A knowledge base's vector store or embedding model could not serve the request (try again later)."""

    code = "knowledge_unavailable"
    status = 503


class Gone(NexodError):
    """What the caller holds was good once and is not any more (a used or expired approval link)."""

    code = "gone"
    status = 410

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class LimitReached(NexodError):
    """A concurrency limit with `on_limit: reject` is full: the run was not started (`details` names it)."""

    code = "concurrency_limit"
    status = 429
