"""JSON bodies of API responses: one encoder shared by the resolver (handler) and the routes.

Its own module so that routes never import the handler that includes them (an import cycle)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # The domain's records (nexod.domain.records): their field names are the API's keys. Shallow, so
        # that JSON columns are encoded as they are (no deep copy of a large output).
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"))
