"""Issue 13 end to end: drafts that always save, test runs of the draft through the local orchestrator (moto's
interpreter of the compiled ASL, node results in PostgreSQL), pinned nodes and running one node. A real HTTP
server counts the calls the `http` node makes, so a pinned node that executed would show."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.api import Api
from tests.unit.flows import edge, node


class Counter:
    def __init__(self) -> None:
        self.hits = 0
        self.lock = threading.Lock()


@pytest.fixture
def counter() -> Iterator[tuple[str, Counter]]:
    """An HTTP server on loopback answering {"price": 10, "hit": n} and counting its hits."""
    seen = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with seen.lock:
                seen.hits += 1
                body = json.dumps({"price": 10, "hit": seen.hits}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def pricing(host: str, expression: str = "{total: nodes.fetch.output.body.price}") -> dict[str, Any]:
    """input -> fetch (http, the counted server) -> price (transform) -> result."""
    return {
        "nodes": [
            node("start", "input"),
            node("fetch", "http", method="GET", url=f"http://{host}/price"),
            node("price", "transform", expression=expression),
            node("result", "output"),
        ],
        "edges": [edge("start", "fetch"), edge("fetch", "price"), edge("price", "result")],
    }


def _test_run(api: Api, ws: str, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/test-runs", body)
    assert status == 202, started
    assert (started["test"], started["version"]) == (True, 0)
    return api.wait_run(ws, started["id"])


def test_a_pinned_http_node_runs_once_while_the_builder_iterates_downstream(
    alice: Api, workspace: str, counter: tuple[str, Counter]
):
    host, seen = counter
    alice.ok("PUT", f"/v1/workspaces/{workspace}/allowed-hosts", {"allowed_hosts": [host]})
    # Given a draft that was never published
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "pricing", "definition": pricing(host)})
    flow_id, base = flow["id"], f"/v1/workspaces/{workspace}/flows/{flow['id']}"
    assert (flow["valid"], flow["live_version"]) == (True, None)
    # When it is test-run without pins
    first = _test_run(alice, workspace, flow_id, {"input": {}, "use_pins": False})
    # Then it ran through the orchestrator: the http node called the server once
    assert first["status"] == "SUCCEEDED", (first["error"], alice.nodes(workspace, first["id"]))
    assert first["output"] == {"price": {"total": 10}} and seen.hits == 1
    # When the builder pins `fetch` from that run and changes the downstream node
    pin = alice.ok("PUT", f"{base}/pins/fetch", {"from_run": first["id"]})
    assert pin["output"]["body"] == {"price": 10, "hit": 1} and pin["from_run"] == first["id"]
    alice.ok("PUT", base, {"definition": pricing(host, "{total: nodes.fetch.output.body.price, currency: 'EUR'}")})
    second = _test_run(alice, workspace, flow_id, {"input": {}})
    # Then the new downstream node ran on the pinned output, and the http node did not execute
    assert second["status"] == "SUCCEEDED", second
    assert second["output"] == {"price": {"total": 10, "currency": "EUR"}}
    assert seen.hits == 1
    fetch = alice.nodes(workspace, second["id"])["fetch"]
    assert (fetch["status"], fetch["pinned"], fetch["executions"]) == ("SUCCEEDED", True, 0)
    # When the builder runs `price` alone with its upstream from the first run
    one = _test_run(alice, workspace, flow_id, {"only": "price", "from_run": first["id"], "use_pins": False})
    # Then only `price` executed, its rendered input and output visible, and the server was not called
    assert one["status"] == "SUCCEEDED", one
    nodes = alice.nodes(workspace, one["id"])
    assert (nodes["price"]["executions"], nodes["price"]["pinned"], nodes["price"]["output"]) == (
        1,
        False,
        {"total": 10, "currency": "EUR"},
    )
    assert nodes["price"]["input"] == {"expression": "{total: nodes.fetch.output.body.price, currency: 'EUR'}"}
    assert nodes["fetch"]["pinned"] and nodes["result"]["executions"] == 0
    assert seen.hits == 1
    # And test runs stay out of the run list and usage unless asked for; the flow was never published
    listed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow_id}")["items"]
    assert listed == []
    tests = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow_id}&test=true")["items"]
    assert {r["id"] for r in tests} == {first["id"], second["id"], one["id"]}
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/usage")["total"]["node_runs"] == 0
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/usage?test=true")["total"]["node_runs"] > 0
    assert alice.ok("GET", f"{base}/versions")["items"] == []


def test_a_pinned_approval_completes_at_once_and_no_approval_waits(alice: Api, workspace: str):
    # Given a draft whose approval node is pinned as approved
    definition = {
        "nodes": [
            node("start", "input"),
            node("gate", "approval", title="Ship?", message="Ship it?"),
            node("ship", "transform", expression="'shipped'"),
            node("end", "output"),
        ],
        "edges": [edge("start", "gate"), edge("gate", "ship", "output.decision == 'approve'"), edge("ship", "end")],
    }
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "gated", "definition": definition})
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow['id']}/pins/gate", {"output": {"decision": "approve"}})
    # When it is test-run
    finished = _test_run(alice, workspace, flow["id"], {})
    # Then the callback node completed from its pin (its edge condition decided on it) and nobody was asked
    assert finished["status"] == "SUCCEEDED", finished
    assert finished["output"] == {"ship": "shipped"}
    gate = alice.nodes(workspace, finished["id"])["gate"]
    assert (gate["pinned"], gate["executions"]) == (True, 0)
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/approvals?run={finished['id']}")["items"] == []


def test_a_broken_draft_saves_and_says_why_and_only_publishing_refuses_it(alice: Api, workspace: str):
    # Given a half-built draft: an http node without a url and an edge to nowhere
    broken = {
        "nodes": [node("start", "input"), node("fetch", "http")],
        "edges": [edge("start", "fetch"), edge("fetch", "gone")],
    }
    # When it is saved / Then it saves, and the answer names each problem's node, edge or field
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "wip", "definition": broken})
    assert flow["valid"] is False
    assert {"node": "fetch", "field": "config.url"}.items() <= flow["problems"][0].items()
    assert any(p.get("edge") == "fetch->gone" for p in flow["problems"])
    # And it lists and reads back
    assert [f["id"] for f in alice.ok("GET", f"/v1/workspaces/{workspace}/flows")["items"]] == [flow["id"]]
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow['id']}")["problems"] == flow["problems"]
    # When it is published or test-run / Then 422 lists the same problems
    for path in ("versions", "test-runs"):
        status, body = alice.post(f"/v1/workspaces/{workspace}/flows/{flow['id']}/{path}", {})
        assert status == 422, body
        assert body["error"]["code"] == "invalid_flow" and body["error"]["details"] == flow["problems"]
    # And what is no flow document at all is still refused
    status, body = alice.post(f"/v1/workspaces/{workspace}/flows", {"name": "x", "definition": {"nodes": "a"}})
    assert status == 422 and body["error"]["details"]["field"] == "definition.nodes"


def test_running_one_node_without_its_upstream_is_422_naming_it(
    alice: Api, workspace: str, counter: tuple[str, Counter]
):
    host, seen = counter
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "p", "definition": pricing(host)})
    status, body = alice.post(f"/v1/workspaces/{workspace}/flows/{flow['id']}/test-runs", {"only": "price"})
    assert status == 422, body
    assert body["error"]["details"] == {"field": "only", "node": "fetch"}
    assert seen.hits == 0
