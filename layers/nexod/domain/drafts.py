"""Drafts (issue 13): a flow's draft saves whatever the editor holds, valid or not, and says what is wrong.

`check_shape` refuses only what is not a flow document at all (not an object, `nodes`/`edges` not lists of
objects, over the size limit): such a value could never become a flow. Everything else is saved, and
`problems` lists what publishing (or a test run) would refuse, each naming its node, edge or field."""

from __future__ import annotations

import json
from typing import Any

from .compiler import compile_flow
from .errors import FlowInvalid, InvalidInput, PayloadTooLarge
from .flow import MAX_DOCUMENT_BYTES
from .validation import ValidFlow, validate


def check_shape(definition: Any) -> None:
    """Raise a 4xx for a value that is not a flow document of any kind (the draft is not saved)."""
    if not isinstance(definition, dict):
        raise InvalidInput("definition: a JSON object {nodes: [...], edges: [...]}", {"field": "definition"})
    size = len(json.dumps(definition, separators=(",", ":")).encode())
    if size > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(f"definition: {size} bytes; the limit is {MAX_DOCUMENT_BYTES} (1 MiB)")
    for key in ("nodes", "edges"):
        items = definition.get(key, [])
        if not isinstance(items, list):
            raise InvalidInput(f"definition.{key}: a list", {"field": f"definition.{key}"})
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidInput(f"definition.{key}.{i}: an object", {"field": f"definition.{key}.{i}"})


def problems(definition: Any) -> list[dict[str, Any]]:
    """Everything that keeps the draft from being published: [] when it validates and compiles."""
    try:
        compile_flow(validate(definition))
    except FlowInvalid as exc:
        found = exc.details if isinstance(exc.details, list) else []
        listed = [_plain(p) for p in found if isinstance(p, dict)]
        return listed or [{"code": "invalid_flow", "message": exc.message}]
    except (InvalidInput, PayloadTooLarge) as exc:
        return [{"code": exc.code, "message": exc.message}]
    except Exception as exc:  # a draft is whatever the editor held: reading it must never break a GET
        return [{"code": "invalid_flow", "message": f"the draft cannot be checked: {type(exc).__name__}: {exc}"}]
    return []


def valid_or_raise(definition: Any) -> ValidFlow:
    """The draft as a valid flow, or a 422 (`invalid_flow`) listing every problem (what `problems` lists)."""
    found = problems(definition)
    if found:
        raise FlowInvalid(found[0]["message"], found)
    return validate(definition)


def node_ids(definition: Any) -> list[str]:
    """The ids of the draft's nodes, whatever state the draft is in (pins of other ids are stale)."""
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    if not isinstance(nodes, list):
        return []
    return [n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)]


def _plain(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem as the API serves it: strings only. A draft may name a node `7` or `{}`; the problem names it
    as text rather than fail to be served."""
    plain = {"code": str(problem.get("code") or "invalid_flow"), "message": str(problem.get("message") or "")}
    for where in ("node", "edge", "field"):
        value = problem.get(where)
        if value is not None:
            plain[where] = value if isinstance(value, str) else json.dumps(value, default=str)
    return plain
