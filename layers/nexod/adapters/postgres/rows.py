"""What every repository of the Postgres adapter shares: JSON on the way in, records on the way out."""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg.adapt import Dumper
from psycopg.types.json import Json as _PsycopgJson
from psycopg.types.json import Jsonb as _PsycopgJsonb

from ...domain.actor import ActorRef
from ...domain.records import NodeRun, Run, RunDetail
from ...services.json_limits import storable

Row = dict[str, Any]
R = TypeVar("R")


def _dumps(value: Any) -> str:
    # External data (HTTP bodies, model output) may hold what jsonb cannot (U+0000, lone surrogates, NaN,
    # numbers beyond a double) or nest too deep to read back: store a readable copy (json_limits.storable).
    return json.dumps(storable(value), default=str, allow_nan=False)


def Jsonb(value: Any) -> _PsycopgJsonb:
    return _PsycopgJsonb(value, dumps=_dumps)


def JsonText(value: Any) -> _PsycopgJson:
    """For a `json` column: the text as written, keys in their order (jsonb reorders them)."""
    return _PsycopgJson(value, dumps=_dumps)


def JsonbOrNull(value: Any) -> _PsycopgJsonb | None:
    return None if value is None else Jsonb(value)


# -- arrays of a known type ---------------------------------------------------------------------------------
# psycopg dumps a plain list by looking at its elements on every statement (which Python types, which
# PostgreSQL array type) and building new dumpers for it (each with a transformer of its own): a tenth of the
# fan-out bench's samples, where every node's two statements carry six arrays of events. A list of one of
# these classes is written as the array's text directly, every element quoted (PostgreSQL reads a quoted
# element of any type), None as NULL, and its type stated (the statements cast or compare them to it anyway).


class TextArray(list[str | None]):
    """A list sent as `text[]` (ids, names; `::uuid[]` in the statement casts it where the column is a uuid)."""


class IntArray(list[int | None]):
    """A list sent as `int4[]`."""


class BoolArray(list[bool | None]):
    """A list sent as `boolean[]`."""


class JsonbArray(list[_PsycopgJsonb | None]):
    """A list of `Jsonb(...)` values sent as `jsonb[]`."""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array_text(items: list[Any], element: Callable[[Any], str]) -> bytes:
    return ("{" + ",".join("NULL" if v is None else _quoted(element(v)) for v in items) + "}").encode()


def _json_text(value: _PsycopgJsonb) -> str:
    text = (value.dumps or json.dumps)(value.obj)
    return text if isinstance(text, str) else bytes(text).decode()


class _ArrayDumper(Dumper):
    element: Callable[[Any], str] = str

    def dump(self, obj: list[Any]) -> bytes:
        return _array_text(obj, type(self).element)


for _cls, _oid, _element in (
    (TextArray, 1009, str),  # text[]
    (IntArray, 1007, lambda v: str(int(v))),  # int4[]
    (BoolArray, 1000, lambda v: "t" if v else "f"),  # bool[]
    (JsonbArray, 3807, _json_text),  # jsonb[]
):
    _dumper = type(f"{_cls.__name__}Dumper", (_ArrayDumper,), {"oid": _oid, "element": staticmethod(_element)})
    psycopg.adapters.register_dumper(_cls, _dumper)


# -- one cursor per connection ------------------------------------------------------------------------------
# `Connection.execute` makes a new cursor for every statement, and each new cursor copies the connection's
# adapters map (5 % of the fan-out bench's samples). A pooled connection is used by one thread at a time and
# every statement here is read to the end before the next: one cursor per connection serves them all.
_CURSORS: weakref.WeakKeyDictionary[psycopg.Connection[Any], psycopg.Cursor[Any]] = weakref.WeakKeyDictionary()


def cursor_of(conn: psycopg.Connection[Row]) -> psycopg.Cursor[Row]:
    """The connection's statement cursor (made on first use; a closed connection's goes with it)."""
    cur = _CURSORS.get(conn)
    if cur is None or cur.closed:
        cur = _CURSORS[conn] = conn.cursor()
    return cur


def adapters_changed(conn: psycopg.Connection[Any]) -> None:
    """After changing the connection's adapters (e.g. its JSON loader): a cursor copies them when it is made,
    so the cached one is dropped and the next statement's cursor sees the change."""
    cur = _CURSORS.pop(conn, None)
    if cur is not None and not cur.closed:
        cur.close()


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _names(cls: type[Any]) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    """Column values as records hold them: ids as strings, numerics as floats."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def record(cls: type[R], row: Row) -> R:
    """A record from a row that has (at least) every one of its fields as a column."""
    return cls(**{name: _plain(row[name]) for name in _names(cls)})


def maybe(cls: type[R], row: Row | None) -> R | None:
    return None if row is None else record(cls, row)


def run_record(row: Row) -> Run:
    values = {name: _plain(row[name]) for name in _names(Run) if name != "started_by"}
    values["active_ms"] = None if values["active_ms"] is None else int(values["active_ms"])
    return Run(**values, started_by=ActorRef(row["started_by_kind"], row["started_by_id"]))


def run_detail(row: Row) -> RunDetail:
    values = {name: _plain(row[name]) for name in _names(RunDetail) if name != "started_by"}
    values["cost_usd"] = float(row["cost_usd"] or 0)
    values["tokens"] = int(row["tokens"] or 0)
    live = row.get("active_ms_now", row["active_ms"])
    values["active_ms"] = None if live is None else int(live)
    return RunDetail(**values, started_by=ActorRef(row["started_by_kind"], row["started_by_id"]))


def node_run_record(row: Row) -> NodeRun:
    return record(NodeRun, row)


class Queries:
    """Statements inside one transaction; row-level security limits each to the workspace."""

    def __init__(self, conn: psycopg.Connection[Row], workspace_id: str | None, user_sub: str | None) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.user_sub = user_sub

    def _one(self, query: str, params: Any = ()) -> Row | None:
        return cursor_of(self.conn).execute(query.encode(), params).fetchone()

    def _all(self, query: str, params: Any = ()) -> list[Row]:
        return cursor_of(self.conn).execute(query.encode(), params).fetchall()

    def _run(self, query: str, params: Any = ()) -> int:
        return cursor_of(self.conn).execute(query.encode(), params).rowcount
