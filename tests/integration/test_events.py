"""Run events end to end: appended with each state change, read by long poll and Server-Sent Events, and
run lifecycle events relayed to (moto's) EventBridge."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import boto3

from nexod.adapters.postgres import PostgresStore
from nexod.domain.actor import UserActor
from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run

LINEAR = {
    "nodes": [
        node("start", "input"),
        node("double", "transform", expression="{n: input.n}"),
        node("result", "output"),
    ],
    "edges": [edge("start", "double"), edge("double", "result")],
}


def read_until(api: Api, path: str, last_type: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Long-poll `path` from the start until an event of `last_type` arrives."""
    events: list[dict[str, Any]] = []
    cursor = "0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = api.ok("GET", f"{path}?after={cursor}&wait=5")
        events += page["items"]
        cursor = page["cursor"]
        if any(e["type"] == last_type for e in page["items"]):
            return events
    raise AssertionError(f"no {last_type} within {timeout}s: {[e['type'] for e in events]}")


def test_late_commits_are_never_behind_a_cursor_a_reader_holds(stack: LocalStack):
    # Given a run, and transaction A that began writing before transaction B
    store = stack.platform.services.store
    assert isinstance(store, PostgresStore)
    ws = str(uuid.uuid4())
    with store.tx(ws, "local|alice") as uow:
        uow.workspaces.create("late", "local|alice")
        flow = uow.flows.create("f", "", LINEAR)
        uow.versions.add(flow.id, 1, LINEAR, {}, "h", "arn:v1", "")
        run_id = uow.runs.create(flow.id, 1, {}, "manual", UserActor("local|alice")).id
    with store.tx(ws) as a:
        a.events.append(run_id, "node.started", "a", 0)
        a.events.flush()  # A holds a transaction id (and an earlier event) from here on
        # When B appends an event and commits while A is still open
        with store.tx(ws) as b:
            b.events.append(run_id, "node.started", "b", 0)
        with store.tx(ws) as reader:
            while_a_open = reader.events.after(None, run_id)
        # And A appends another event (with a later id than B's) and commits
        a.events.append(run_id, "node.succeeded", "a", 0)
    with store.tx(ws) as reader:
        after_both = reader.events.after(None, run_id)
    # Then a reader saw nothing while A was open (B's event waits behind A), and then all of A's before B's:
    # a reader that had taken B's cursor would otherwise have skipped A's second event for good
    assert while_a_open == []
    assert [(e.type, e.node_id) for e in after_both] == [
        ("node.started", "a"),
        ("node.succeeded", "a"),
        ("node.started", "b"),
    ]
    assert after_both[1].cursor.id > after_both[2].cursor.id  # ids alone would have put B's first


def test_a_run_tells_its_story_in_events(alice: Api, workspace: str):
    # Given a published input -> transform -> output flow
    flow_id = publish(alice, workspace, LINEAR)
    # When it runs and its events are long-polled until it succeeds
    started = run(alice, workspace, flow_id, {"n": 21})
    events = read_until(alice, f"/v1/workspaces/{workspace}/runs/{started['id']}/events", "run.succeeded")
    # Then the run's changes come in order, each node started before it succeeded, ending with success
    types = [(e["type"], e["node_id"]) for e in events]
    assert types[0] == ("run.queued", None)
    assert types[-1] == ("run.succeeded", None)
    for node_id in ("double", "result"):
        assert types.index(("node.started", node_id)) < types.index(("node.succeeded", node_id))
    assert ("node.succeeded", "start") in types and ("run.started", None) in types
    assert types.index(("node.succeeded", "double")) < types.index(("node.started", "result"))
    # And the cursors increase, and the final event carries the run's flow, version and cost
    cursors = [tuple(int(p) for p in e["cursor"].split("-")) for e in events]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    final = events[-1]["data"]
    assert (final["flow_id"], final["version"], final["status"]) == (flow_id, 1, "SUCCEEDED")
    assert final["cost"]["total"] >= 0
    # And reading after the last cursor gives nothing new, with the cursor unchanged
    last = events[-1]["cursor"]
    page = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}/events?after={last}")
    assert page == {"items": [], "cursor": last}


def test_the_long_poll_answers_as_soon_as_an_event_arrives(alice: Api, workspace: str):
    # Given a flow and the workspace's stream read to its end
    flow_id = publish(alice, workspace, LINEAR)
    cursor = alice.ok("GET", f"/v1/workspaces/{workspace}/events?limit=500")["cursor"]
    # When a run starts half a second into a 20 s long poll
    starter = threading.Timer(0.5, lambda: run(alice, workspace, flow_id, {"n": 1}))
    starter.start()
    t0 = time.monotonic()
    page = alice.ok("GET", f"/v1/workspaces/{workspace}/events?after={cursor}&wait=20")
    waited = time.monotonic() - t0
    starter.join()
    # Then it answers with the run's first event well before the wait is over
    assert page["items"] and page["items"][0]["type"] == "run.queued"
    assert 0.4 < waited < 5, waited
    # And an empty long poll waits its time and keeps the cursor
    t0 = time.monotonic()
    later = alice.ok("GET", f"/v1/workspaces/{workspace}/events?after=99999999999-1&wait=0.5")
    assert later == {"items": [], "cursor": "99999999999-1"}
    assert time.monotonic() - t0 >= 0.45


def test_events_access_and_bad_input(alice: Api, bob: Api, stack: LocalStack, workspace: str):
    # Given a run in alice's workspace, where a new user is a viewer and bob is not a member
    flow_id = publish(alice, workspace, LINEAR)
    run_id = run(alice, workspace, flow_id, {"n": 2})["id"]
    viewer = f"viewer-{uuid.uuid4().hex[:8]}"
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|{viewer}", {"role": "viewer"})
    vera = Api(stack.url, stack.platform.issuer.token(viewer))
    path = f"/v1/workspaces/{workspace}/runs/{run_id}/events"
    # Then a viewer reads the run's and the workspace's events; an outsider gets 404
    assert vera.ok("GET", path)["items"][0]["type"] == "run.queued"
    assert vera.ok("GET", f"/v1/workspaces/{workspace}/events")["items"]
    assert bob.call("GET", path)[0] == 404
    assert bob.call("GET", f"/v1/workspaces/{workspace}/events")[0] == 404
    # And a run that does not exist is 404, a malformed cursor or wait a 422 naming the field
    assert alice.call("GET", f"/v1/workspaces/{workspace}/runs/{uuid.uuid4()}/events")[0] == 404
    for query, field in (("after=abc", "after"), ("after=1-2-3", "after"), ("wait=-1", "wait"), ("wait=x", "wait")):
        status, body = alice.call("GET", f"{path}?{query}")
        assert status == 422, (query, body)
        assert field in json.dumps(body), (query, body)


def test_the_local_server_streams_events_as_server_sent_events(alice: Api, stack: LocalStack, workspace: str):
    # Given a flow, and a Server-Sent Events stream opened on the workspace's events
    flow_id = publish(alice, workspace, LINEAR)
    start = alice.ok("GET", f"/v1/workspaces/{workspace}/events?limit=500")["cursor"]
    parts = urlsplit(stack.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {alice.token}", "Last-Event-ID": start}
    conn.request("GET", f"/v1/workspaces/{workspace}/events", headers=headers)
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    # When a run starts and succeeds
    run_id = run(alice, workspace, flow_id, {"n": 3})["id"]
    # Then its events arrive on the stream, each with its cursor as id, until the run succeeded
    received: list[dict[str, Any]] = []
    ids: list[str] = []
    event: dict[str, str] = {}
    while not any(e["type"] == "run.succeeded" and e["run_id"] == run_id for e in received):
        line = response.readline().decode().rstrip("\n")
        if line.startswith("id: "):
            ids.append(line[4:])
        elif line.startswith("event: "):
            event["type"] = line[7:]
        elif line.startswith("data: "):
            received.append(json.loads(line[6:]))
            assert received[-1]["type"] == event["type"]
    conn.close()
    assert received[0]["type"] == "run.queued" and received[0]["run_id"] == run_id
    assert ids == [e["cursor"] for e in received]


def test_a_stream_without_a_valid_token_is_refused_before_it_starts(stack: LocalStack, workspace: str):
    parts = urlsplit(stack.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request("GET", f"/v1/workspaces/{workspace}/events", headers={"Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["error"]["code"]
    conn.close()


def test_run_lifecycle_events_reach_the_event_bus(alice: Api, stack: LocalStack, workspace: str):
    # Given a queue subscribed to the local bus's nexod.run events (moto's EventBridge, in this process)
    region = stack.platform.settings.region
    sqs = boto3.client("sqs", region_name=region, aws_access_key_id="local", aws_secret_access_key="local")
    events = boto3.client("events", region_name=region, aws_access_key_id="local", aws_secret_access_key="local")
    queue_url = sqs.create_queue(QueueName=f"runs-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"runs-{uuid.uuid4().hex[:8]}"
    bus = "nexod-runs"
    pattern = {"source": ["nexod.run"], "detail": {"workspace_id": [workspace]}}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    # When a run succeeds
    flow_id = publish(alice, workspace, LINEAR)
    run_id = run(alice, workspace, flow_id, {"n": 4})["id"]
    read_until(alice, f"/v1/workspaces/{workspace}/runs/{run_id}/events", "run.succeeded")
    # Then the bus got its status changes, the last one with its flow, version, status and cost
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(m["detail"]["status"] == "SUCCEEDED" for m in got):
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            got.append(json.loads(message["Body"]))
    assert {m["detail-type"] for m in got} == {"Run Status Change"}
    statuses = [m["detail"]["status"] for m in got if m["detail"]["run_id"] == run_id]
    assert statuses[0] == "QUEUED" and statuses[-1] == "SUCCEEDED", statuses
    final = got[-1]["detail"]
    assert (final["flow_id"], final["version"], final["type"]) == (flow_id, 1, "run.succeeded")
    assert "total" in final["cost"]
