"""Flow documents shared by the tests."""

from __future__ import annotations

from typing import Any


def node(node_id: str, node_type: str = "transform", **config: Any) -> dict[str, Any]:
    if node_type == "transform" and not config:
        config = {"expression": "input"}
    return {"id": node_id, "type": node_type, "config": config}


def edge(source: str, target: str, condition: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"from": source, "to": target}
    if condition is not None:
        e["condition"] = condition
    return e


def demo_flow(url: str = "http://example.com/data") -> dict[str, Any]:
    """http -> condition -> (llm | transform) -> output: the issue's acceptance shape."""
    return {
        "nodes": [
            node("start", "input"),
            node("fetch", "http", url=url),
            node("check", "condition", expression="nodes.fetch.output.body.ok"),
            node("summarise", "llm", model="default", prompt="Summarise {{ nodes.fetch.output.body.title }}"),
            node("fallback", "transform", expression="{title: nodes.fetch.output.body.title, summary: 'n/a'}"),
            node("result", "output"),
        ],
        "edges": [
            edge("start", "fetch"),
            edge("fetch", "check"),
            edge("check", "summarise", "true"),
            edge("check", "fallback", "false"),
            edge("summarise", "result"),
            edge("fallback", "result"),
        ],
    }


def fan_out(width: int) -> dict[str, Any]:
    """input -> width parallel no-op transforms -> output (the benchmark's shape)."""
    nodes = [node("start", "input")]
    nodes += [node(f"n{i}", "transform", expression="input") for i in range(width)]
    nodes.append(node("result", "output", value="done"))
    edges = [edge("start", f"n{i}") for i in range(width)] + [edge(f"n{i}", "result") for i in range(width)]
    return {"nodes": nodes, "edges": edges}
