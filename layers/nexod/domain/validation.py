"""Validate a flow document and report every problem with the node, edge or field it concerns."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .credentials import secret_ref
from .errors import FlowInvalid, InvalidInput, PayloadTooLarge
from .expressions import ExpressionError, check, node_references
from .flow import MAX_DOCUMENT_BYTES, MAX_NODES, NODE_ID_PATTERN, Edge, FlowDocument, Node
from .graph import Dag
from .nodes import REGISTRY, NodeConfig
from .templating import TemplateError, TemplatePath, find_paths

_NODE_ID = re.compile(NODE_ID_PATTERN)
BRANCH_LITERALS = ("true", "false")


@dataclass(frozen=True)
class ValidFlow:
    """A flow that passed validation, with its graph and typed configs."""

    document: FlowDocument
    dag: Dag
    entry: str
    configs: dict[str, NodeConfig]
    edges_in: dict[str, tuple[Edge, ...]]
    edges_out: dict[str, tuple[Edge, ...]]

    def node(self, node_id: str) -> Node:
        return self.document.node(node_id)


def _issue(code: str, message: str, **where: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **{k: v for k, v in where.items() if v is not None}}


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(document)"


def parse_document(raw: Any) -> FlowDocument:
    """Parse a JSON value into a FlowDocument, turning pydantic errors into named issues."""
    if isinstance(raw, dict | list):
        size = len(json.dumps(raw, separators=(",", ":")).encode())
        if size > MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(f"flow document is {size} bytes; the limit is {MAX_DOCUMENT_BYTES} (1 MiB)")
    try:
        return FlowDocument.model_validate(raw)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where: dict[str, Any] = {"field": _loc(loc)}
            if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
                nodes = raw.get("nodes") if isinstance(raw, dict) else None
                if isinstance(nodes, list) and loc[1] < len(nodes) and isinstance(nodes[loc[1]], dict):
                    where["node"] = nodes[loc[1]].get("id")
            issues.append(_issue("invalid_field", f"{_loc(loc)}: {err['msg']}", **where))
        raise FlowInvalid(issues[0]["message"], issues) from None


def validate(raw: Any) -> ValidFlow:
    doc = raw if isinstance(raw, FlowDocument) else parse_document(raw)
    issues: list[dict[str, Any]] = []

    if len(doc.nodes) > MAX_NODES:
        raise FlowInvalid(
            f"flow has {len(doc.nodes)} nodes; the limit is {MAX_NODES}",
            [_issue("too_many_nodes", f"flow has {len(doc.nodes)} nodes; the limit is {MAX_NODES}")],
        )
    if not doc.nodes:
        raise FlowInvalid("flow has no nodes", [_issue("no_entry", "flow has no nodes: add an 'input' node")])

    # Nodes: ids, types, configs.
    seen: set[str] = set()
    configs: dict[str, NodeConfig] = {}
    for node in doc.nodes:
        if not _NODE_ID.match(node.id):
            issues.append(
                _issue(
                    "invalid_node_id",
                    f"node id '{node.id}' must start with a letter or _ and use only letters, digits "
                    "and _ (at most 64)",
                    node=node.id,
                )
            )
        if node.id in seen:
            issues.append(_issue("duplicate_node", f"node id '{node.id}' is used more than once", node=node.id))
        seen.add(node.id)
        kind = REGISTRY.get(node.type)
        if kind is None:
            issues.append(
                _issue(
                    "unknown_node_type",
                    f"node '{node.id}' has unknown type '{node.type}' (known: {', '.join(REGISTRY.types())})",
                    node=node.id,
                )
            )
            continue
        try:
            configs[node.id] = kind.config.model_validate(node.config)
        except ValidationError as exc:
            for err in exc.errors():
                field = "config." + _loc(tuple(err["loc"]))
                issues.append(
                    _issue("invalid_config", f"node '{node.id}' {field}: {err['msg']}", node=node.id, field=field)
                )

    # Edges: endpoints, duplicates, conditions.
    ids = {n.id for n in doc.nodes}
    edge_keys: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    good_edges: list[Edge] = []
    for edge in doc.edges:
        ok = True
        for end, label in ((edge.source, "comes from"), (edge.target, "points to")):
            if end not in ids:
                issues.append(
                    _issue(
                        "dangling_edge",
                        f"edge '{edge.key}' {label} node '{end}' which does not exist",
                        edge=edge.key,
                    )
                )
                ok = False
        if edge.key in edge_keys or (edge.source, edge.target) in pairs:
            issues.append(_issue("duplicate_edge", f"edge '{edge.key}' is declared more than once", edge=edge.key))
            ok = False
        if edge.source == edge.target:
            issues.append(_issue("cycle", f"edge '{edge.key}' connects node '{edge.source}' to itself", edge=edge.key))
            ok = False
        edge_keys.add(edge.key)
        pairs.add((edge.source, edge.target))
        if edge.condition is not None:
            source = next((n for n in doc.nodes if n.id == edge.source), None)
            cond = edge.condition.strip()
            if cond in BRANCH_LITERALS:
                if source is not None and source.type != "condition":
                    issues.append(
                        _issue(
                            "invalid_condition",
                            f"edge '{edge.key}' uses condition '{cond}' but node '{edge.source}' is a "
                            f"{source.type} node; 'true'/'false' follow a condition node, otherwise write "
                            "an expression such as output.status == `200`",
                            edge=edge.key,
                        )
                    )
            else:
                try:
                    check(cond)
                except ExpressionError as exc:
                    issues.append(_issue("invalid_condition", f"edge '{edge.key}' condition: {exc}", edge=edge.key))
        if ok:
            good_edges.append(edge)

    for node_id, config in configs.items():
        language = getattr(config, "language", None)
        expression = getattr(config, "expression", None)
        if language and expression is not None:
            try:
                check(expression, language)
            except ExpressionError as exc:
                issues.append(
                    _issue(
                        "invalid_expression",
                        f"node '{node_id}' config.expression: {exc}",
                        node=node_id,
                        field="config.expression",
                    )
                )

    if issues:
        raise FlowInvalid(issues[0]["message"], issues)

    # Graph: cycles, entry, reachability.
    dag = Dag.build([n.id for n in doc.nodes], [(e.source, e.target) for e in good_edges])
    cycle = dag.find_cycle()
    if cycle:
        path = " -> ".join(cycle)
        raise FlowInvalid(f"flow has a cycle: {path}", [_issue("cycle", f"flow has a cycle: {path}", nodes=cycle[:-1])])
    inputs = [n.id for n in doc.nodes if n.type == "input"]
    sources = [n for n in dag.order if not dag.pred[n]]
    entry: str | None = None
    if len(inputs) > 1:
        issues.append(_issue("several_inputs", f"flow has several input nodes ({', '.join(inputs)}); keep one"))
    elif inputs:
        entry = inputs[0]
        if dag.pred[entry]:
            issues.append(_issue("input_has_parents", f"input node '{entry}' must not have incoming edges", node=entry))
    elif len(sources) == 1:
        entry = sources[0]
    else:
        issues.append(
            _issue(
                "no_entry",
                f"flow has several entry nodes ({', '.join(sources)}): connect them from one 'input' node",
            )
        )
    if entry is not None and not issues:
        reached = dag.reachable_from(entry)
        for n in dag.order:
            if n not in reached:
                issues.append(
                    _issue(
                        "unreachable_node",
                        f"node '{n}' is unreachable: no path leads to it from the entry node '{entry}'",
                        node=n,
                    )
                )
    if issues:
        raise FlowInvalid(issues[0]["message"], issues)
    assert entry is not None

    # Templates: parse, and only read from nodes upstream of the node using them.
    ancestors = dag.ancestors()
    for node in doc.nodes:
        known = REGISTRY.get(node.type)
        for field in known.templated_fields if known else ():
            value = node.config.get(field)
            if value is None:
                continue
            try:
                paths = find_paths(value)
            except TemplateError as exc:
                issues.append(
                    _issue(
                        "invalid_template",
                        f"node '{node.id}' config.{field}: {exc}",
                        node=node.id,
                        field=f"config.{field}",
                    )
                )
                continue
            for tpl in paths:
                if tpl.parts[0] == "secrets":
                    problem = _secret_problem(tpl, node.type, field, known.secret_fields if known else ())
                    if problem:
                        issues.append(
                            _issue(
                                "invalid_template",
                                f"node '{node.id}' config.{field}: {problem}",
                                node=node.id,
                                field=f"config.{field}",
                            )
                        )
                    continue
                ref = tpl.node
                if ref is not None and ref not in ancestors[node.id]:
                    why = "does not exist" if ref not in ids else f"is not upstream of '{node.id}'"
                    issues.append(
                        _issue(
                            "invalid_template",
                            f"node '{node.id}' config.{field}: '{{{{ {tpl.text} }}}}' reads node '{ref}' which {why}",
                            node=node.id,
                            field=f"config.{field}",
                        )
                    )
    # Expressions (transform, condition): `nodes.<id>` read at the root must be upstream too; a node on a
    # parallel branch would be read racily and a missing one reads as null.
    for node_id, config in configs.items():
        language = getattr(config, "language", None)
        expression = getattr(config, "expression", None)
        if not (language and expression):
            continue
        for ref in sorted(node_references(expression, language) - ancestors[node_id]):
            why = "does not exist" if ref not in ids else f"is not upstream of '{node_id}'"
            issues.append(
                _issue(
                    "invalid_expression",
                    f"node '{node_id}' config.expression reads node '{ref}' which {why}",
                    node=node_id,
                    field="config.expression",
                )
            )
    if issues:
        raise FlowInvalid(issues[0]["message"], issues)

    edges_in: dict[str, list[Edge]] = {n: [] for n in dag.order}
    edges_out: dict[str, list[Edge]] = {n: [] for n in dag.order}
    for e in good_edges:
        edges_in[e.target].append(e)
        edges_out[e.source].append(e)
    return ValidFlow(
        document=doc,
        dag=dag,
        entry=entry,
        configs=configs,
        edges_in={k: tuple(v) for k, v in edges_in.items()},
        edges_out={k: tuple(v) for k, v in edges_out.items()},
    )


def _secret_problem(tpl: TemplatePath, node_type: str, field: str, secret_fields: tuple[str, ...]) -> str | None:
    """Why a `{{ secrets... }}` reference cannot stand here, or None (values must never reach a prompt, an
    output or a log, so only fields that send them somewhere may name them)."""
    if not secret_fields:
        return f"'{{{{ {tpl.text} }}}}': a {node_type} node cannot use credentials"
    if field not in secret_fields:
        return f"'{{{{ {tpl.text} }}}}': a {node_type} node resolves credentials only in {', '.join(secret_fields)}"
    try:
        secret_ref(tpl)
    except InvalidInput as exc:
        return exc.message
    return None
