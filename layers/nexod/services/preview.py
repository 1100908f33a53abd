"""Live preview of an expression or template field against a run of the flow (issue 13, the editor).

The console sends what the builder is typing in one node's field; the answer is that text rendered by the
domain's own renderer (`nexod.domain.templating` for `{{ … }}` templates, `nexod.domain.expressions` for
JMESPath and JSONata) over the data the node would see in that run: the run's input, the outputs of the
node's upstream ancestors in the draft, and the run id (`NodeContext.data`). One renderer, so the preview
cannot disagree with a run. Secrets are never read: `{{ secrets.NAME }}` renders as «secret:NAME».

Members and up (`flows.write`: it is part of editing the draft, and it evaluates the text the caller sends,
so it is offered to those who may already run such text in a test run); it stores nothing and executes no node.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from ..domain.errors import InvalidInput
from ..domain.expressions import ExpressionError, evaluate
from ..domain.templating import TemplateError, TemplatePath, render
from ..ports import UnitOfWork
from .access import authorize, flow_or_404, parse_id
from .context import Principal, Services
from .json_limits import JsonRefused, parse
from .test_runs import _value

PreviewKind = Literal["template", "jmespath", "jsonata"]

MAX_TEXT = 20_000  # the expression fields' own limit (TransformConfig.expression)
MAX_VALUE_BYTES = 64 * 1024  # a larger rendered value is cut: a preview, not a download
RECENT_RUNS = 20  # how far back the "last run" with node outputs is looked for
JSONATA_TIMEOUT_MS = 2_000  # a JSONata loop typed in the editor stops here (JMESPath has no loops)


def secret_placeholder(path: TemplatePath) -> str:
    """What a `{{ secrets.NAME[.field] }}` shows in a preview: never the value."""
    return "«secret:" + ".".join(str(p) for p in path.parts[1:]) + "»"


def ancestors(definition: Any, node_id: str) -> set[str]:
    """The draft's nodes upstream of `node_id`, by its edges, whatever state the draft is in (cycles allowed)."""
    edges = definition.get("edges") if isinstance(definition, dict) else None
    preds: dict[str, set[str]] = {}
    for e in edges if isinstance(edges, list) else []:
        if isinstance(e, dict) and isinstance(e.get("from"), str) and isinstance(e.get("to"), str):
            preds.setdefault(e["to"], set()).add(e["from"])
    seen: set[str] = set()
    todo = list(preds.get(node_id, ()))
    while todo:
        n = todo.pop()
        if n not in seen and n != node_id:
            seen.add(n)
            todo.extend(preds.get(n, ()))
    return seen


def _nodes(definition: Any) -> dict[str, str]:
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    listed = nodes if isinstance(nodes, list) else []
    return {n["id"]: str(n.get("type")) for n in listed if isinstance(n, dict) and isinstance(n.get("id"), str)}


def _pick_run(uow: UnitOfWork, flow_id: str, run: str | None, upstream: list[str]) -> Any:
    """The run asked for, or the flow's newest run (test run or not) with outputs of the node's upstream
    nodes (else its newest run at all); None when the flow has never run."""
    if run is not None:
        run_id = parse_id(run, "run")
        found = uow.runs.get(run_id)
        if found is None or found.flow_id != flow_id:
            raise InvalidInput(f"run: run '{run_id}' is not a run of this flow", {"field": "run"})
        return found
    recent = uow.runs.newest(RECENT_RUNS, flow_id=flow_id, test=None)
    if upstream:
        for r in recent:
            if uow.node_runs.outputs(r.id, upstream):
                return uow.runs.get(r.id)
    return uow.runs.get(recent[0].id) if recent else None


def _bounded(value: Any) -> tuple[Any, bool]:
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text.encode()) <= MAX_VALUE_BYTES:
        return value, False
    return text.encode()[:MAX_VALUE_BYTES].decode(errors="ignore") + "…", True


def preview(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    node: str,
    text: str,
    kind: PreviewKind,
    run: str | None = None,
    as_json: bool = False,
    edge: bool = False,
) -> dict[str, Any]:
    """`{value, run, run_number, truncated}`: `text` rendered for `node` against `run` (default: the last run).

    No run yet: `value` and `run` are null. A template or expression that fails on that run's data is a 422
    naming `text` with the renderer's own message (the path that is missing, the parse error). `as_json`: the
    text is a JSON document (a JSON config field) whose strings hold templates; its value is rendered. `edge`:
    the text is the condition of an edge leaving `node`, evaluated as the runner does (`runner.edge_taken`): over
    the node's data plus `output`, the node's own output in that run."""
    flow_id = parse_id(flow_id, "flow")
    source_value: Any = text
    if as_json:
        if kind != "template":
            raise InvalidInput("json: only a template field holds JSON", {"field": "json"})
        try:
            source_value = parse(text)
        except JsonRefused as exc:
            raise InvalidInput(f"text: not JSON: {exc.problem}", {"field": "text"}) from None
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.write")
        flow = flow_or_404(uow, flow_id)
        nodes = _nodes(flow.definition)
        if node not in nodes:
            raise InvalidInput(f"node: the draft has no node '{node}'", {"field": "node"})
        upstream = sorted(ancestors(flow.definition, node))
        source = _pick_run(uow, flow_id, run, [u for u in upstream if nodes.get(u) != "input"])
        if source is None:
            return {"value": None, "run": None, "run_number": None, "truncated": False}
        wanted = [*upstream, node] if edge else upstream
        recorded = uow.node_runs.outputs(source.id, wanted) if wanted else {}
    outputs = {n: _value(services, workspace_id, source.id, n, v) for n, v in recorded.items()}
    own = outputs.pop(node, None)
    data: dict[str, Any] = {
        "input": source.input,
        "nodes": {n: {"output": v} for n, v in outputs.items()},
        "run": {"id": source.id},
    }
    if edge:
        if kind == "template":
            raise InvalidInput("edge: an edge condition is an expression (jmespath)", {"field": "edge"})
        data["output"] = own
    try:
        value = (
            render(source_value, data, secret_placeholder)
            if kind == "template"
            else evaluate(text, data, kind, timeout_ms=JSONATA_TIMEOUT_MS)
        )
    except (TemplateError, ExpressionError) as exc:
        raise InvalidInput(f"text: {exc}", {"field": "text"}) from None
    except Exception as exc:  # a JMESPath type error at evaluation, a JSONata runtime error
        raise InvalidInput(f"text: {type(exc).__name__}: {exc}"[:2000], {"field": "text"}) from None
    value, truncated = _bounded(value)
    return {"value": value, "run": source.id, "run_number": source.number or None, "truncated": truncated}
