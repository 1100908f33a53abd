"""JSON that Nexod can store, read back and serve: the limits, checked at the API's door and on every read.

Python's `json` accepts `NaN`, `Infinity`, numbers that overflow a double, lone surrogates and any nesting;
PostgreSQL's `jsonb` rejects the first ones (a 500 at insert), and values nested deeply enough make the
recursive readers and encoders of a later request fail (one such run input broke its workspace's run list).
So a request body is refused with a 422 naming the place, stored data is made storable on the way in,
and a stored value that still cannot be served is rendered as a marker instead of failing its listing.

Every walk here is iterative: the values it guards against are the ones that overflow recursion.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

# A request body nests at most this many objects and arrays (documented in the OpenAPI description).
MAX_DEPTH = 64
# What the platform itself stores (node outputs, compiled ASL) is cut below this depth, and a stored value
# deeper than this is not served. Powertools serialises responses with pydantic-core, which refuses values
# nested about 255 deep ("Circular reference detected"); this leaves room for the listing around a value.
# The repair migration (0002_readable_json.sql) uses the same number.
MAX_STORED_DEPTH = 128
# JSON numbers are IEEE doubles for most readers (JavaScript, jq, Step Functions), and the largest finite
# one bounds integers too: it keeps Python's int-string conversion limit (4300 digits) far away.
LARGEST_NUMBER = sys.float_info.max
_LARGEST_INT = int(LARGEST_NUMBER)
_MAX_INT_DIGITS = len(str(_LARGEST_INT))
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')

Path = tuple[str | int, ...]


class JsonRefused(ValueError):
    """A JSON document that cannot be accepted; `path` is where (keys and indexes from the root)."""

    def __init__(self, path: Path, problem: str, reason: str) -> None:
        super().__init__(f"{field_name(path, limit=12)}: {problem}")
        self.path = path
        self.problem = problem
        self.reason = reason  # malformed | too_deep | number | text

    @property
    def field(self) -> str:
        return field_name(self.path)


def field_name(path: Path, limit: int = 0) -> str:
    """`('input', 'a', 0)` -> `input.a.0`, the same spelling as the API's validation errors.

    With `limit`, a longer path keeps its first and last parts: `input.a.a...a.a (64 parts)`."""
    parts = [str(p) for p in path]
    if limit and len(parts) > limit:
        return f"{'.'.join(parts[: limit - 2])}...{'.'.join(parts[-2:])} ({len(parts)} parts)"
    return ".".join(parts) or "(body)"


class _Bad:
    """What the parser hooks return for a number it must not accept; the walk reports it with its path."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _constant(name: str) -> _Bad:
    return _Bad(f"{name} is not a JSON number")


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}...{text[-8:]} ({len(text)} characters)"


def _float(text: str) -> float | _Bad:
    value = float(text)
    if math.isfinite(value):
        return value
    return _Bad(f"the number {_short(text)} is beyond the largest JSON number (±{LARGEST_NUMBER:.4g})")


def _int(text: str) -> int | _Bad:
    digits = len(text) - (text[0] == "-")
    value = int(text) if digits <= _MAX_INT_DIGITS else None  # never convert thousands of digits
    if value is None or abs(value) > _LARGEST_INT:
        return _Bad(f"the number {_short(text)} is beyond the largest JSON number (±{LARGEST_NUMBER:.4g})")
    return value


def _text_problem(text: str) -> str | None:
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "text must not contain NUL (U+0000) characters"
    return f"text must not contain a lone surrogate (U+{ord(char):04X}): it is not valid Unicode"


def _number_problem(value: float | int) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a JSON number"
    if abs(value) > LARGEST_NUMBER:
        return f"the number is beyond the largest JSON number (±{LARGEST_NUMBER:.4g})"
    return None


def _fine(value: Any, max_depth: int) -> bool:
    """A fast yes/no of find_problem (no paths kept): the common case of a value that is fine.

    Scalars are checked where they are met; only containers go on the stack (a 2 MB body: ~0.2 s)."""
    bad_text = _BAD_TEXT.search
    low_float, high_float, low_int, high_int = -LARGEST_NUMBER, LARGEST_NUMBER, -_LARGEST_INT, _LARGEST_INT

    def scalar_fine(item: Any) -> bool:
        kind = type(item)
        if kind is str:
            return bad_text(item) is None
        if kind is float:
            return bool(low_float <= item <= high_float)  # false for NaN too
        if kind is int:
            return bool(low_int <= item <= high_int)
        return item is None or kind is bool or not isinstance(item, _Bad | str | float | int)

    if type(value) not in (dict, list, tuple):
        return scalar_fine(value) and not isinstance(value, dict | list | tuple)
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth >= max_depth:
            return False
        if type(item) is dict:
            for key in item:
                if type(key) is not str or bad_text(key):
                    return False
            children: Any = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is dict or kind is list or kind is tuple:
                stack.append((child, depth + 1))
            elif not scalar_fine(child) or isinstance(child, dict | list | tuple):
                return False  # (subclasses of containers: left to the full walk)
    return True


def find_problem(value: Any, max_depth: int = MAX_DEPTH) -> tuple[Path, str, str] | None:
    """The first place where `value` cannot be stored and served: (path, problem, reason); None if none.

    `reason` is one of too_deep, number, text."""
    if _fine(value, max_depth):
        return None
    # Depth-first with parent links, so a path is only built for the one place that is reported.
    trail: list[tuple[int, str | int]] = []  # (parent's trail index, key) per visited container child
    stack: list[tuple[Any, int, int]] = [(value, 0, -1)]  # (value, depth of containers above, trail index)

    def path_of(index: int) -> Path:
        keys: list[str | int] = []
        while index >= 0:
            index, key = trail[index]
            keys.append(key)
        return tuple(reversed(keys))

    while stack:
        item, depth, at = stack.pop()
        reason = "number"
        if isinstance(item, str):
            problem, reason = _text_problem(item), "text"
        elif isinstance(item, dict):
            if depth >= max_depth:
                return path_of(at), f"nesting deeper than {max_depth} levels of objects and arrays", "too_deep"
            problem = None
            for key, child in item.items():
                if isinstance(key, str) and (problem := _text_problem(key)) is not None:
                    trail.append((at, key))
                    return path_of(len(trail) - 1), f"object key: {problem}", "text"
                trail.append((at, key))
                stack.append((child, depth + 1, len(trail) - 1))
        elif isinstance(item, list | tuple):
            if depth >= max_depth:
                return path_of(at), f"nesting deeper than {max_depth} levels of objects and arrays", "too_deep"
            problem = None
            for index, child in enumerate(item):
                trail.append((at, index))
                stack.append((child, depth + 1, len(trail) - 1))
        elif isinstance(item, _Bad):
            problem = item.problem
        elif isinstance(item, bool) or item is None:
            problem = None
        elif isinstance(item, int | float):
            problem = _number_problem(item)
        else:
            problem = None  # datetimes, UUIDs, Decimals: serialised by the API's encoder
        if problem is not None:
            return path_of(at), problem, reason
    return None


def _deep_path(text: str, max_depth: int) -> Path:
    """Where a document too deep for the recursive parser first exceeds `max_depth` (a token scan)."""
    frames: list[list[Any]] = []  # [is_object, current key or index]
    for match in _TOKEN.finditer(text):
        lexeme = match.group()
        if lexeme in "[{":
            if len(frames) >= max_depth:
                return tuple(frame[1] for frame in frames)
            frames.append([lexeme == "{", None if lexeme == "{" else 0])
        elif lexeme in "]}":
            if frames:
                frames.pop()
        elif lexeme == ",":
            if frames and not frames[-1][0]:
                frames[-1][1] += 1
        elif lexeme != ":" and frames and frames[-1][0]:
            try:
                frames[-1][1] = json.loads(lexeme)
            except ValueError:
                frames[-1][1] = lexeme[1:-1]
    return ()


def parse(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a request body, refusing what could not be stored or served (raises JsonRefused)."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        problem = f"nesting deeper than {max_depth} levels of objects and arrays"
        raise JsonRefused(_deep_path(text, max_depth), problem, "too_deep") from None
    except json.JSONDecodeError as exc:
        problem = f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise JsonRefused((), problem, "malformed") from None
    found = find_problem(value, max_depth)
    if found is not None:
        raise JsonRefused(*found)
    return value


# -- stored data ---------------------------------------------------------------------------------------
class Unreadable:
    """A stored JSON value that cannot be decoded or served; the API renders it as an error marker."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem

    def __repr__(self) -> str:
        return f"<unreadable stored JSON: {self.problem}>"

    __str__ = __repr__


def load_stored(data: bytes | str) -> Any:
    """The database's JSON loader: never raises, so one bad row cannot fail a whole listing."""
    try:
        return json.loads(data)
    except RecursionError:
        return Unreadable(f"nested deeper than {MAX_STORED_DEPTH} levels")
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python's int-string conversion limit
            return Unreadable(f"holds a number beyond the largest JSON number (±{LARGEST_NUMBER:.4g})")
        return Unreadable(f"cannot be decoded: {str(exc)[:120]}")


def readable(value: Any, max_depth: int = MAX_STORED_DEPTH) -> tuple[Any, str | None]:
    """A stored value as the API may serve it: (value, None), or (None, why it cannot be served)."""
    if isinstance(value, Unreadable):
        return None, value.problem
    found = find_problem(value, max_depth)
    if found is None:
        return value, None
    path, problem, _ = found
    return None, f"{field_name(path, limit=12)}: {problem}" if path else problem


def _clean_text(text: str) -> str:
    # NUL and lone surrogates become U+FFFD, as a lenient UTF-8 decoder would render them.
    return _BAD_TEXT.sub("\ufffd", text) if _BAD_TEXT.search(text) else text


def _clean_number(value: float | int) -> float | int | str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # what JavaScript's JSON.stringify does with NaN and Infinity
    if isinstance(value, int) and abs(value) > _LARGEST_INT:
        # Kept as text; str() itself refuses beyond 4300 digits (about 14,000 bits).
        return str(value) if value.bit_length() <= 14_000 else "[cut: a number too large to store]"
    return value


# Type tuples built once: `isinstance(x, dict | list)` builds a union object on every call, and this loop
# runs for every value of every JSON parameter the Postgres adapter writes.
_CONTAINER = (dict, list, tuple)
_SEQUENCE = (list, tuple)
_NUMBER = (int, float)


def storable(value: Any, max_depth: int = MAX_STORED_DEPTH) -> Any:
    """A copy of external data (HTTP bodies, model output) that PostgreSQL stores and the API can serve:
    NUL and lone surrogates become U+FFFD, NaN and infinities null, numbers beyond a double a string,
    and containers nested deeper than `max_depth` a marker string."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]  # (value, parent, key in parent, depth)
    while stack:
        item, parent, key, depth = stack.pop()
        if isinstance(item, str):
            parent[key] = _clean_text(item)
        elif isinstance(item, _CONTAINER) and depth >= max_depth:
            parent[key] = f"[cut: nested deeper than {max_depth} levels]"
        elif isinstance(item, dict):
            copy: dict[Any, Any] = {}
            parent[key] = copy
            for k, v in item.items():
                k = _clean_text(k) if isinstance(k, str) else k
                copy[k] = None  # keeps the key order
                stack.append((v, copy, k, depth + 1))
        elif isinstance(item, _SEQUENCE):
            items: list[Any] = [None] * len(item)
            parent[key] = items
            stack.extend((v, items, i, depth + 1) for i, v in enumerate(item))
        elif isinstance(item, bool) or item is None:
            parent[key] = item
        elif isinstance(item, _NUMBER):
            parent[key] = _clean_number(item)
        else:
            parent[key] = item
    return root[0]


def serve(view: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Render a view's stored JSON fields for the API: a field that cannot be served becomes null and is
    named, with the reason, under `unreadable` (the item's error marker); the rest of the item stays."""
    problems = []
    for name in fields:
        _, problem = readable(view.get(name))
        if problem is not None:
            view[name] = None
            problems.append({"field": name, "message": problem})
    if problems:
        view["unreadable"] = problems
    return view
