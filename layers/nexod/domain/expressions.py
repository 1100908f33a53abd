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


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string/list/object are false."""
    return value not in (None, False, "", [], {})
