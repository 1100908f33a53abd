"""EventBridge event patterns (issue 12): validated when a trigger is saved, matched locally.

One matcher for the product: the API validates every `eventbridge` trigger's pattern (and an `sqs` trigger's
payload filter) with `validate`, and local mode matches the events put to its buses with `matches`. In AWS,
EventBridge itself matches the same pattern (a rule per trigger). No maintained Python port of event-ruler
exists (docs/decisions.md, 2026-11-26), so this follows the EventBridge documentation:

- a pattern is an object; its leaves are non-empty arrays of match values, its objects nest into the event;
- a leaf matches when any of its values matches the event's value (an array in the event: any element);
- match values: strings, numbers (5 equals 5.0), booleans, null, and one-key filter objects:
  `prefix`, `suffix` (each also `{"equals-ignore-case": s}`), `equals-ignore-case`, `wildcard` (`*` any run,
  `\\*` a star), `anything-but` (a value, a list of them, or a `prefix` / `suffix` / `equals-ignore-case` /
  `wildcard` filter), `numeric` (`[op, n]` or `[>|>=, n, <|<=, m]`), `exists` (true / false), `cidr`;
- `$or: [pattern, ...]` (two or more) at any object level, AND-ed with the object's other keys.

A field that is missing matches only `{"exists": false}`.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from typing import Any

MAX_PATTERN_CHARS = 4096  # EventBridge limits a rule's pattern to 4,096 characters
_NUMERIC_OPS = ("<", "<=", "=", ">=", ">")
_FILTERS = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"}
)
_MISSING = object()


class PatternError(ValueError):
    """A pattern EventBridge would refuse: `path` names the bad key (dotted, from the pattern's root)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# -- validation -------------------------------------------------------------------------------------
def validate(pattern: Any) -> dict[str, Any]:
    """The pattern unchanged when EventBridge would take it; PatternError naming the bad key otherwise."""
    if not isinstance(pattern, dict) or not pattern:
        raise PatternError("", "an event pattern is a non-empty JSON object")
    if len(json.dumps(pattern, separators=(",", ":"))) > MAX_PATTERN_CHARS:
        raise PatternError("", f"an event pattern is at most {MAX_PATTERN_CHARS} characters")
    _object(pattern, "")
    return pattern


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(node: dict[str, Any], path: str) -> None:
    for key, value in node.items():
        here = _join(path, key)
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise PatternError(here, "$or takes an array of two or more patterns")
            for i, each in enumerate(value):
                if not isinstance(each, dict) or not each:
                    raise PatternError(f"{here}[{i}]", "each $or alternative is a non-empty object")
                _object(each, path)
        elif isinstance(value, dict):
            if not value:
                raise PatternError(here, "an object in a pattern must not be empty")
            _object(value, here)
        elif isinstance(value, list):
            if not value:
                raise PatternError(here, "a match array must not be empty")
            for each in value:
                _value(each, here)
        else:
            raise PatternError(here, "must be an array of match values or an object")


def _string(value: Any, path: str, name: str) -> str:
    if not isinstance(value, str):
        raise PatternError(path, f"{name} takes a string")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ignore_case_or_string(value: Any, path: str, name: str) -> None:
    if isinstance(value, dict):
        if set(value) != {"equals-ignore-case"}:
            raise PatternError(path, f'{name} takes a string or {{"equals-ignore-case": string}}')
        _string(value["equals-ignore-case"], path, f"{name}.equals-ignore-case")
    else:
        _string(value, path, name)


def _wildcard(value: Any, path: str) -> None:
    text = _string(value, path, "wildcard")
    if "**" in text:
        raise PatternError(path, "wildcard: consecutive '*' are not allowed")


def _value(value: Any, path: str) -> None:
    if value is None or isinstance(value, str | bool) or _number(value):
        return
    if not isinstance(value, dict):
        raise PatternError(path, "a match value is a string, number, boolean, null or a filter object")
    if len(value) != 1:
        raise PatternError(path, "a filter object has exactly one key")
    name, arg = next(iter(value.items()))
    here = f"{path}.{name}"
    if name not in _FILTERS:
        raise PatternError(here, f"unknown filter '{name}' (one of {', '.join(sorted(_FILTERS))})")
    if name in ("prefix", "suffix"):
        _ignore_case_or_string(arg, here, name)
    elif name == "equals-ignore-case":
        _string(arg, here, name)
    elif name == "wildcard":
        _wildcard(arg, here)
    elif name == "exists":
        if not isinstance(arg, bool):
            raise PatternError(here, "exists takes true or false")
    elif name == "cidr":
        try:
            ipaddress.ip_network(_string(arg, here, name), strict=False)
        except ValueError:
            raise PatternError(here, f"'{arg}' is not an IP range in CIDR notation") from None
    elif name == "numeric":
        _numeric(arg, here)
    else:
        _anything_but(arg, here)


def _numeric(arg: Any, path: str) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise PatternError(path, "numeric takes [op, number] or [lower op, number, upper op, number]")
    pairs = list(zip(arg[::2], arg[1::2], strict=True))
    for op, number in pairs:
        if op not in _NUMERIC_OPS:
            raise PatternError(path, f"numeric operator '{op}' is not one of {', '.join(_NUMERIC_OPS)}")
        if not _number(number):
            raise PatternError(path, f"numeric operand '{number}' is not a number")
    if len(pairs) == 2:
        (low_op, low), (high_op, high) = pairs
        if low_op not in (">", ">=") or high_op not in ("<", "<="):
            raise PatternError(path, "a numeric range is [> or >=, lower, < or <=, upper]")
        if low >= high:
            raise PatternError(path, "a numeric range's lower bound must be below its upper bound")


def _anything_but(arg: Any, path: str) -> None:
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise PatternError(path, "anything-but takes one filter")
        name, inner = next(iter(arg.items()))
        here = f"{path}.{name}"
        if name in ("prefix", "suffix"):
            _string(inner, here, name)
        elif name in ("equals-ignore-case", "wildcard"):
            for each in inner if isinstance(inner, list) and inner else [inner]:
                _wildcard(each, here) if name == "wildcard" else _string(each, here, name)
        else:
            raise PatternError(here, "anything-but filters are prefix, suffix, equals-ignore-case and wildcard")
    elif isinstance(arg, list):
        if not arg:
            raise PatternError(path, "anything-but: the array must not be empty")
        kinds = {isinstance(each, str) for each in arg}
        if len(kinds) > 1 or not all(isinstance(each, str) or _number(each) for each in arg):
            raise PatternError(path, "anything-but: an array of strings or of numbers")
    elif not (isinstance(arg, str) or _number(arg)):
        raise PatternError(path, "anything-but takes a string, a number, an array of them or a filter")


# -- matching ---------------------------------------------------------------------------------------
def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Whether `event` (a JSON document: an EventBridge event, or an SQS payload under a filter) matches."""
    return _match_object(pattern, event)


def _match_object(pattern: dict[str, Any], node: Any) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_match_object(alternative, node) for alternative in expected):
                return False
            continue
        value = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
        if isinstance(expected, dict):
            candidates = value if isinstance(value, list) else [value]
            if not any(_match_object(expected, each) for each in candidates if isinstance(each, dict)):
                return False
        elif not _match_leaf(expected, value):
            return False
    return True


def _match_leaf(expected: list[Any], value: Any) -> bool:
    if value is _MISSING or isinstance(value, dict):
        return any(isinstance(f, dict) and f.get("exists") is False for f in expected)
    values = value if isinstance(value, list) else [value]
    return any(_match_one(f, v) for f in expected for v in values) or (
        not values and any(isinstance(f, dict) and f.get("exists") is True for f in expected)
    )


def _equal(expected: Any, value: Any) -> bool:
    if _number(expected) and _number(value):
        return bool(expected == value)
    if isinstance(expected, bool) or isinstance(value, bool) or expected is None or value is None:
        return expected is value
    return type(expected) is type(value) and bool(expected == value)


def _match_one(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return _equal(condition, value)
    name, arg = next(iter(condition.items()))
    if name == "exists":
        return bool(arg)
    if name == "numeric":
        return _number(value) and _numeric_match(arg, value)
    if name == "anything-but":
        return _anything_but_match(arg, value)
    if not isinstance(value, str):
        return False
    if name == "prefix":
        return _affix(arg, value, str.startswith)
    if name == "suffix":
        return _affix(arg, value, str.endswith)
    if name == "equals-ignore-case":
        return value.casefold() == str(arg).casefold()
    if name == "wildcard":
        return _wildcard_match(str(arg), value)
    if name == "cidr":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(str(arg), strict=False)
        except ValueError:
            return False
    return False


def _affix(arg: Any, value: str, test: Any) -> bool:
    if isinstance(arg, dict):
        return bool(test(value.casefold(), str(arg["equals-ignore-case"]).casefold()))
    return bool(test(value, str(arg)))


def _numeric_match(arg: list[Any], value: float) -> bool:
    for op, number in zip(arg[::2], arg[1::2], strict=True):
        ok = {
            "<": value < number,
            "<=": value <= number,
            "=": value == number,
            ">=": value >= number,
            ">": value > number,
        }[op]
        if not ok:
            return False
    return True


def _wildcard_regex(text: str) -> re.Pattern[str]:
    parts, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "*\\":
            parts.append(re.escape(text[i + 1]))
            i += 2
        elif text[i] == "*":
            parts.append(".*")
            i += 1
        else:
            parts.append(re.escape(text[i]))
            i += 1
    return re.compile("".join(parts), re.DOTALL)


def _wildcard_match(text: str, value: str) -> bool:
    return _wildcard_regex(text).fullmatch(value) is not None


def _anything_but_match(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        name, inner = next(iter(arg.items()))
        if not isinstance(value, str):
            return False
        if name == "prefix":
            return not value.startswith(str(inner))
        if name == "suffix":
            return not value.endswith(str(inner))
        options = inner if isinstance(inner, list) else [inner]
        if name == "equals-ignore-case":
            return all(value.casefold() != str(o).casefold() for o in options)
        return not any(_wildcard_match(str(o), value) for o in options)
    options = arg if isinstance(arg, list) else [arg]
    return not any(_equal(o, value) for o in options)
