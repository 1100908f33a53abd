"""Keyset paging for listings: opaque cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from ..domain.errors import InvalidInput
from ..domain.records import Cursor


class _Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Keyed)


def page(items: Sequence[T], limit: int) -> tuple[list[T], str | None]:
    """Items fetched with limit + 1 -> (at most `limit` items, the cursor of the next page or None)."""
    if len(items) <= limit:
        return list(items), None
    kept = list(items[:limit])
    return kept, encode_cursor(kept[-1].created_at, kept[-1].id)


def encode_cursor(created_at: datetime, row_id: object) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    """A cursor from `encode_cursor`, type-checked before it reaches a query (else a 422, never a 500)."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        if not (isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(v, str) for v in decoded)):
            raise ValueError("not a [timestamp, id] pair")
        created_at = datetime.fromisoformat(decoded[0])
        if created_at.tzinfo is None:
            raise ValueError("timestamp without a time zone")
        return Cursor(created_at, str(uuid.UUID(decoded[1])))
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise InvalidInput("cursor: not a cursor this API returned", {"field": "cursor"}) from exc
