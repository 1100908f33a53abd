"""A node kind registered only inside a test compiles, runs under moto and appears in /v1/node-types."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.support.noop_kind import noop_kind
from tests.unit.flows import edge, node

from .conftest import publish, run


@pytest.fixture
def noop() -> Iterator[None]:
    with noop_kind():
        yield


@pytest.mark.usefixtures("noop")
def test_a_kind_registered_in_a_test_runs_end_to_end(alice: Api, workspace: str, stack: LocalStack) -> None:
    # Given a flow using `noop`, a kind neither the compiler, the runner nor the services name
    definition = {
        "nodes": [
            node("start", "input"),
            node("hello", "noop", note="hi {{ input.who }}"),
            node("end", "output", value="{{ nodes.hello.output.note }}"),
        ],
        "edges": [edge("start", "hello"), edge("hello", "end")],
    }
    flow_id = publish(alice, workspace, definition, name="noop")
    # When it runs under moto
    finished = run(alice, workspace, flow_id, {"who": "there"})
    # Then the noop node ran with its template rendered, and its output reached the run's output
    assert finished["status"] == "SUCCEEDED", finished
    assert finished["output"] == "hi there"
    nodes = {
        n["node_id"]: n for n in alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{finished['id']}/nodes")["items"]
    }
    assert nodes["hello"]["type"] == "noop" and nodes["hello"]["status"] == "SUCCEEDED"


@pytest.mark.usefixtures("noop")
def test_a_kind_registered_in_a_test_is_in_the_catalog(alice: Api) -> None:
    # Given `noop` registered
    # When the console asks for the node types
    items = {t["type"]: t for t in alice.ok("GET", "/v1/node-types")["items"]}
    # Then it is there with its palette metadata and config schema
    assert items["noop"]["category"] == "Testing" and items["noop"]["icon"] == "noop"
    assert items["noop"]["templated_fields"] == ["note"]
    assert "note" in items["noop"]["config_schema"]["properties"]


def test_the_built_in_kinds_carry_palette_metadata(alice: Api) -> None:
    # Given the seven built-in kinds
    # When the console asks for the node types
    items = {t["type"]: t for t in alice.ok("GET", "/v1/node-types")["items"]}
    # Then each names the category the console grouped it under by name before the registry said so
    assert {t: items[t]["category"] for t in ("input", "output", "condition", "transform", "wait", "http", "llm")} == {
        "input": "Flow",
        "output": "Flow",
        "condition": "Logic",
        "transform": "Logic",
        "wait": "Logic",
        "http": "Connectors",
        "llm": "AI",
    }
    assert all(items[t]["icon"] == t for t in items)
    assert "noop" not in items
