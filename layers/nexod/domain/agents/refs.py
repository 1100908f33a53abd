"""Where flows name agents: an `agent` node's `config.agent` (the agent's id) and a `crew` node's
`config.agents[].agent` (see nexod.domain.nodes.agent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _refs(node: dict[str, Any]) -> Iterator[str]:
    config = node.get("config")
    if not isinstance(config, dict):
        return
    if node.get("type") == "agent" and isinstance(config.get("agent"), str):
        yield config["agent"]
    if node.get("type") == "crew" and isinstance(config.get("agents"), list):
        for member in config["agents"]:
            if isinstance(member, dict) and isinstance(member.get("agent"), str):
                yield member["agent"]


def agents_named(definition: Any) -> dict[str, set[str]]:
    """agent id -> the ids of the nodes of a flow definition that name it."""
    found: dict[str, set[str]] = {}
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict):
            for agent_id in _refs(node):
                found.setdefault(agent_id, set()).add(str(node.get("id")))
    return found
