"""Where flows name agents: node config `agent: {id, version: "live" | n}` (agent nodes) and
`agents: [{id, version}, ...]` (crew nodes), at any depth of a node's config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _refs(value: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(value, dict):
        if key in ("agent", "agents") and isinstance(value.get("id"), str):
            yield value["id"]
        for k, v in value.items():
            yield from _refs(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item, key if key == "agents" else None)


def agents_named(definition: Any) -> dict[str, set[str]]:
    """agent id -> the ids of the nodes of a flow definition that name it."""
    found: dict[str, set[str]] = {}
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict):
            for agent_id in _refs(node.get("config")):
                found.setdefault(agent_id, set()).add(str(node.get("id")))
    return found
