"""Flow validation: every problem is reported with the node, edge or field it concerns."""

from __future__ import annotations

import pytest

from nexod.domain.errors import FlowInvalid, PayloadTooLarge
from nexod.domain.validation import validate

from .flows import demo_flow, edge, fan_out, node


def issues_of(document: object) -> list[dict]:
    with pytest.raises(FlowInvalid) as caught:
        validate(document)
    return caught.value.details


def test_demo_flow_is_valid():
    # Given the acceptance flow
    # When it is validated
    flow = validate(demo_flow())
    # Then its entry is the input node and its graph is known
    assert flow.entry == "start"
    assert flow.dag.pred["result"] == ("summarise", "fallback")


def test_unknown_node_type_names_the_node_and_the_known_types():
    # Given a node of a type that does not exist
    doc = {"nodes": [node("start", "input"), node("x", "teleport")], "edges": [edge("start", "x")]}
    # When validated / Then the issue names node and known types
    [issue] = issues_of(doc)
    assert issue["code"] == "unknown_node_type"
    assert issue["node"] == "x"
    assert "'teleport'" in issue["message"] and "http" in issue["message"]


def test_duplicate_node_ids_are_rejected():
    doc = {"nodes": [node("start", "input"), node("a"), node("a")], "edges": [edge("start", "a")]}
    assert any(i["code"] == "duplicate_node" and i["node"] == "a" for i in issues_of(doc))


def test_edge_to_a_missing_node_names_edge_and_node():
    # Given an edge pointing nowhere
    doc = {
        "nodes": [node("start", "input"), node("a")],
        "edges": [edge("start", "a"), edge("a", "summarise")],
    }
    # When validated
    [issue] = issues_of(doc)
    # Then the message says which edge points to which missing node
    assert issue == {
        "code": "dangling_edge",
        "edge": "a->summarise",
        "message": "edge 'a->summarise' points to node 'summarise' which does not exist",
    }


def test_cycle_names_the_nodes_on_it():
    # Given a -> b -> c -> a behind the input
    doc = {
        "nodes": [node("start", "input"), node("a"), node("b"), node("c")],
        "edges": [edge("start", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a")],
    }
    # When validated
    [issue] = issues_of(doc)
    # Then the cycle is spelled out
    assert issue["code"] == "cycle"
    assert set(issue["nodes"]) == {"a", "b", "c"}
    assert "a -> b -> c -> a" in issue["message"]


def test_self_loop_is_a_cycle():
    doc = {"nodes": [node("start", "input"), node("a")], "edges": [edge("start", "a"), edge("a", "a")]}
    assert issues_of(doc)[0]["code"] == "cycle"


def test_several_entries_without_an_input_node():
    doc = {"nodes": [node("a"), node("b"), node("c")], "edges": [edge("a", "c"), edge("b", "c")]}
    [issue] = issues_of(doc)
    assert issue["code"] == "no_entry" and "a, b" in issue["message"]


def test_empty_flow_has_no_entry():
    assert issues_of({"nodes": [], "edges": []})[0]["code"] == "no_entry"


def test_unreachable_node_is_named():
    # Given a node nothing leads to, beside an input node
    doc = {"nodes": [node("start", "input"), node("a"), node("island")], "edges": [edge("start", "a")]}
    # When validated / Then it is named as unreachable from the entry
    [issue] = issues_of(doc)
    assert issue["code"] == "unreachable_node" and issue["node"] == "island"
    assert "entry node 'start'" in issue["message"]


def test_invalid_config_names_node_and_field():
    # Given an http node with a negative timeout and no url
    doc = {
        "nodes": [node("start", "input"), node("fetch", "http", timeout_seconds=-1)],
        "edges": [edge("start", "fetch")],
    }
    # When validated
    found = issues_of(doc)
    # Then both fields are named with the node
    fields = {(i["node"], i["field"]) for i in found}
    assert ("fetch", "config.url") in fields and ("fetch", "config.timeout_seconds") in fields
    assert all(i["code"] == "invalid_config" for i in found)


def test_unknown_config_fields_are_rejected():
    doc = {
        "nodes": [node("start", "input"), node("t", "transform", expression="input", expresion="typo")],
        "edges": [edge("start", "t")],
    }
    [issue] = issues_of(doc)
    assert issue["field"] == "config.expresion"


def test_condition_syntax_errors_name_the_edge():
    # Given an edge whose JMESPath does not parse
    doc = {
        "nodes": [node("start", "input"), node("a"), node("b")],
        "edges": [edge("start", "a"), edge("a", "b", "output.x ==")],
    }
    # When validated / Then the edge is named
    [issue] = issues_of(doc)
    assert issue["code"] == "invalid_condition" and issue["edge"] == "a->b"


def test_true_false_conditions_only_follow_condition_nodes():
    doc = {
        "nodes": [node("start", "input"), node("a"), node("b")],
        "edges": [edge("start", "a"), edge("a", "b", "true")],
    }
    [issue] = issues_of(doc)
    assert issue["code"] == "invalid_condition" and "condition node" in issue["message"]


def test_node_expression_errors_name_the_node():
    doc = {
        "nodes": [node("start", "input"), node("t", "transform", expression="foo[")],
        "edges": [edge("start", "t")],
    }
    [issue] = issues_of(doc)
    assert issue["code"] == "invalid_expression" and issue["node"] == "t"


def test_jsonata_expressions_are_checked():
    doc = {
        "nodes": [node("start", "input"), node("t", "transform", language="jsonata", expression="$sum(")],
        "edges": [edge("start", "t")],
    }
    assert issues_of(doc)[0]["node"] == "t"


def test_templates_may_only_read_upstream_nodes():
    # Given an llm node that reads a sibling (not upstream) node's output
    doc = demo_flow()
    doc["nodes"][3]["config"]["prompt"] = "Use {{ nodes.fallback.output.title }}"
    # When validated / Then the template is rejected, naming the node and field
    [issue] = issues_of(doc)
    assert issue["code"] == "invalid_template"
    assert issue["node"] == "summarise" and issue["field"] == "config.prompt"
    assert "not upstream" in issue["message"]


def test_templates_reading_missing_nodes_are_rejected():
    doc = demo_flow()
    doc["nodes"][1]["config"]["url"] = "http://x/{{ nodes.nope.output }}"
    [issue] = issues_of(doc)
    assert "does not exist" in issue["message"]


def test_expressions_may_only_read_upstream_nodes_at_their_root():
    # Given a transform after `fetch` whose expression reads fetch, a missing node and a downstream one
    doc = {
        "nodes": [
            node("start", "input"),
            node("fetch", "http", url="http://x/"),
            node("merge", "transform", expression="[nodes.fetch.output, nodes.ghost.output, nodes.result.output]"),
            node("result", "output"),
        ],
        "edges": [edge("start", "fetch"), edge("fetch", "merge"), edge("merge", "result")],
    }
    # When validated / Then each bad read is one problem on the node's expression field, naming the node read
    issues = issues_of(doc)
    assert [(i["code"], i["node"], i["field"]) for i in issues] == [
        ("invalid_expression", "merge", "config.expression")
    ] * 2
    assert "'ghost' which does not exist" in issues[0]["message"]
    assert "'result' which is not upstream of 'merge'" in issues[1]["message"]


def test_expression_paths_inside_projections_filters_and_exprefs_are_element_fields():
    # Given expressions whose inner `nodes` are fields of list elements, not the run's nodes
    from nexod.domain.expressions import node_references

    # When their node references are read / Then only the root-level reads count
    assert node_references("nodes.a.output[?x == nodes.z].y") == {"a"}
    assert node_references("sort_by(nodes.a.output, &nodes.b) | nodes.c") == {"a"}
    assert node_references('{x: nodes."b-x".output[0], y: input.q}') == {"b-x"}
    assert node_references("nodes.a", "jsonata") == set()


def test_bad_node_ids_are_rejected():
    doc = {"nodes": [node("start", "input"), node("my-node")], "edges": [edge("start", "my-node")]}
    assert issues_of(doc)[0]["code"] == "invalid_node_id"


def test_unknown_top_level_fields_are_rejected():
    [issue] = issues_of({"nodes": [node("start", "input")], "edges": [], "extra": 1})
    assert issue["field"] == "extra"


def test_flows_of_500_nodes_are_accepted_and_501_rejected():
    # Given the largest allowed flow
    validate(fan_out(498))  # 498 + input + output = 500 nodes
    # When one more node is added / Then it is refused with the limit
    [issue] = issues_of(fan_out(499))
    assert issue["code"] == "too_many_nodes" and "500" in issue["message"]


def test_documents_over_one_mebibyte_are_too_large():
    # Given a document just over 1 MiB
    doc = {"nodes": [node("start", "input", example={"blob": "x" * (1024 * 1024)})], "edges": []}
    # When validated / Then it is a 413, not a crash
    with pytest.raises(PayloadTooLarge):
        validate(doc)


def test_a_document_near_one_mebibyte_is_accepted():
    doc = {"nodes": [node("start", "input", example={"blob": "x" * (1000 * 1000)})], "edges": []}
    assert validate(doc).entry == "start"
