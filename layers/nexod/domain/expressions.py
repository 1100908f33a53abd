"""JMESPath and JSONata expressions: compile-time checks and evaluation."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError

Language = Literal["jmespath", "jsonata"]


class ExpressionError(ValueError):
    """An expression that does not parse or fails to evaluate."""


@lru_cache(maxsize=512)
def _compile_jmespath(expression: str) -> Any:
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise ExpressionError(f"invalid JMESPath {expression!r}: {exc}") from exc


@lru_cache(maxsize=512)
def _compile_jsonata(expression: str) -> Any:
    import jsonata  # imported lazily: only flows using JSONata pay for it

    try:
        return jsonata.Jsonata(expression)
    except Exception as exc:  # jsonata raises its own JException for syntax errors
        raise ExpressionError(f"invalid JSONata {expression!r}: {exc}") from exc


def check(expression: str, language: Language = "jmespath") -> None:
    (_compile_jmespath if language == "jmespath" else _compile_jsonata)(expression)


def evaluate(expression: str, data: Any, language: Language = "jmespath", *, timeout_ms: int | None = None) -> Any:
    """`timeout_ms` bounds a JSONata evaluation (its own D1012 error past it); JMESPath has no loops to bound."""
    if language == "jmespath":
        return _compile_jmespath(expression).search(data)
    try:
        if timeout_ms is not None:
            import jsonata

            _compile_jsonata(expression)  # the syntax error, said once and cached
            return jsonata.Jsonata(expression, timeout=timeout_ms, stack=500).evaluate(data)
        return _compile_jsonata(expression).evaluate(data)
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"JSONata {expression!r} failed: {exc}") from exc


def node_references(expression: str, language: Language = "jmespath") -> set[str]:
    """The node ids a JMESPath expression reads at its root as `nodes.<id>…` (what validation checks are upstream).

    Only root-context paths count: inside a projection, a filter, a pipe's right side or an `&expref` the
    current value is an element, not the run's data, so a `nodes` there is a field of that element. JSONata
    expressions are not inspected (empty set)."""
    if language != "jmespath":
        return set()
    found: set[str] = set()
    _root_refs(_compile_jmespath(expression).parsed, found)
    return found


# AST node types whose first child keeps the current context while the others see a derived value.
_LEFT_ONLY = frozenset(
    {"subexpression", "projection", "value_projection", "filter_projection", "pipe", "index_expression"}
)


def _root_refs(node: dict[str, Any], found: set[str]) -> None:
    kind = node.get("type")
    kids: list[dict[str, Any]] = node.get("children", [])
    if kind == "subexpression" and len(kids) > 1 and kids[0].get("type") == "field" and kids[0].get("value") == "nodes":
        second = kids[1]
        if second.get("type") == "index_expression":
            second = second["children"][0]
        if second.get("type") == "field":
            found.add(str(second["value"]))
    if kind == "expref":
        return
    for kid in kids[:1] if kind in _LEFT_ONLY else kids:
        if isinstance(kid, dict):
            _root_refs(kid, found)


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string/list/object are false."""
    return value not in (None, False, "", [], {})
