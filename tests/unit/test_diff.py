"""The version diff (nexod.domain.diff): nodes by id, config changes as JSON paths, edges by (from, to, condition)."""

from __future__ import annotations

from nexod.domain.diff import diff_flows, field_changes
from tests.unit.flows import edge, node

BEFORE = {
    "nodes": [
        {**node("start", "input"), "position": {"x": 0, "y": 0}},
        node("fetch", "http", url="https://a.example/x", method="GET", headers={"Accept": "text/plain"}),
        node("check", "condition", expression="output.ok"),
        node("old", "transform", expression="'bye'"),
    ],
    "edges": [edge("start", "fetch"), edge("fetch", "check"), edge("check", "old", "true")],
}


def test_nodes_are_matched_by_id_and_config_changes_are_json_paths():
    # Given a second definition that moves `start`, changes fetch's url and a header, adds a node, drops one,
    # and changes the condition of one edge
    after = {
        "nodes": [
            {**node("start", "input"), "position": {"x": 300, "y": 40}},
            node("fetch", "http", url="https://b.example/x", method="GET", headers={"Accept": "application/json"}),
            node("check", "condition", expression="output.ok"),
            node("new", "transform", expression="'hi'"),
        ],
        "edges": [edge("start", "fetch"), edge("fetch", "check"), edge("check", "new", "false")],
    }
    # When they are compared
    diff = diff_flows(BEFORE, after)
    # Then the added and removed nodes are whole, and fetch's changes are listed field by field
    assert [n["id"] for n in diff["nodes"]["added"]] == ["new"]
    assert [n["id"] for n in diff["nodes"]["removed"]] == ["old"]
    assert diff["nodes"]["changed"] == [
        {
            "id": "fetch",
            "type": "http",
            "fields": [
                {"path": "config.headers.Accept", "before": "text/plain", "after": "application/json"},
                {"path": "config.url", "before": "https://a.example/x", "after": "https://b.example/x"},
            ],
        }
    ]  # start only moved on the canvas: not a change
    # And edges are matched by (from, to, condition)
    assert diff["edges"] == {
        "added": [{"from": "check", "to": "new", "condition": "false"}],
        "removed": [{"from": "check", "to": "old", "condition": "true"}],
    }
    assert diff["settings"] == []


def test_identical_definitions_have_an_empty_diff():
    # Given the same definition twice / When compared / Then nothing is listed
    diff = diff_flows(BEFORE, BEFORE)
    assert diff == {
        "nodes": {"added": [], "removed": [], "changed": []},
        "edges": {"added": [], "removed": []},
        "settings": [],
    }


def test_paths_name_list_items_odd_keys_and_whole_values_that_change_shape():
    # Given values that differ inside a list, under a key with a dot, and in shape
    before = {"items": [1, 2, 3], "headers": {"x.y": "a"}, "body": {"a": 1}, "gone": True}
    after = {"items": [1, 5, 3], "headers": {"x.y": "b"}, "body": [1], "new": None}
    # When compared / Then each path is exact; a field one side lacks reads as null there
    assert field_changes(before, after) == [
        {"path": "body", "before": {"a": 1}, "after": [1]},
        {"path": "gone", "before": True, "after": None},
        {"path": 'headers["x.y"]', "before": "a", "after": "b"},
        {"path": "items[1]", "before": 2, "after": 5},
    ]


def test_a_changed_type_and_retry_policy_and_document_settings_are_listed():
    # Given a node whose type and retry change, and a document-level setting
    before = {"nodes": [node("a", "transform", expression="1")], "edges": [], "settings": {"timeout": 10}}
    after = {
        "nodes": [{**node("a", "condition", expression="1"), "retry": {"max_attempts": 3}}],
        "edges": [],
        "settings": {"timeout": 20},
    }
    # When compared
    diff = diff_flows(before, after)
    # Then the node's type and policy are fields, and the setting is listed apart
    assert diff["nodes"]["changed"][0]["fields"] == [
        {"path": "retry", "before": None, "after": {"max_attempts": 3}},
        {"path": "type", "before": "transform", "after": "condition"},
    ]
    assert diff["settings"] == [{"path": "settings.timeout", "before": 10, "after": 20}]
