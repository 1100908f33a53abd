"""Stored outputs as the API serves them: a value kept in the blob store (DESIGN §2) is read back
transparently, and one that cannot be read becomes the item's `unreadable` marker, never a 500."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ..ports import BlobStore
from ..runtime.blobs import BlobUnreadable, hydrate
from .json_limits import Unreadable

log = logging.getLogger(__name__)


class HasOutput(Protocol):
    @property
    def output(self) -> Any: ...

    @property
    def output_ref(self) -> Any: ...


def stored_output(blobs: BlobStore | None, workspace_id: str, run_id: str, record: HasOutput) -> Any:
    """A run's or node run's output: the stored value, the blob its `output_ref` points to, or an
    `Unreadable` marker saying why not (`json_limits.serve` renders it as null plus `unreadable`)."""
    ref = record.output_ref
    if ref is None:
        return record.output
    try:
        return hydrate(blobs, workspace_id, run_id, ref)
    except BlobUnreadable as exc:
        log.warning("run %s: a stored output cannot be served: %s", run_id, exc.problem)
        return Unreadable(exc.problem)
    except Exception as exc:  # the blob store itself failed (network, throttling, permissions)
        log.exception("run %s: the blob store could not be read", run_id)
        return Unreadable(f"the blob store could not be read ({type(exc).__name__}); try again")
