"""What changed between two flow definitions: nodes matched by id, edges by (source, target, condition).

Pure: two JSON documents in, one JSON-ready dict out. A node's changes are listed field by field as JSON
paths (`config.url`, `config.headers.Accept`, `retry.max_attempts`, `config.items[2]`); its canvas
`position` is layout, not behaviour, and is left out. Everything of the document besides `nodes` and
`edges` is a setting and is compared the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Keys of a node that are not compared: its identity and where it sits on the canvas.
_NOT_COMPARED = frozenset({"id", "position"})
_GRAPH = frozenset({"nodes", "edges"})
_ABSENT: Any = None  # a key one side lacks reads as null on that side


def _key(path: str, key: str) -> str:
    step = key if _IDENTIFIER.match(key) else '["' + key.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    if not path:
        return step
    return path + (step if step.startswith("[") else "." + step)


def field_changes(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs, as `{path, before, after}`, in key order. Objects are compared key by key and
    lists of the same length item by item; anything else that differs is one change at its path."""
    if before == after:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        changes: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            changes += field_changes(before.get(key, _ABSENT), after.get(key, _ABSENT), _key(path, str(key)))
        return changes
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        changes = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            changes += field_changes(b, a, f"{path}[{i}]")
        return changes
    return [{"path": path or "$", "before": before, "after": after}]


def _nodes(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        return {}
    return {str(n["id"]): n for n in nodes if isinstance(n, Mapping) and "id" in n}


def _edge_key(edge: Mapping[str, Any]) -> tuple[str, str, str]:
    source = edge.get("from", edge.get("source"))
    target = edge.get("to", edge.get("target"))
    return (str(source), str(target), str(edge.get("condition") or ""))


def _edges(doc: Mapping[str, Any]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    edges = doc.get("edges")
    if not isinstance(edges, list):
        return {}
    return {_edge_key(e): e for e in edges if isinstance(e, Mapping)}


def _compared(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in _NOT_COMPARED}


def diff_flows(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """`{nodes: {added, removed, changed: [{id, type, fields}]}, edges: {added, removed}, settings}`.

    Nodes keep the order of the document they come from (added: `after`'s, removed and changed: `before`'s);
    an edge whose condition changed is one removed edge and one added edge."""
    old_nodes, new_nodes = _nodes(before), _nodes(after)
    changed = []
    for node_id, old in old_nodes.items():
        new = new_nodes.get(node_id)
        if new is None:
            continue
        fields = field_changes(_compared(old), _compared(new))
        if fields:
            changed.append({"id": node_id, "type": new.get("type"), "fields": fields})
    old_edges, new_edges = _edges(before), _edges(after)
    settings_before = {k: v for k, v in before.items() if k not in _GRAPH}
    settings_after = {k: v for k, v in after.items() if k not in _GRAPH}
    return {
        "nodes": {
            "added": [dict(n) for i, n in new_nodes.items() if i not in old_nodes],
            "removed": [dict(n) for i, n in old_nodes.items() if i not in new_nodes],
            "changed": changed,
        },
        "edges": {
            "added": [dict(e) for k, e in new_edges.items() if k not in old_edges],
            "removed": [dict(e) for k, e in old_edges.items() if k not in new_edges],
        },
        "settings": field_changes(settings_before, settings_after),
    }
