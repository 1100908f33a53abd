"""Triggers (issue 12) against the real local stack: the API, signed webhooks over HTTP, exactly one run per
delivery, and the scheduler loop with an injected clock."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nexod.domain.triggers import sign
from nexod.local.boot import LocalStack
from nexod.local.scheduler import SchedulerLoop
from tests.integration.conftest import publish
from tests.support.api import Api
from tests.unit.flows import edge, node

ECHO = {
    "nodes": [node("start", "input"), node("echo", "transform", expression="input"), node("result", "output")],
    "edges": [edge("start", "echo"), edge("echo", "result")],
}


def _triggers(ws: str, flow: str) -> str:
    return f"/v1/workspaces/{ws}/flows/{flow}/triggers"


def _post_hook(stack: LocalStack, url_path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    return Api(stack.url, None).call("POST", url_path, raw=body, headers=headers)


def _signed(secret: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    ts = str(int((at or datetime.now(UTC)).timestamp()))
    return {"X-Nexod-Timestamp": ts, "X-Nexod-Signature": sign(secret, ts, body)}


@pytest.fixture
def webhook(alice: Api, workspace: str) -> dict[str, Any]:
    flow = publish(alice, workspace, ECHO, "hooked")
    created = alice.ok(
        "POST",
        _triggers(workspace, flow),
        {"kind": "webhook", "input_mapping": "{order: delivery.body.order, via: trigger.kind}"},
    )
    return {"ws": workspace, "flow": flow, **created}


def test_a_signed_delivery_starts_a_run_of_the_live_version_with_the_trigger_as_actor(
    alice: Api, stack: LocalStack, webhook: dict[str, Any]
):
    # Given a webhook trigger, answered once with its url and secret
    assert webhook["url"] == f"{stack.url}/v1/hooks/{webhook['id']}"
    assert webhook["secret"].startswith("whsec_")
    body = json.dumps({"order": 42}).encode()
    # When a delivery signed with that secret is posted without any JWT
    status, answer = _post_hook(stack, f"/v1/hooks/{webhook['id']}", body, _signed(webhook["secret"], body))
    # Then it is accepted and names the run it started
    assert status == 202, answer
    assert answer["status"] == "started"
    run = alice.wait_run(webhook["ws"], answer["run_id"])
    # And the run's input is the mapped delivery, started by the trigger
    assert run["status"] == "SUCCEEDED"
    assert run["input"] == {"order": 42, "via": "webhook"}
    assert run["trigger"] == "webhook"
    assert run["started_by"] == {"kind": "trigger", "id": webhook["id"]}
    # And the trigger shows the delivery and never the secret again
    shown = alice.ok("GET", f"{_triggers(webhook['ws'], webhook['flow'])}/{webhook['id']}")
    assert "secret" not in shown
    assert [(d["status"], d["run_id"]) for d in shown["deliveries"]] == [("started", answer["run_id"])]
    assert shown["last_fired_at"] is not None


def test_refused_deliveries_all_get_the_same_401_and_start_nothing(
    alice: Api, stack: LocalStack, webhook: dict[str, Any]
):
    body = b'{"order": 1}'
    path = f"/v1/hooks/{webhook['id']}"
    disabled = publish(alice, webhook["ws"], ECHO, "off")
    off = alice.ok("POST", _triggers(webhook["ws"], disabled), {"kind": "webhook", "enabled": False})
    cases = {
        "bad signature": (path, _signed("whsec_not-the-secret-at-all", body)),
        "old timestamp": (path, _signed(webhook["secret"], body, datetime.now(UTC) - timedelta(minutes=6))),
        "unsigned": (path, {}),
        "unknown trigger": (f"/v1/hooks/{uuid.uuid4()}", _signed(webhook["secret"], body)),
        "not an id": ("/v1/hooks/nope", _signed(webhook["secret"], body)),
        "disabled trigger": (f"/v1/hooks/{off['id']}", _signed(off["secret"], body)),
    }
    for name, (where, headers) in cases.items():
        # When each is posted
        status, answer = _post_hook(stack, where, body, headers)
        # Then each gets the same 401
        assert (status, answer["error"]["code"]) == (401, "unauthorized"), name
    # And nothing was recorded or started
    shown = alice.ok("GET", f"{_triggers(webhook['ws'], webhook['flow'])}/{webhook['id']}")
    assert shown["deliveries"] == []
    assert alice.ok("GET", f"/v1/workspaces/{webhook['ws']}/runs")["items"] == []


def test_a_body_above_one_mebibyte_is_413(stack: LocalStack, webhook: dict[str, Any]):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    status, answer = _post_hook(stack, f"/v1/hooks/{webhook['id']}", body, _signed(webhook["secret"], body))
    assert status == 413, answer


def test_twenty_concurrent_deliveries_with_one_key_make_exactly_one_run(
    alice: Api, stack: LocalStack, webhook: dict[str, Any]
):
    # Given one delivery sent 20 times at once with the same Idempotency-Key
    body = b'{"order": 7}'
    headers = {**_signed(webhook["secret"], body), "Idempotency-Key": f"order-7-{uuid.uuid4()}"}
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: _post_hook(stack, f"/v1/hooks/{webhook['id']}", body, headers), range(20)))
    # Then all 20 are 202 naming one run
    assert [status for status, _ in answers] == [202] * 20, answers
    run_ids = {answer["run_id"] for _, answer in answers}
    assert len(run_ids) == 1 and None not in run_ids
    assert sorted(answer["status"] for _, answer in answers) == ["duplicate"] * 19 + ["started"]
    # And the workspace has exactly that one run
    assert [r["id"] for r in alice.ok("GET", f"/v1/workspaces/{webhook['ws']}/runs")["items"]] == list(run_ids)
    # When the same key is sent again later
    status, again = _post_hook(stack, f"/v1/hooks/{webhook['id']}", body, headers)
    # Then it names the same run
    assert (status, again["run_id"], again["status"]) == (202, *run_ids, "duplicate")


def test_a_github_signed_delivery_starts_a_run_and_its_delivery_id_deduplicates(
    alice: Api, stack: LocalStack, workspace: str
):
    import hashlib
    import hmac

    flow = publish(alice, workspace, ECHO, "gh")
    secret = "a-github-webhook-secret-1234"
    created = alice.ok(
        "POST", _triggers(workspace, flow), {"kind": "webhook", "config": {"preset": "github"}, "secret": secret}
    )
    body = b'{"action": "opened"}'
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": sig, "X-GitHub-Delivery": str(uuid.uuid4())}
    first = _post_hook(stack, f"/v1/hooks/{created['id']}", body, headers)
    second = _post_hook(stack, f"/v1/hooks/{created['id']}", body, headers)
    assert first[0] == second[0] == 202
    assert first[1]["status"] == "started" and second[1]["status"] == "duplicate"
    assert first[1]["run_id"] == second[1]["run_id"]
    assert alice.wait_run(workspace, first[1]["run_id"])["input"] == {"action": "opened"}


def test_rotating_the_secret_stops_the_old_one_at_once(alice: Api, stack: LocalStack, webhook: dict[str, Any]):
    rotated = alice.ok("POST", f"{_triggers(webhook['ws'], webhook['flow'])}/{webhook['id']}/rotate-secret")
    assert rotated["secret"] != webhook["secret"]
    body = b'{"order": 3}'
    old = _post_hook(stack, f"/v1/hooks/{webhook['id']}", body, _signed(webhook["secret"], body))
    new = _post_hook(stack, f"/v1/hooks/{webhook['id']}", body, _signed(rotated["secret"], body))
    assert (old[0], new[0]) == (401, 202)


def test_bad_schedules_are_422_saying_why_and_viewers_only_read(alice: Api, vera: Api, workspace: str):
    flow = publish(alice, workspace, ECHO, "sched")
    status, answer = alice.call(
        "POST", _triggers(workspace, flow), {"kind": "schedule", "config": {"expression": "cron(0 9 * * * *)"}}
    )
    assert status == 422
    assert answer["error"]["details"] == {"field": "config.expression"}
    assert "exactly one of day-of-month and day-of-week must be '?'" in answer["error"]["message"]
    created = alice.ok(
        "POST",
        _triggers(workspace, flow),
        {"kind": "schedule", "config": {"expression": "cron(0 9 * * ? *)", "timezone": "Europe/Berlin"}},
    )
    assert created["next_fire_at"] is not None and "secret" not in created
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local%7Cvera", {"role": "viewer"})
    assert vera.call("GET", f"{_triggers(workspace, flow)}/{created['id']}")[0] == 200
    assert vera.call("POST", f"{_triggers(workspace, flow)}/{created['id']}/disable")[0] == 403
    # Sqs triggers fire too, and a viewer cannot make one
    sqs = alice.ok("POST", _triggers(workspace, flow), {"kind": "sqs"})
    assert sqs["fires"] is True
    assert vera.call("POST", _triggers(workspace, flow), {"kind": "sqs"})[0] == 403


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _schedule(alice: Api, ws: str, flow: str, start: datetime, **config: Any) -> dict[str, Any]:
    body = {"expression": "rate(1 minute)", "start_date": start.isoformat(), **config}
    return dict(alice.ok("POST", _triggers(ws, flow), {"kind": "schedule", "config": body}))


def _started(alice: Api, ws: str, flow: str, trigger_id: str) -> list[dict[str, Any]]:
    shown = alice.ok("GET", f"{_triggers(ws, flow)}/{trigger_id}")
    return [d for d in shown["deliveries"] if d["status"] == "started"]


def test_rate_one_minute_fires_three_times_and_a_disabled_schedule_never(alice: Api, stack: LocalStack, workspace: str):
    # Given two minutely schedules starting tomorrow (the platform's own loop, on the wall clock, leaves
    # them alone), one of them disabled, and a loop whose clock the test moves
    flow = publish(alice, workspace, ECHO, "minutely")
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    on = _schedule(alice, workspace, flow, start)
    off = _schedule(alice, workspace, flow, start)
    alice.ok("POST", f"{_triggers(workspace, flow)}/{off['id']}/disable")
    clock = Clock(start)
    loop = SchedulerLoop(stack.platform.services, stack.platform.admin_db, clock)
    # When the clock passes three due times, a tick a second after each (and a second loop ticks too)
    twin = SchedulerLoop(stack.platform.services, stack.platform.admin_db, clock)
    for minute in range(3):
        clock.now = start + timedelta(minutes=minute, seconds=1)
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda lp: lp.tick(), (loop, twin)))
    # Then the enabled one fired three times, once per due time, and the disabled one never
    fired = _started(alice, workspace, flow, on["id"])
    assert len(fired) == 3
    assert _started(alice, workspace, flow, off["id"]) == []
    runs = [alice.wait_run(workspace, d["run_id"]) for d in fired]
    assert all(r["started_by"] == {"kind": "trigger", "id": on["id"]} for r in runs)
    shown = alice.ok("GET", f"{_triggers(workspace, flow)}/{on['id']}")
    assert datetime.fromisoformat(shown["next_fire_at"].replace("Z", "+00:00")) == start + timedelta(minutes=3)


@pytest.mark.parametrize(("policy", "expected"), [("none", 0), ("latest", 1), ("all", 3)])
def test_three_missed_due_times_fire_by_the_catch_up_policy(
    alice: Api, stack: LocalStack, workspace: str, policy: str, expected: int
):
    # Given a minutely schedule whose first three due times pass while no loop runs
    flow = publish(alice, workspace, ECHO, f"catch-{policy}")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    trigger = _schedule(alice, workspace, flow, start, catch_up=policy)
    # When a loop comes back 30 seconds after the third due time (start, +1 and +2 minutes)
    back = Clock(start + timedelta(minutes=2, seconds=30))
    loop = SchedulerLoop(stack.platform.services, stack.platform.admin_db, back)
    loop.tick()
    # Then the policy decided how many ran, and the others are recorded as missed
    shown = alice.ok("GET", f"{_triggers(workspace, flow)}/{trigger['id']}")
    statuses = sorted(d["status"] for d in shown["deliveries"])
    assert statuses.count("started") == expected
    assert statuses.count("rejected") == 3 - expected


def test_the_platform_loop_fires_a_due_schedule_within_a_second(alice: Api, workspace: str):
    # Given a one-time schedule two seconds from now
    flow = publish(alice, workspace, ECHO, "soon")
    due = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    at = f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})"
    trigger = alice.ok("POST", _triggers(workspace, flow), {"kind": "schedule", "config": {"expression": at}})
    # When the platform's own loop runs
    deadline = time.monotonic() + 10
    while not (fired := _started(alice, workspace, flow, trigger["id"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Then it fired once, within a second of its due time
    assert len(fired) == 1
    received = datetime.fromisoformat(fired[0]["received_at"].replace("Z", "+00:00"))
    assert timedelta(0) <= received - due < timedelta(seconds=1.5)


class _Context:
    function_name = "nexod-run-starter"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nexod-run-starter"
    memory_limit_in_mb = 256
    aws_request_id = "scheduler-test"
    log_group_name = "/aws/lambda/nexod-run-starter"
    log_stream_name = "test"


def test_the_run_starter_starts_one_run_per_scheduled_time_however_often_it_is_invoked(
    alice: Api, stack: LocalStack, workspace: str
):
    from functions.triggers import run_starter

    # Given a schedule trigger (its AWS schedule would invoke the run starter with this input)
    flow = publish(alice, workspace, ECHO, "aws-schedule")
    trigger = _schedule(alice, workspace, flow, datetime.now(UTC) + timedelta(days=3))
    event = {"workspace_id": workspace, "trigger_id": trigger["id"], "scheduled_time": "2026-12-01T08:00:00Z"}
    run_starter.configure(stack.platform.services)
    # When Scheduler invokes it, then retries the same invocation
    first = run_starter.handler(dict(event), _Context())  # type: ignore[arg-type]
    again = run_starter.handler(dict(event), _Context())  # type: ignore[arg-type]
    # Then one run started, named by both answers
    assert first["status"] == "started" and again["status"] == "duplicate"
    assert first["run_id"] == again["run_id"]
    assert alice.wait_run(workspace, first["run_id"])["trigger"] == "schedule"


WAITS = {
    "nodes": [node("start", "input"), node("pause", "wait", seconds=30), node("end", "output", value="x")],
    "edges": [edge("start", "pause"), edge("pause", "end")],
}


def test_overlap_skip_rejects_a_firing_while_the_previous_run_is_running(alice: Api, stack: LocalStack, workspace: str):
    # Given a minutely schedule with overlap skip on a flow whose runs wait 30 seconds
    flow = publish(alice, workspace, WAITS, "slow")
    start = (datetime.now(UTC) + timedelta(days=4)).replace(second=0, microsecond=0)
    trigger = _schedule(alice, workspace, flow, start, overlap="skip")
    clock = Clock(start + timedelta(seconds=1))
    loop = SchedulerLoop(stack.platform.services, stack.platform.admin_db, clock)
    loop.tick()
    first = _started(alice, workspace, flow, trigger["id"])
    assert len(first) == 1
    alice.wait_run(workspace, first[0]["run_id"], until=("RUNNING",))
    # When the next due time comes while that run still waits
    clock.now = start + timedelta(minutes=1, seconds=1)
    loop.tick()
    # Then that firing is rejected, saying why, and no second run started
    shown = alice.ok("GET", f"{_triggers(workspace, flow)}/{trigger['id']}")
    latest = shown["deliveries"][0]
    assert (latest["status"], latest["reason"]) == (
        "rejected",
        "overlap: the previous run of this trigger is still running",
    )
    assert len(_started(alice, workspace, flow, trigger["id"])) == 1
    alice.call("POST", f"/v1/workspaces/{workspace}/runs/{first[0]['run_id']}/cancel")


def test_a_disabled_trigger_can_be_tested_and_a_pinned_version_must_exist(alice: Api, workspace: str):
    flow = publish(alice, workspace, ECHO, "pinned")
    hooks = _triggers(workspace, flow)
    # A pinned version that does not exist is a 422 naming `version`
    status, answer = alice.call("POST", hooks, {"kind": "webhook", "version": 9})
    assert (status, answer["error"]["details"]) == (422, {"field": "version"})
    # A disabled trigger fires once on test, with the sample payload as the delivery's body
    trigger = alice.ok("POST", hooks, {"kind": "webhook", "enabled": False, "version": 1})
    status, fired = alice.call("POST", f"{hooks}/{trigger['id']}/test", {"payload": {"sample": True}})
    assert (status, fired["status"]) == (202, "started")
    run = alice.wait_run(workspace, fired["run_id"])
    assert (run["input"], run["version"]) == ({"sample": True}, 1)
    # And a bad input mapping is refused when it is set, not when it fires
    status, answer = alice.call("PUT", f"{hooks}/{trigger['id']}", {"input_mapping": "delivery.["})
    assert (status, answer["error"]["details"]) == (422, {"field": "input_mapping"})


def test_deleting_a_flow_or_a_trigger_destroys_the_webhook_secret(alice: Api, stack: LocalStack, workspace: str):
    from nexod.services.triggers import secret_name

    vault = stack.platform.services.vault
    assert vault is not None
    flow = publish(alice, workspace, ECHO, "goes")
    by_flow = alice.ok("POST", _triggers(workspace, flow), {"kind": "webhook"})
    by_itself = alice.ok("POST", _triggers(workspace, flow), {"kind": "webhook"})
    assert vault.get(workspace, secret_name(by_flow["id"])) == {"secret": by_flow["secret"]}
    # When one trigger is deleted, then its flow
    alice.ok("DELETE", f"{_triggers(workspace, flow)}/{by_itself['id']}")
    alice.ok("DELETE", f"/v1/workspaces/{workspace}/flows/{flow}")
    # Then neither secret is left in the vault, and their deliveries are refused like any unknown trigger
    assert vault.get(workspace, secret_name(by_itself["id"])) is None
    assert vault.get(workspace, secret_name(by_flow["id"])) is None
    body = b"{}"
    assert _post_hook(stack, f"/v1/hooks/{by_flow['id']}", body, _signed(by_flow["secret"], body))[0] == 401


def test_a_delivery_s_signature_covers_its_bytes_as_sent_even_when_they_are_not_utf8(
    alice: Api, stack: LocalStack, webhook: dict[str, Any]
):
    # Given a form-encoded body with a byte that is not UTF-8, signed as sent
    body = b"order=42&name=\xff"
    headers = {**_signed(webhook["secret"], body), "Content-Type": "application/x-www-form-urlencoded"}
    # When it is delivered
    status, answer = _post_hook(stack, f"/v1/hooks/{webhook['id']}", body, headers)
    # Then the signature verifies and the run starts (its body is the text, as it could be decoded)
    assert (status, answer["status"]) == (202, "started"), answer


def test_the_schedule_preview_gives_the_scheduler_s_next_times_and_names_a_bad_field(
    alice: Api, vera: Api, workspace: str
):
    # Given a viewer of the workspace and a preview URL (nothing is saved by it)
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local%7Cvera", {"role": "viewer"})
    preview = f"/v1/workspaces/{workspace}/triggers/preview"
    body = {"expression": "cron(0 9 * * ? *)", "timezone": "Europe/Berlin", "start_date": "2027-03-25T00:00:00Z"}
    # When the viewer previews 09:00 Berlin from a start date just before the clocks go forward (28 March 2027)
    status, answer = vera.call("POST", preview, {**body, "count": 5})
    # Then the five due times are 09:00 local on each day: 08:00 UTC before the change, 07:00 UTC after it
    assert status == 200, answer
    assert answer["next"] == [
        "2027-03-25T08:00:00Z",
        "2027-03-26T08:00:00Z",
        "2027-03-27T08:00:00Z",
        "2027-03-28T07:00:00Z",
        "2027-03-29T07:00:00Z",
    ]
    assert answer["timezone"] == "Europe/Berlin" and answer["expression"] == "cron(0 9 * * ? *)"
    # And a rate counts from its start date; a one-time schedule has one time, then none
    rate = alice.ok("POST", preview, {"expression": "rate(15 minutes)", "start_date": "2027-01-01T10:00:00Z"})
    assert rate["next"][:3] == ["2027-01-01T10:00:00Z", "2027-01-01T10:15:00Z", "2027-01-01T10:30:00Z"]
    assert len(rate["next"]) == 5
    once = alice.ok("POST", preview, {"expression": "at(2030-01-01T12:00:00)", "timezone": "UTC", "count": 20})
    assert once["next"] == ["2030-01-01T12:00:00Z"]
    assert alice.ok("POST", preview, {"expression": "at(2020-01-01T12:00:00)"})["next"] == []
    # And what is wrong is a 422 naming the field and saying why
    for wrong, field, why in [
        ({"expression": "cron(0 9 * * * *)"}, "expression", "exactly one of day-of-month and day-of-week"),
        ({"expression": "rate(1 minutes)"}, "expression", "singular"),
        ({"expression": "every day"}, "expression", "use cron("),
        ({"expression": "rate(5 minutes)", "timezone": "Mars/Olympus"}, "timezone", "not an IANA time zone"),
        ({**body, "end_date": "2027-01-01T00:00:00Z"}, "end_date", "end_date must be after start_date"),
        ({**body, "start_date": "soon"}, "start_date", "start_date: "),
        ({**body, "count": 21}, "count", ""),
    ]:
        status, answer = vera.call("POST", preview, wrong)
        assert status == 422, (wrong, answer)
        details = answer["error"]["details"]  # a service's refusal names one field, the body's check a list
        assert (details["field"] if isinstance(details, dict) else details[0]["field"]) == field, answer
        assert why in answer["error"]["message"], (wrong, answer)
