"""SQS ingress and EventBridge-in triggers (issue 12) against the real local stack: moto's SQS and EventBridge,
the SQS ingress function's partial batch failures, the local ingress loop, and the AWS rule adapter."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest

from nexod.adapters.event_rules_eventbridge import EventBridgeRules, input_template, rule_name
from nexod.local.boot import LocalStack
from nexod.local.ingress import IngressLoop, LocalEventRules, LocalIngress, QueuePair, create_queue_pair
from tests.integration.conftest import publish
from tests.support.api import Api
from tests.unit.flows import edge, node

ECHO = {
    "nodes": [node("start", "input"), node("echo", "transform", expression="input"), node("result", "output")],
    "edges": [edge("start", "echo"), edge("echo", "result")],
}


class _Context:
    function_name = "nexod-sqs-ingress"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nexod-sqs-ingress"
    memory_limit_in_mb = 256
    aws_request_id = "ingress-test"
    log_group_name = "/aws/lambda/nexod-sqs-ingress"
    log_stream_name = "test"


def _triggers(ws: str, flow: str) -> str:
    return f"/v1/workspaces/{ws}/flows/{flow}/triggers"


def _client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")


def _deliveries(alice: Api, ws: str, flow: str, trigger_id: str) -> list[dict[str, Any]]:
    return list(alice.ok("GET", f"{_triggers(ws, flow)}/{trigger_id}")["deliveries"])


def _message(ws: str, trigger: str, payload: Any, key: str | None = None) -> str:
    body: dict[str, Any] = {"workspace": ws, "trigger": trigger, "payload": payload}
    if key is not None:
        body["idempotency_key"] = key
    return json.dumps(body)


@pytest.fixture
def sqs_trigger(alice: Api, workspace: str) -> dict[str, Any]:
    flow = publish(alice, workspace, ECHO, "queued")
    created = alice.ok("POST", _triggers(workspace, flow), {"kind": "sqs"})
    return {"ws": workspace, "flow": flow, **created}


@pytest.fixture
def own_queue(stack: LocalStack) -> tuple[IngressLoop, QueuePair]:
    """A queue pair of this test's own (max receives 2, visibility 1 s) and a loop over it, ticked by hand."""
    sqs = _client("sqs")
    pair = create_queue_pair(sqs, f"test-ingress-{uuid.uuid4().hex[:8]}", max_receives=2, visibility_s=1)
    platform = stack.platform
    rules = LocalEventRules(_client("events"), sqs)
    return IngressLoop(platform.services, platform.admin_db, sqs, pair, rules), pair


def test_the_api_shows_the_queue_and_message_shape_of_an_sqs_trigger(
    alice: Api, stack: LocalStack, sqs_trigger: dict[str, Any]
):
    # Given an sqs trigger, when it is read
    shown = alice.ok("GET", f"{_triggers(sqs_trigger['ws'], sqs_trigger['flow'])}/{sqs_trigger['id']}")
    # Then it fires, names the deployment's ingress queue and the body a message carries
    assert shown["fires"] is True
    assert shown["ingress"]["queue_url"] == stack.platform.services.ingress_queue_url
    assert shown["ingress"]["queue_url"].endswith("/nexod-ingress")
    assert set(shown["ingress"]["message_shape"]) == {"workspace", "trigger", "payload", "idempotency_key"}


def test_a_batch_of_ten_with_one_poison_message_reports_only_it_and_it_ends_in_the_dlq(
    alice: Api, sqs_trigger: dict[str, Any], own_queue: tuple[IngressLoop, QueuePair]
):
    from functions.triggers import sqs_ingress

    loop, pair = own_queue
    sqs = loop.sqs
    ws, trigger = sqs_trigger["ws"], sqs_trigger["id"]
    # Given nine good messages and one poison message (not an ingress message) on the queue
    for i in range(9):
        sqs.send_message(QueueUrl=pair.url, MessageBody=_message(ws, trigger, {"n": i}))
    poison = sqs.send_message(QueueUrl=pair.url, MessageBody='{"workspace": "nope"')["MessageId"]
    # When the SQS ingress function gets the batch of ten
    got = sqs.receive_message(QueueUrl=pair.url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(got) == 10
    sqs_ingress.configure(loop.services)
    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": pair.arn,
                "awsRegion": "us-east-1",
            }
            for m in got
        ]
    }
    answer = sqs_ingress.handler(event, _Context())  # type: ignore[arg-type]
    # Then only the poison message is reported failed
    assert answer == {"batchItemFailures": [{"itemIdentifier": poison}]}
    # And the nine others started exactly nine runs, each of its payload
    started = [d for d in _deliveries(alice, ws, sqs_trigger["flow"], trigger) if d["status"] == "started"]
    assert len(started) == 9 and len({d["run_id"] for d in started}) == 9
    inputs = sorted(alice.wait_run(ws, d["run_id"])["input"]["n"] for d in started)
    assert inputs == list(range(9))
    # When the local loop handles the queue like the event source would (the nine acknowledged, the poison not)
    sqs.delete_message_batch(
        QueueUrl=pair.url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got) if m["MessageId"] != poison
        ],
    )
    deadline = time.monotonic() + 20
    dead: list[dict[str, Any]] = []
    while not dead and time.monotonic() < deadline:
        time.sleep(0.5)
        loop.drain_ingress()
        dead = sqs.receive_message(QueueUrl=pair.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    # Then after its max receives the poison message is in the DLQ, and nothing else is
    assert [m["MessageId"] for m in dead] == [poison]
    assert sqs.receive_message(QueueUrl=pair.url, MaxNumberOfMessages=10).get("Messages", []) == []
    # And no run started beyond the nine
    assert len([d for d in _deliveries(alice, ws, sqs_trigger["flow"], trigger) if d["status"] == "started"]) == 9


def test_a_duplicate_idempotency_key_starts_no_second_run(
    alice: Api, sqs_trigger: dict[str, Any], own_queue: tuple[IngressLoop, QueuePair]
):
    loop, pair = own_queue
    ws, trigger = sqs_trigger["ws"], sqs_trigger["id"]
    # Given two messages with one idempotency key (a producer's retry)
    for n in (1, 2):
        loop.sqs.send_message(QueueUrl=pair.url, MessageBody=_message(ws, trigger, {"n": n}, key="order-7"))
    # When the loop drains the queue
    while loop.drain_ingress():
        pass
    # Then one run started, and both messages were acknowledged
    shown = _deliveries(alice, ws, sqs_trigger["flow"], trigger)
    assert [(d["idempotency_key"], d["status"]) for d in shown] == [("order-7", "started")]
    assert loop.sqs.receive_message(QueueUrl=pair.dlq_url).get("Messages", []) == []


def test_a_disabled_or_unknown_trigger_is_recorded_rejected_and_never_retried(
    alice: Api, sqs_trigger: dict[str, Any], own_queue: tuple[IngressLoop, QueuePair]
):
    loop, pair = own_queue
    ws, flow, trigger = sqs_trigger["ws"], sqs_trigger["flow"], sqs_trigger["id"]
    alice.ok("POST", f"{_triggers(ws, flow)}/{trigger}/disable")
    # Given a message for the disabled trigger and one for a trigger that does not exist
    loop.sqs.send_message(QueueUrl=pair.url, MessageBody=_message(ws, trigger, {"n": 1}, key="k1"))
    loop.sqs.send_message(QueueUrl=pair.url, MessageBody=_message(ws, str(uuid.uuid4()), {"n": 2}))
    # When the loop drains the queue, and again after the visibility timeout
    loop.drain_ingress()
    time.sleep(1.2)
    loop.drain_ingress()
    # Then the disabled trigger's delivery is recorded as rejected, no run started
    shown = _deliveries(alice, ws, flow, trigger)
    assert [(d["status"], d["reason"], d["run_id"]) for d in shown] == [("rejected", "the trigger is disabled", None)]
    # And both were acknowledged: neither comes back nor reaches the DLQ
    assert loop.sqs.receive_message(QueueUrl=pair.url).get("Messages", []) == []
    assert loop.sqs.receive_message(QueueUrl=pair.dlq_url).get("Messages", []) == []


def test_a_message_on_the_platform_queue_through_the_local_door_starts_a_run(
    alice: Api, stack: LocalStack, sqs_trigger: dict[str, Any]
):
    ws, flow, trigger = sqs_trigger["ws"], sqs_trigger["flow"], sqs_trigger["id"]
    # When a message is sent through POST /local/sqs (what `aws sqs send-message` would do)
    status, sent = Api(stack.url, None).call("POST", "/local/sqs", raw=_message(ws, trigger, {"hello": "sqs"}).encode())
    assert status == 202, sent
    # Then the platform's loop starts its run within seconds
    deadline = time.monotonic() + 10
    while (
        not (done := [d for d in _deliveries(alice, ws, flow, trigger) if d["run_id"]]) and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert len(done) == 1 and done[0]["idempotency_key"] == f"sqs:{sent['message_id']}"
    run = alice.wait_run(ws, done[0]["run_id"])
    assert run["input"] == {"hello": "sqs"} and run["trigger"] == "sqs"


# -- EventBridge ------------------------------------------------------------------------------------
def _eventbridge(alice: Api, ws: str, flow: str, pattern: dict[str, Any], bus: str) -> dict[str, Any]:
    body = {"kind": "eventbridge", "config": {"event_pattern": pattern, "bus": bus}}
    return dict(alice.ok("POST", _triggers(ws, flow), body))


def _put(stack: LocalStack, bus: str, source: str, detail: dict[str, Any]) -> str:
    entry = {"source": source, "detail-type": "order", "detail": detail, "bus": bus}
    status, answer = Api(stack.url, None).call("POST", "/local/events", entry)
    assert status == 202, answer
    return str(answer["event_id"])


def _runs_of(alice: Api, ws: str, flow: str, trigger: str, wait_s: float = 3.0) -> list[dict[str, Any]]:
    """The trigger's started deliveries once the loop has had `wait_s` to drain the bus."""
    time.sleep(wait_s)
    return [d for d in _deliveries(alice, ws, flow, trigger) if d["status"] == "started"]


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        ({"source": [{"prefix": "shop."}]}, ("shop.orders", {}), ("crm.orders", {})),
        (
            {"source": ["shop"], "detail": {"amount": [{"numeric": [">", 100, "<=", 500]}]}},
            ("shop", {"amount": 250}),
            ("shop", {"amount": 50}),
        ),
        (
            {"source": ["shop"], "detail": {"state": [{"anything-but": ["test", "draft"]}]}},
            ("shop", {"state": "paid"}),
            ("shop", {"state": "draft"}),
        ),
    ],
    ids=["prefix", "numeric", "anything-but"],
)
def test_an_event_matching_the_pattern_starts_one_run_and_another_none(
    alice: Api,
    stack: LocalStack,
    workspace: str,
    pattern: dict[str, Any],
    matching: tuple[str, dict[str, Any]],
    other: tuple[str, dict[str, Any]],
):
    # Given an eventbridge trigger on a named bus
    bus = f"orders-{uuid.uuid4().hex[:8]}"
    flow = publish(alice, workspace, ECHO, "evented")
    trigger = _eventbridge(alice, workspace, flow, pattern, bus)
    assert trigger["ingress"] == {"bus": bus, "rule_name": f"nexod-trg-{trigger['id']}"}
    # When a non-matching event is put to the bus
    _put(stack, bus, other[0], other[1])
    # Then it starts no run
    assert _runs_of(alice, workspace, flow, trigger["id"]) == []
    # When a matching one is put
    event_id = _put(stack, bus, matching[0], matching[1])
    # Then exactly one run started, keyed by the event's id, with the event as its input
    started = _runs_of(alice, workspace, flow, trigger["id"])
    assert [d["idempotency_key"] for d in started] == [f"event:{event_id}"]
    run = alice.wait_run(workspace, started[0]["run_id"])
    assert run["input"]["id"] == event_id and run["input"]["detail"] == matching[1]
    assert run["trigger"] == "eventbridge"


def test_the_platform_s_own_run_events_on_the_nexod_bus_start_a_matching_trigger(
    alice: Api, stack: LocalStack, workspace: str
):
    # Given a trigger on the Nexod bus for runs of another flow that succeed
    watched = publish(alice, workspace, ECHO, "watched")
    follower = publish(alice, workspace, ECHO, "follower")
    pattern = {"detail-type": [{"prefix": "Run"}], "detail": {"flow_id": [watched], "status": ["SUCCEEDED"]}}
    trigger = alice.ok(
        "POST", _triggers(workspace, follower), {"kind": "eventbridge", "config": {"event_pattern": pattern}}
    )
    assert trigger["ingress"]["bus"] == stack.platform.services.nexod_bus
    # When a run of the watched flow succeeds
    status, started = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{watched}/runs", {"input": {}})
    assert status == 202, started
    alice.wait_run(workspace, started["id"])
    # Then the follower started once
    deadline = time.monotonic() + 10
    while not (runs := [d for d in _deliveries(alice, workspace, follower, trigger["id"]) if d["run_id"]]):
        assert time.monotonic() < deadline, "the run's end event did not reach the trigger"
        time.sleep(0.2)
    time.sleep(1)
    assert len([d for d in _deliveries(alice, workspace, follower, trigger["id"]) if d["run_id"]]) == 1
    assert alice.wait_run(workspace, runs[0]["run_id"])["input"]["detail"]["flow_id"] == watched


def test_a_bad_pattern_is_422_naming_the_bad_key(alice: Api, workspace: str):
    flow = publish(alice, workspace, ECHO, "bad-pattern")
    cases = [
        ({"detail": {"amount": [{"numeric": [">", "ten"]}]}}, "config.event_pattern.detail.amount.numeric"),
        ({"source": "shop"}, "config.event_pattern.source"),
        (
            {"detail": {"state": [{"anything-but": {"exists": True}}]}},
            "config.event_pattern.detail.state.anything-but.exists",
        ),
        ({"$or": [{"source": ["a"]}]}, "config.event_pattern.$or"),
    ]
    for pattern, field in cases:
        status, answer = alice.call(
            "POST", _triggers(workspace, flow), {"kind": "eventbridge", "config": {"event_pattern": pattern}}
        )
        assert status == 422, (pattern, answer)
        assert answer["error"]["details"]["field"] == field, answer
        assert answer["error"]["message"].startswith(field)


# -- AWS: the rule adapter and the run starter ------------------------------------------------------
def test_the_rule_adapter_puts_disables_and_deletes_a_rule_targeting_the_run_starter(stack: LocalStack):
    events = _client("events")
    bus = f"aws-bus-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    starter = "arn:aws:lambda:us-east-1:123456789012:function:nexod-run-starter"
    rules = EventBridgeRules(events, prefix="nexod", target_arn=starter)
    ws, trigger = str(uuid.uuid4()), str(uuid.uuid4())
    pattern = {"source": [{"prefix": "shop."}]}
    # When a trigger's rule is put
    rules.put(ws, trigger, bus, pattern, True)
    # Then the rule is named by prefix and trigger, with the pattern, enabled, targeting the run starter
    name = rule_name("nexod", trigger)
    rule = events.describe_rule(Name=name, EventBusName=bus)
    assert (rule["State"], json.loads(rule["EventPattern"])) == ("ENABLED", pattern)
    target = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"][0]
    assert target["Arn"] == starter
    assert target["InputTransformer"]["InputTemplate"] == input_template(ws, trigger)
    assert "<aws.events.event>" in target["InputTransformer"]["InputTemplate"]
    # When it is disabled, then the rule is
    rules.put(ws, trigger, bus, pattern, False)
    assert events.describe_rule(Name=name, EventBusName=bus)["State"] == "DISABLED"
    # When it is deleted (twice: the second finds nothing and is fine), then the rule is gone
    rules.delete(ws, trigger, bus)
    rules.delete(ws, trigger, bus)
    assert events.list_rules(EventBusName=bus, NamePrefix="nexod-trg-")["Rules"] == []


def test_the_run_starter_takes_an_eventbridge_event_once_however_often_it_is_retried(
    alice: Api, stack: LocalStack, workspace: str
):
    from functions.triggers import run_starter

    flow = publish(alice, workspace, ECHO, "aws-event")
    trigger = _eventbridge(alice, workspace, flow, {"source": ["shop"]}, f"b-{uuid.uuid4().hex[:6]}")
    event = {"id": str(uuid.uuid4()), "source": "shop", "detail-type": "order", "detail": {"n": 1}}
    run_starter.configure(stack.platform.services)
    # When the rule's target invokes the run starter with the transformer's shape, then again (a retry)
    shape = {"workspace_id": workspace, "trigger_id": trigger["id"], "event": event}
    first = run_starter.handler(dict(shape), _Context())  # type: ignore[arg-type]
    again = run_starter.handler(dict(shape), _Context())  # type: ignore[arg-type]
    # Then one run started, named by both
    assert (first["status"], again["status"]) == ("started", "duplicate")
    assert first["run_id"] == again["run_id"]
    assert alice.wait_run(workspace, first["run_id"])["input"] == event


def test_a_payload_the_filter_refuses_is_a_rejected_delivery_and_no_run(
    alice: Api, workspace: str, own_queue: tuple[IngressLoop, QueuePair]
):
    loop, pair = own_queue
    flow = publish(alice, workspace, ECHO, "filtered")
    config = {"payload_filter": {"payload": {"kind": ["order"]}}}
    trigger = alice.ok("POST", _triggers(workspace, flow), {"kind": "sqs", "config": config})
    # Given one message the filter lets through and one it refuses
    loop.sqs.send_message(QueueUrl=pair.url, MessageBody=_message(workspace, trigger["id"], {"kind": "order"}, "a"))
    loop.sqs.send_message(QueueUrl=pair.url, MessageBody=_message(workspace, trigger["id"], {"kind": "refund"}, "b"))
    # When the loop drains the queue
    while loop.drain_ingress():
        pass
    # Then the first started a run and the second is recorded as rejected, naming the filter
    shown = {d["idempotency_key"]: d for d in _deliveries(alice, workspace, flow, trigger["id"])}
    assert shown["a"]["status"] == "started" and shown["a"]["run_id"]
    assert shown["b"]["status"] == "rejected" and "payload_filter" in shown["b"]["reason"]


def test_the_local_door_refuses_what_aws_would_refuse_with_a_4xx(stack: LocalStack):
    door = Api(stack.url, None)
    # An event without a source, or onto a bus that does not exist: 422, never a 500
    assert door.call("POST", "/local/events", {"detail-type": "x", "detail": {}})[0] == 422
    status, answer = door.call("POST", "/local/events", {"source": "s", "detail-type": "x", "bus": "no-such-bus"})
    assert status == 422, answer
    assert door.call("POST", "/local/sqs", raw=b"")[0] == 422


def test_a_bus_the_deployment_does_not_allow_is_422_naming_config_bus_and_nothing_is_saved(
    alice: Api, stack: LocalStack, workspace: str, monkeypatch: pytest.MonkeyPatch
):
    # Given a deployment whose triggers may listen on the Nexod bus and one partner bus only (AWS: the buses
    # the API's role may put rules on)
    monkeypatch.setattr(stack.platform.services, "trigger_buses", ("nexod-runs", "partner"))
    flow = publish(alice, workspace, ECHO, "fenced")
    # When an eventbridge trigger names another bus
    status, answer = alice.call(
        "POST",
        _triggers(workspace, flow),
        {"kind": "eventbridge", "config": {"event_pattern": {"source": ["x"]}, "bus": "elsewhere"}},
    )
    # Then it is refused naming the field, and no trigger was saved
    assert status == 422 and answer["error"]["details"]["field"] == "config.bus", answer
    assert alice.ok("GET", _triggers(workspace, flow))["items"] == []
    # And the allowed partner bus is accepted
    made = _eventbridge(alice, workspace, flow, {"source": ["x"]}, "partner")
    assert made["ingress"]["bus"] == "partner"


def test_at_start_only_the_buses_saved_triggers_listen_on_are_heard(alice: Api, stack: LocalStack, workspace: str):
    # Given an eventbridge trigger on a bus of its own (besides whatever other tests saved)
    bus = f"heard-{uuid.uuid4().hex[:8]}"
    flow = publish(alice, workspace, ECHO, "heard")
    _eventbridge(alice, workspace, flow, {"source": ["shop"]}, bus)
    # When a local ingress starts with rules of its own
    sqs, events = _client("sqs"), _client("events")
    rules = LocalEventRules(events, sqs)
    ingress = LocalIngress(
        sqs, events, create_queue_pair(sqs, f"test-start-{uuid.uuid4().hex[:8]}"), rules, "us-east-1"
    )
    loop, _ = ingress.start(stack.platform.services, stack.platform.admin_db)
    loop.stop()
    # Then it hears exactly the buses saved triggers listen on (a trigger naming none: the Nexod bus), that bus
    # among them; no other bus, not even the Nexod bus unless a trigger listens on it (its run events then go to
    # no queue)
    with stack.platform.admin_db.connection() as conn:
        rows = conn.execute(
            "SELECT DISTINCT COALESCE(config->>'bus', %s) AS bus FROM triggers WHERE kind = 'eventbridge'",
            (stack.platform.services.nexod_bus,),
        ).fetchall()
    assert set(rules.queues) == {str(r["bus"]) for r in rows}
    assert bus in rules.queues
