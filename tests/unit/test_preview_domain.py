"""What the editor's preview (issue 13) relies on in the domain and its service, without a database: a JSONata
evaluation bounded in time, secrets never rendered, and a draft's ancestors read whatever state it is in."""

from __future__ import annotations

import pytest

from nexod.domain.expressions import ExpressionError, evaluate
from nexod.domain.templating import render
from nexod.services.preview import _bounded, ancestors, secret_placeholder


def test_a_jsonata_loop_stops_at_the_timeout_and_a_bounded_evaluation_still_answers():
    # Given a JSONata expression that takes far longer than the limit (a million steps in pure Python)
    slow = "$sum([1..1000000].($ * $))"
    # When it is evaluated with a timeout, Then it stops with the evaluator's own timeout error
    with pytest.raises(ExpressionError, match="Evaluation timeout after 300 milliseconds"):
        evaluate(slow, {}, "jsonata", timeout_ms=300)
    # And an ordinary expression evaluates the same with or without one
    assert evaluate("a * 2", {"a": 4}, "jsonata", timeout_ms=300) == evaluate("a * 2", {"a": 4}, "jsonata") == 8
    # And a syntax error is the same error either way
    with pytest.raises(ExpressionError, match="invalid JSONata"):
        evaluate("a +", {}, "jsonata", timeout_ms=300)


def test_a_secret_renders_as_its_name_never_its_value():
    data = {"input": {"x": 1}, "nodes": {}, "run": {"id": "r"}}
    assert render("Bearer {{ secrets.api.key }} {{ input.x }}", data, secret_placeholder) == "Bearer «secret:api.key» 1"
    assert render({"h": "{{ secrets.tok }}"}, data, secret_placeholder) == {"h": "«secret:tok»"}


def test_ancestors_follow_the_draft_edges_even_when_it_is_broken():
    # Given a draft with a cycle, an edge to nowhere and a malformed edge
    draft = {
        "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"}, {"to": "d"}, 7],
    }
    # Then a node's ancestors are the nodes upstream of it, never itself and never a downstream node
    assert ancestors(draft, "c") == {"a", "b"}
    assert ancestors(draft, "a") == set()
    assert ancestors(draft, "d") == set()
    assert ancestors("not a draft", "a") == set()


def test_a_large_value_is_cut_to_its_json_start_and_says_so():
    small, cut = _bounded({"a": 1})
    assert (small, cut) == ({"a": 1}, False)
    big, cut = _bounded(list(range(30_000)))
    assert cut and isinstance(big, str) and big.startswith("[0, 1, 2") and len(big.encode()) <= 64 * 1024 + 3
