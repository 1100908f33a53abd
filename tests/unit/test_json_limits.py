"""The JSON limits of the API's door and of stored data: what is refused, where, and what is made storable."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexod.services.json_limits import (
    MAX_DEPTH,
    MAX_STORED_DEPTH,
    JsonRefused,
    Unreadable,
    find_problem,
    load_stored,
    parse,
    readable,
    serve,
    storable,
)


def nested(depth: int, leaf: str = "1") -> str:
    """`{"a":{"a":...leaf...}}` with `depth` objects."""
    return '{"a":' * depth + leaf + "}" * depth


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ('{"input": {"x": NaN}}', "input.x", "number"),
        ('{"input": {"x": [1, Infinity]}}', "input.x.1", "number"),
        ('{"input": -Infinity}', "input", "number"),
        ('{"n": 1e999999}', "n", "number"),
        ('{"n": -1e309}', "n", "number"),
        ('{"n": 1' + "0" * 5000 + "}", "n", "number"),
        ('{"n": 1' + "0" * 309 + "}", "n", "number"),
        ('{"s": "\\ud800"}', "s", "text"),
        ('{"s": ["ok", "\\udfff tail"]}', "s.1", "text"),
        ('{"\\udc00": 1}', "\udc00", "text"),
        ('{"s": "a\\u0000b"}', "s", "text"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), ".".join(["0"] * MAX_DEPTH), "too_deep"),
        ('{"name": ', "(body)", "malformed"),
    ],
    ids=[
        "nan",
        "infinity-in-list",
        "minus-infinity",
        "huge-exponent",
        "overflowing-float",
        "5000-digit-int",
        "310-digit-int",
        "lone-high-surrogate",
        "lone-low-surrogate",
        "surrogate-key",
        "nul",
        "too-deep",
        "malformed",
    ],
)
def test_the_door_refuses_naming_the_place(text, field, reason):
    # When a hostile body is parsed
    with pytest.raises(JsonRefused) as refused:
        parse(text)
    # Then the refusal names where and why
    assert refused.value.field == field and refused.value.reason == reason


def test_the_depth_limit_is_exactly_64_levels():
    # Given bodies nested 64 and 65 deep
    assert parse(nested(MAX_DEPTH)) is not None
    # Then only the deeper one is refused, at the 64th level
    with pytest.raises(JsonRefused) as refused:
        parse(nested(MAX_DEPTH + 1))
    assert refused.value.path == ("a",) * MAX_DEPTH


def test_a_document_too_deep_for_the_parser_is_refused_with_its_path():
    # Given a body nested 100,000 deep (beyond Python's recursion limit)
    text = '{"input": ' + '[{"k": ' * 50_000 + "1" + "}]" * 50_000 + "}"
    # When it is parsed
    with pytest.raises(JsonRefused) as refused:
        parse(text)
    # Then it is refused as too deep, naming the path down to the limit
    assert refused.value.reason == "too_deep"
    assert refused.value.path[:5] == ("input", 0, "k", 0, "k") and len(refused.value.path) == MAX_DEPTH


def test_the_largest_numbers_are_accepted():
    # Given the largest finite double and the largest integer of its magnitude
    largest = int(1.7976931348623157e308)
    value = parse(json.dumps({"f": 1.7976931348623157e308, "i": largest, "neg": -largest, "tiny": 5e-324}))
    # Then they are accepted as they are
    assert value == {"f": 1.7976931348623157e308, "i": largest, "neg": -largest, "tiny": 5e-324}


def test_ordinary_unicode_is_accepted():
    text = json.dumps({"emoji": "\U0001f600", "accents": "ação", "cjk": "漢字"}, ensure_ascii=True)
    assert parse(text)["emoji"] == "\U0001f600"


# -- stored data -----------------------------------------------------------------------------------
def test_undecodable_stored_values_become_markers_not_exceptions():
    # Given stored JSON that Python cannot read back (5000 digits) or that nests beyond recursion
    huge = b'{"x": 1' + b"0" * 5000 + b"}"
    deep = b"[" * 100_000 + b"]" * 100_000
    # Then reading yields a marker naming the problem
    for data, problem in ((huge, "beyond the largest JSON number"), (deep, "nested deeper")):
        value = load_stored(data)
        assert isinstance(value, Unreadable) and problem in value.problem


def test_serve_marks_only_the_unreadable_fields_of_an_item():
    # Given a run view whose input nests too deep and whose output holds a number beyond a double
    view = {"id": "r1", "input": json.loads(nested(MAX_STORED_DEPTH + 1)), "output": {"n": 10**400}, "error": None}
    # When it is served
    served = serve(view, ("input", "output", "error"))
    # Then those fields are null, each named with its reason, and the rest of the item stays
    assert served["id"] == "r1" and served["input"] is None and served["output"] is None and served["error"] is None
    assert [u["field"] for u in served["unreadable"]] == ["input", "output"]
    assert "nesting deeper than 128" in served["unreadable"][0]["message"]
    assert served["unreadable"][1]["message"].startswith("n: the number is beyond")


def test_serve_leaves_readable_items_unmarked():
    view = {"input": json.loads(nested(MAX_STORED_DEPTH)), "output": [1.5, "x"]}
    assert "unreadable" not in serve(dict(view), ("input", "output"))
    assert readable(view["input"]) == (view["input"], None)


def test_storable_makes_external_data_storable():
    # Given external data PostgreSQL's jsonb could not hold or the API could not serve back
    data = {
        "nan": math.nan,
        "inf": [math.inf, -math.inf],
        "big": 10**400,
        "text": "a\x00b\ud800c",
        "\udc00key": 1,
        "deep": json.loads(nested(MAX_STORED_DEPTH + 5)),
        "ok": {"n": 1.5, "t": (1, 2)},
    }
    # When it is made storable
    stored = storable(data)
    # Then it serialises as strict JSON, keeps what was fine, and reads back whole
    text = json.dumps(stored, allow_nan=False)
    text.encode("utf-8")
    assert stored["nan"] is None and stored["inf"] == [None, None] and stored["big"] == str(10**400)
    assert stored["text"] == "a\ufffdb\ufffdc" and stored["\ufffdkey"] == 1
    assert stored["ok"] == {"n": 1.5, "t": [1, 2]}
    assert find_problem(json.loads(text), MAX_STORED_DEPTH) is None
    cut = stored["deep"]  # the second level of containers: 126 more are kept below it
    for _ in range(MAX_STORED_DEPTH - 2):
        cut = cut["a"]
    assert cut["a"] == f"[cut: nested deeper than {MAX_STORED_DEPTH} levels]"


# -- properties ------------------------------------------------------------------------------------
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**320), max_value=10**320),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=8),
)
hostile = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=40,
)


def _deepen(value: object, depth: int) -> object:
    for _ in range(depth):
        value = {"d": value}
    return value


@settings(max_examples=300, deadline=None)
@given(value=hostile, depth=st.sampled_from([0, 1, 60, 70, 200]))
def test_parse_accepts_exactly_what_can_be_stored_and_served(value, depth):
    # Given any JSON-ish value, possibly hostile, written as Python's lenient json would write it
    value = _deepen(value, depth)
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (ValueError, RecursionError):
        return  # integers beyond Python's int-string limit cannot even be written
    # When the door parses it
    problem = find_problem(json.loads(text), MAX_DEPTH)
    if problem is not None:
        # Then a value holding a problem is refused for that reason
        with pytest.raises(JsonRefused) as refused:
            parse(text)
        assert refused.value.reason == problem[2]
        return
    # Or it is accepted, and then strict JSON and UTF-8 can carry it unchanged
    parsed = parse(text)
    assert json.loads(json.dumps(parsed, allow_nan=False).encode("utf-8")) == parsed


@settings(max_examples=300, deadline=None)
@given(value=hostile, depth=st.sampled_from([0, 100, 200]))
def test_storable_output_always_reads_back_and_serves(value, depth):
    # Given any value external data could produce
    stored = storable(_deepen(value, depth))
    # Then it is strict JSON, UTF-8 encodable, within the stored depth, and served without a marker
    text = json.dumps(stored, allow_nan=False)
    text.encode("utf-8")
    assert readable(load_stored(text.encode()))[1] is None
