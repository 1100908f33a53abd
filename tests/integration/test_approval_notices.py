"""Approval notifications (issue 11): run events, emails with signed one-time links, chat posts, reminders."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from nexod.adapters.notify_outbox import read_outbox
from nexod.local.boot import LocalStack
from nexod.services import approvals
from tests.support.api import Api

from .conftest import publish
from .test_approvals import FORM, approval_flow, pending, start
from .test_events import read_until

EMAIL = "pat@example.com"


def outbox(stack: LocalStack) -> Path:
    folder = stack.platform.settings.outbox_dir
    assert folder is not None
    return Path(folder)


def mails_for(stack: LocalStack, approval_title: str, timeout: float = 15) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in read_outbox(outbox(stack)) if approval_title in e.subject]
        if found:
            return found
        assert time.monotonic() < deadline, f"no email about {approval_title!r} in the outbox"
        time.sleep(0.05)


def token_of(link: str | None) -> str:
    assert link is not None and "/approve/" in link, link
    return link.rsplit("/approve/", 1)[1]


@pytest.fixture
def anonymous(stack: LocalStack) -> Api:
    return Api(stack.url, None)


class ChatHook:
    """A real HTTP server standing in for a Slack incoming webhook."""

    def __init__(self) -> None:
        self.posts: list[Any] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                hook.posts.append(json.loads(self.rfile.read(size)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def chat() -> Iterator[ChatHook]:
    hook = ChatHook()
    yield hook
    hook.server.shutdown()


def test_the_run_event_log_tells_an_approval_requested_and_decided(alice: Api, workspace: str) -> None:
    # Given a run waiting at an approval
    flow_id = publish(alice, workspace, approval_flow(), name="events")
    run_id = start(alice, workspace, flow_id)
    asked = pending(alice, workspace, run_id)
    # When alice approves it
    alice.ok("POST", f"/v1/workspaces/{workspace}/approvals/{asked['id']}/decide", {"decision": "approve"})
    # Then the run's events tell the request and the decision, on the approval's node, with its id and title
    events = read_until(alice, f"/v1/workspaces/{workspace}/runs/{run_id}/events", "run.succeeded")
    mine = {e["type"]: e for e in events if e["type"].startswith("approval.")}
    assert mine["approval.requested"]["node_id"] == "gate"
    assert mine["approval.requested"]["data"] == {
        "approval": asked["id"],
        "title": "Ship v2?",
        "flow_id": flow_id,
        "version": 1,
        "console_path": f"#/w/{workspace}/approvals/{asked['id']}",
    }
    decided = mine["approval.decided"]["data"]
    assert decided["decision"] == "approve" and decided["by"] == "local|alice" and decided["approval"] == asked["id"]
    types = [e["type"] for e in events]
    assert types.index("approval.requested") < types.index("approval.decided") < types.index("run.succeeded")


def test_approval_events_reach_the_event_bus_without_any_link_token(
    alice: Api, stack: LocalStack, workspace: str
) -> None:
    # Given a queue subscribed to the local bus's approval events (moto's EventBridge, in this process)
    import boto3

    region = stack.platform.settings.region
    keys = {"region_name": region, "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    sqs, events = boto3.client("sqs", **keys), boto3.client("events", **keys)
    queue_url = sqs.create_queue(QueueName=f"approvals-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"approvals-{uuid.uuid4().hex[:8]}"
    pattern = {
        "source": ["nexod.run"],
        "detail-type": [{"prefix": "Approval "}],
        "detail": {"workspace_id": [workspace]},
    }
    events.put_rule(Name=rule, EventBusName="nexod-runs", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName="nexod-runs", Targets=[{"Id": "q", "Arn": queue_arn}])
    # When a run asks for an approval and alice approves
    flow_id = publish(alice, workspace, approval_flow(), name="bus")
    run_id = start(alice, workspace, flow_id)
    asked = pending(alice, workspace, run_id)
    alice.ok("POST", f"/v1/workspaces/{workspace}/approvals/{asked['id']}/decide", {"decision": "approve"})
    read_until(alice, f"/v1/workspaces/{workspace}/runs/{run_id}/events", "run.succeeded")
    # Then the bus got Approval Requested (with the run, flow, version and the console path) and Decided
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(got) < 2:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            got.append(json.loads(message["Body"]))
    kinds = {m["detail-type"]: m["detail"] for m in got}
    assert set(kinds) == {"Approval Requested", "Approval Decided"}, got
    requested = kinds["Approval Requested"]
    assert requested["run_id"] == run_id and requested["flow_id"] == flow_id and requested["version"] == 1
    assert requested["console_path"].endswith(f"/approvals/{asked['id']}")
    assert "approve/" not in json.dumps(got)  # no signed link (a bearer credential) ever goes on the bus


def test_an_approval_nobody_decides_is_an_expired_event(alice: Api, workspace: str) -> None:
    flow_id = publish(alice, workspace, approval_flow(timeout_seconds=1, on_timeout="reject"), name="late")
    run_id = start(alice, workspace, flow_id)
    events = read_until(alice, f"/v1/workspaces/{workspace}/runs/{run_id}/events", "run.succeeded")
    expired = [e for e in events if e["type"] == "approval.expired"]
    assert len(expired) == 1 and expired[0]["data"]["decision"] == "reject" and expired[0]["data"]["by"] == "timeout"


def test_an_emailed_link_decides_once_without_an_account(
    stack: LocalStack, alice: Api, anonymous: Api, workspace: str
) -> None:
    # Given an approval node that notifies an email address
    definition = approval_flow(title="Link {{ input.what }}", form=FORM, notify={"emails": [EMAIL]})
    flow_id = publish(alice, workspace, definition, name="linked")
    run_id = start(alice, workspace, flow_id)
    asked = pending(alice, workspace, run_id)
    # Then the local outbox holds an email to that address with a link to the console's approval page
    mail = mails_for(stack, "Link v2")[0]
    assert mail.to == EMAIL and mail.subject == "Approval needed: Link v2"
    assert mail.link is not None and mail.link.startswith(stack.url + "/#/approve/")
    token = token_of(mail.link)
    # And the link opens without a JWT: the approval, the workspace's and flow's names, the recipient
    seen = anonymous.ok("GET", f"/v1/approval-links/{token}")
    assert seen["approval"]["id"] == asked["id"] and seen["approval"]["form"] == FORM
    assert seen["approval"]["status"] == "pending" and seen["recipient"] == EMAIL
    assert seen["flow"]["name"] == "linked" and seen["workspace"]["name"].startswith("test-")
    # And a tampered token is 401, invalid fields 422 naming the field (the link stays usable)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    status, body = anonymous.call("GET", f"/v1/approval-links/{forged}")
    assert status == 401 and body["error"]["code"] == "bad_signature", body
    path = f"/v1/approval-links/{token}/decide"
    status, body = anonymous.call("POST", path, {"decision": "approve", "fields": {"budget": -1}})
    assert status == 422 and body["error"]["details"] == {"field": "fields.budget"}, body
    # When the recipient approves through it
    decided = anonymous.ok("POST", path, {"decision": "approve", "comment": "fine", "fields": {"budget": 3}})
    # Then the approval is approved by link:<email>, the run finishes with the fields, and it is audited
    assert decided["status"] == "approved" and decided["id"] == asked["id"]
    finished = alice.wait_run(workspace, run_id)
    assert finished["output"] == {
        "decision": "approve",
        "by": f"link:{EMAIL}",
        "comment": "fine",
        "fields": {"budget": 3},
    }
    audit = alice.ok("GET", f"/v1/workspaces/{workspace}/audit?action=approval.decide")["items"]
    assert any(e["details"].get("via") == "link" and e["actor"] == f"link:{EMAIL}" for e in audit), audit
    # And the used link answers 410 link_used, on both routes
    for method, where, body_ in (("POST", path, {"decision": "reject"}), ("GET", f"/v1/approval-links/{token}", None)):
        status, answer = anonymous.call(method, where, body_)
        assert status == 410 and answer["error"]["code"] == "link_used", answer


def test_a_link_to_an_approval_decided_already_is_a_conflict_and_an_expired_link_is_gone(
    stack: LocalStack, alice: Api, anonymous: Api, workspace: str
) -> None:
    # Given an emailed link, and the approval decided by a member meanwhile
    flow_id = publish(alice, workspace, approval_flow(title="Race {{ input.what }}", notify={"emails": [EMAIL]}))
    run_id = start(alice, workspace, flow_id)
    asked = pending(alice, workspace, run_id)
    token = token_of(mails_for(stack, "Race v2")[0].link)
    alice.ok("POST", f"/v1/workspaces/{workspace}/approvals/{asked['id']}/decide", {"decision": "reject"})
    # When the link's recipient decides
    status, body = anonymous.call("POST", f"/v1/approval-links/{token}/decide", {"decision": "approve"})
    # Then it is a conflict
    assert status == 409, body
    # And a link past its expiry (signed with this deployment's key) is 410 link_expired
    signer = stack.platform.services.approval_links
    assert signer is not None
    old = signer.issue(asked["id"], workspace, EMAIL, datetime.now(UTC) - timedelta(seconds=1))
    status, body = anonymous.call("GET", f"/v1/approval-links/{signer.token(old)}")
    assert status == 410 and body["error"]["code"] == "link_expired", body


def test_a_chat_webhook_hears_of_the_approval_and_a_missing_credential_never_fails_the_node(
    stack: LocalStack, alice: Api, workspace: str, chat: ChatHook
) -> None:
    # Given a Slack-compatible webhook (a real local server) allowed for the workspace, as a credential
    host = stack.url.split("://", 1)[1]
    alice.ok("PUT", f"/v1/workspaces/{workspace}/allowed-hosts", {"allowed_hosts": [host, chat.host]})
    url = f"http://{chat.host}/hooks/T000/B000"
    alice.ok(
        "POST", f"/v1/workspaces/{workspace}/credentials", {"name": "slack", "type": "generic", "value": {"url": url}}
    )
    flow_id = publish(
        alice, workspace, approval_flow(title="Chat {{ input.what }}", notify={"chat_webhook_credential": "slack"})
    )
    # When a run asks
    run_id = start(alice, workspace, flow_id)
    pending(alice, workspace, run_id)
    # Then the channel gets {"text": ...} with the title and the inbox's address
    deadline = time.monotonic() + 15
    while not chat.posts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(chat.posts) == 1 and "Chat v2" in chat.posts[0]["text"], chat.posts
    assert f"{stack.url}/approvals" in chat.posts[0]["text"]
    # And given a node naming a credential that does not exist
    flow_id = publish(
        alice, workspace, approval_flow(title="Mute {{ input.what }}", notify={"chat_webhook_credential": "nope"})
    )
    run_id = start(alice, workspace, flow_id)
    asked = pending(alice, workspace, run_id)
    # Then the failure is audited, the node still waits and can be decided
    deadline = time.monotonic() + 15
    while True:
        failed = alice.ok("GET", f"/v1/workspaces/{workspace}/audit?action=approval.notify_failed")["items"]
        if any(e["target_id"] == asked["id"] for e in failed):
            break
        assert time.monotonic() < deadline, failed
        time.sleep(0.05)
    assert alice.nodes(workspace, run_id)["gate"]["status"] == "RUNNING"
    alice.ok("POST", f"/v1/workspaces/{workspace}/approvals/{asked['id']}/decide", {"decision": "approve"})
    assert alice.wait_run(workspace, run_id)["status"] == "SUCCEEDED"


def test_the_sweeper_reminds_when_due_and_stops_once_decided(stack: LocalStack, alice: Api, workspace: str) -> None:
    # Given an approval that emails and reminds every 5 minutes
    definition = approval_flow(title="Remind {{ input.what }}", notify={"emails": [EMAIL]}, remind_every_seconds=300)
    flow_id = publish(alice, workspace, definition, name="remind")
    run_id = start(alice, workspace, flow_id)
    asked = pending(alice, workspace, run_id)
    assert len(mails_for(stack, "Remind v2")) == 1
    services = stack.platform.services
    # When the sweeper runs before the reminder is due: nothing is sent
    approvals.remind_due(services, datetime.now(UTC) + timedelta(seconds=200))
    assert len(mails_for(stack, "Remind v2")) == 1
    # When it runs once it is due
    approvals.remind_due(services, datetime.now(UTC) + timedelta(seconds=301))
    # Then a reminder with a fresh link goes out, and the approval records when
    mails = mails_for(stack, "Remind v2")
    assert [m.subject for m in mails] == ["Approval needed: Remind v2", "Reminder: approval needed: Remind v2"]
    assert mails[0].link != mails[1].link
    with stack.platform.services.store.tx(workspace) as uow:
        found = uow.approvals.get(asked["id"])
    assert found is not None and found.last_reminded_at is not None
    # And once decided, no more reminders
    alice.ok("POST", f"/v1/workspaces/{workspace}/approvals/{asked['id']}/decide", {"decision": "approve"})
    approvals.remind_due(services, datetime.now(UTC) + timedelta(seconds=1000))
    assert len(mails_for(stack, "Remind v2")) == 2


def test_nexod_outbox_lists_the_emails_and_shows_one(stack: LocalStack, alice: Api, workspace: str) -> None:
    flow_id = publish(alice, workspace, approval_flow(title="Cli {{ input.what }}", notify={"emails": [EMAIL]}))
    start(alice, workspace, flow_id)
    mail = mails_for(stack, "Cli v2")[0]
    state = outbox(stack).parent
    listed = subprocess.run(
        [sys.executable, "-m", "nexod.cli", "outbox", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in listed.splitlines() if mail.id in x)
    assert EMAIL in line and "Cli v2" in line and "/approve/" in line
    shown = subprocess.run(
        [sys.executable, "-m", "nexod.cli", "outbox", "--state-dir", str(state), "--show", mail.id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Subject: Approval needed: Cli v2" in shown and token_of(mail.link) in shown.replace("=\n", "")


def test_the_sweep_policy_lists_due_notice_ids_only_and_writes_nothing(
    stack: LocalStack, alice: Api, workspace: str
) -> None:
    # Given an approval with a reminder due later (its first notice sent), and a link issued for it
    definition = approval_flow(title="Sweep {{ input.what }}", notify={"emails": [EMAIL]}, remind_every_seconds=300)
    run_id = start(alice, workspace, publish(alice, workspace, definition, name="sweep"))
    asked = pending(alice, workspace, run_id)
    mails_for(stack, "Sweep v2")
    with psycopg.connect(stack.platform.postgres.app_url, autocommit=True) as conn:
        # When the app role reads with no workspace: nothing
        assert conn.execute("SELECT count(*) FROM approval_notices").fetchone() == (0,)
        # When it sets the sweep scope: the notices' ids and times, and still no link, no approval
        conn.execute("SELECT set_config('app.sweep', 'approval_notices', false)")
        ids = [str(r[0]) for r in conn.execute("SELECT approval_id FROM approval_notices").fetchall()]
        assert asked["id"] in ids
        assert conn.execute("SELECT count(*) FROM approval_links").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM approvals").fetchone() == (0,)
        # And it may not change a notice under that scope
        changed = conn.execute("UPDATE approval_notices SET due_at = now() WHERE approval_id = %s", (asked["id"],))
        assert changed.rowcount == 0


class _LambdaContext:
    function_name = "nexod-reminders"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nexod-reminders"
    memory_limit_in_mb = 512
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/nexod-reminders"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_the_ops_reminder_function_sends_what_is_due(
    stack: LocalStack, alice: Api, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.ops import remind

    # Given an approval whose reminder is due now (its first notice went out when it parked)
    definition = approval_flow(title="Ops {{ input.what }}", notify={"emails": [EMAIL]}, remind_every_seconds=300)
    run_id = start(alice, workspace, publish(alice, workspace, definition, name="ops"))
    asked = pending(alice, workspace, run_id)
    mails_for(stack, "Ops v2")
    with stack.platform.services.store.tx(workspace) as uow:
        uow.approvals.schedule_notice(asked["id"], datetime.now(UTC) - timedelta(seconds=1))
    # And the function configured from the environment as in AWS (the database, the key, where mail goes)
    settings = stack.platform.settings
    monkeypatch.setenv("NEXOD_DATABASE_URL", stack.platform.postgres.app_url)
    monkeypatch.setenv("NEXOD_OUTBOX_DIR", str(settings.outbox_dir))
    monkeypatch.setenv("NEXOD_APPROVAL_LINK_KEY_FILE", str(settings.approval_link_key_file))
    monkeypatch.setenv("NEXOD_CONSOLE_URL", stack.url)
    remind._notices.cache_clear()
    try:
        # When the schedule invokes it
        answer = remind.handler({}, _LambdaContext())
    finally:
        remind._notices.cache_clear()
    # Then it sent the due reminder, with a link this deployment's key signed
    assert answer["sent"] >= 1
    mails = mails_for(stack, "Ops v2")
    assert [m.subject for m in mails][-1] == "Reminder: approval needed: Ops v2"
    assert Api(stack.url, None).ok("GET", f"/v1/approval-links/{token_of(mails[-1].link)}")["recipient"] == EMAIL


def _starter_clock(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str, str]:
    """The starter's reminder clock (EventBridge Scheduler, moto) in a fresh schedule group, given to the core
    runner's notices and the services: the Scheduler client, the group and the schedules' role."""
    import boto3

    from nexod.adapters.reminders_eventbridge import EventBridgeReminderClock

    client = boto3.client("scheduler", region_name="us-east-1")
    group = f"reminders-{uuid.uuid4().hex[:8]}"
    client.create_schedule_group(Name=group)
    role = "arn:aws:iam::123456789012:role/nexod-reminder-schedules"
    clock = EventBridgeReminderClock(client, group=group, target_arn=_LambdaContext.invoked_function_arn, role_arn=role)
    sender = stack.platform.runner.on_parked.__self__  # type: ignore[union-attr]  # the core runner's notices
    monkeypatch.setattr(sender, "clock", clock)
    monkeypatch.setattr(stack.platform.services, "reminder_clock", clock)
    return client, group, role


def test_without_a_sweeper_each_reminder_is_a_one_time_schedule_set_when_asked_and_deleted_when_decided(
    stack: LocalStack, alice: Api, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    from functions.ops import remind
    from nexod.adapters.reminders_eventbridge import reminder_schedule_name

    # Given a deployment whose Aurora pauses (the starter): no sweeper, but EventBridge Scheduler (moto)
    # wakes the Reminders function once per due reminder
    client, group, role = _starter_clock(stack, monkeypatch)

    def waiting() -> list[str]:
        return sorted(s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"])

    # When an approval that reminds every 5 minutes is requested (its first notice goes out at once)
    definition = approval_flow(title="Wake {{ input.what }}", notify={"emails": [EMAIL]}, remind_every_seconds=300)
    run_id = start(alice, workspace, publish(alice, workspace, definition, name="wake"))
    asked = pending(alice, workspace, run_id)
    assert len(mails_for(stack, "Wake v2")) == 1
    # Then one one-time schedule wakes the Reminders function when the reminder is due, for this approval
    with stack.platform.services.store.tx(workspace) as uow:
        due = uow.approvals.notice_due_at(asked["id"])
    assert due is not None
    first = reminder_schedule_name(asked["id"], due)
    assert waiting() == [first]
    found = client.get_schedule(Name=first, GroupName=group)
    assert found["ActionAfterCompletion"] == "DELETE" and found["ScheduleExpression"].startswith("at(")
    assert json.loads(found["Target"]["Input"]) == {"workspace_id": workspace, "approval_id": asked["id"]}

    # When it fires (the reminder is due): the Reminders function as in AWS, configured from its environment
    with stack.platform.services.store.tx(workspace) as uow:
        uow.approvals.schedule_notice(asked["id"], datetime.now(UTC) - timedelta(seconds=1))
    settings = stack.platform.settings
    monkeypatch.setenv("NEXOD_DATABASE_URL", stack.platform.postgres.app_url)
    monkeypatch.setenv("NEXOD_OUTBOX_DIR", str(settings.outbox_dir))
    monkeypatch.setenv("NEXOD_APPROVAL_LINK_KEY_FILE", str(settings.approval_link_key_file))
    monkeypatch.setenv("NEXOD_CONSOLE_URL", stack.url)
    monkeypatch.setenv("NEXOD_REMINDER_SCHEDULE_GROUP", group)
    monkeypatch.setenv("NEXOD_REMINDER_ROLE_ARN", role)
    monkeypatch.setenv("NEXOD_REGION", "us-east-1")
    remind._notices.cache_clear()
    try:
        answer = remind.handler({"workspace_id": workspace, "approval_id": asked["id"]}, _LambdaContext())
    finally:
        remind._notices.cache_clear()
    # Then the reminder went out
    assert answer == {"sent": 1}
    assert [m.subject for m in mails_for(stack, "Wake v2")][-1] == "Reminder: approval needed: Wake v2"
    # And the next one is scheduled, targeting the function itself (Scheduler deletes the one that ran)
    with stack.platform.services.store.tx(workspace) as uow:
        following = uow.approvals.notice_due_at(asked["id"])
    assert following is not None and following > datetime.now(UTC)
    second = reminder_schedule_name(asked["id"], following)
    assert second in waiting()
    assert client.get_schedule(Name=second, GroupName=group)["Target"]["Arn"] == _LambdaContext.invoked_function_arn

    # When the approval is decided
    alice.ok("POST", f"/v1/workspaces/{workspace}/approvals/{asked['id']}/decide", {"decision": "approve"})
    # Then its waiting schedule is deleted: nothing wakes the database for it any more
    assert second not in waiting()
    with stack.platform.services.store.tx(workspace) as uow:
        assert uow.approvals.notice_due_at(asked["id"]) is None


def test_cancelling_a_run_deletes_its_withdrawn_approvals_reminder_schedule(
    stack: LocalStack, alice: Api, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    # Given the starter's reminder clock (EventBridge Scheduler, moto) and a run waiting on an approval that
    # reminds every 5 minutes: one one-time schedule waits for its next reminder
    client, group, _ = _starter_clock(stack, monkeypatch)
    definition = approval_flow(title="Cancel {{ input.what }}", notify={"emails": [EMAIL]}, remind_every_seconds=300)
    run_id = start(alice, workspace, publish(alice, workspace, definition, name="cancel-wake"))
    asked = pending(alice, workspace, run_id)
    assert len(mails_for(stack, "Cancel v")) == 1  # the first notice went out; the reminder's schedule is set
    assert len(client.list_schedules(GroupName=group)["Schedules"]) == 1

    # When the run is cancelled (its approval is withdrawn)
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{run_id}/cancel", {})

    # Then the approval is withdrawn and its schedule deleted: nothing wakes the database for it
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/approvals/{asked['id']}")["status"] == "withdrawn"
    assert client.list_schedules(GroupName=group)["Schedules"] == []
