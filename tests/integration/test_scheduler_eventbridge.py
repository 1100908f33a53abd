"""The Scheduler port over EventBridge Scheduler (moto): a schedule per trigger in the Nexod group, targeting
the run starter with a retry policy and the DLQ, replaced on change and removed on delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
from moto import mock_aws

from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.adapters.scheduler_eventbridge import SCHEDULED_TIME, EventBridgeScheduler, schedule_name
from nexod.domain.triggers import ScheduleConfig

STARTER = "arn:aws:lambda:us-east-1:123456789012:function:nexod-run-starter"
ROLE = "arn:aws:iam::123456789012:role/nexod-scheduler"
DLQ = "arn:aws:sqs:us-east-1:123456789012:nexod-scheduler-dlq"
WS, TRIGGER = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def test_a_schedule_trigger_is_one_schedule_created_replaced_and_deleted_with_it():
    with mock_aws(config=MOTO_CONFIG):
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name="nexod")
        scheduler = EventBridgeScheduler(client, group="nexod", target_arn=STARTER, role_arn=ROLE, dlq_arn=DLQ)
        # When a Berlin 09:00 schedule is put
        start = datetime(2026, 12, 1, tzinfo=UTC)
        config = ScheduleConfig(expression="cron(0 9 * * ? *)", timezone="Europe/Berlin", start_date=start)
        scheduler.put(WS, TRIGGER, config)
        # Then one schedule in the group carries its expression, zone and the run starter as target
        found = client.get_schedule(Name=schedule_name(TRIGGER), GroupName="nexod")
        assert (found["ScheduleExpression"], found["ScheduleExpressionTimezone"]) == (
            "cron(0 9 * * ? *)",
            "Europe/Berlin",
        )
        target = found["Target"]
        assert (target["Arn"], target["RoleArn"], target["DeadLetterConfig"]["Arn"]) == (STARTER, ROLE, DLQ)
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
        assert json.loads(target["Input"]) == {
            "workspace_id": WS,
            "trigger_id": TRIGGER,
            "scheduled_time": SCHEDULED_TIME,
        }
        # When the trigger changes, the same schedule is replaced (not a second one)
        scheduler.put(WS, TRIGGER, ScheduleConfig(expression="rate(5 minutes)"))
        names = [s["Name"] for s in client.list_schedules(GroupName="nexod")["Schedules"]]
        assert names == [schedule_name(TRIGGER)]
        assert client.get_schedule(Name=schedule_name(TRIGGER), GroupName="nexod")["ScheduleExpression"] == (
            "rate(5 minutes)"
        )
        # When it is deleted (twice: the second finds nothing and is fine), the group is empty
        scheduler.delete(WS, TRIGGER)
        scheduler.delete(WS, TRIGGER)
        assert client.list_schedules(GroupName="nexod")["Schedules"] == []


# -- approval reminders without a sweeper (issue 11, the starter): the ReminderClock port -----------------
REMINDERS = "arn:aws:lambda:us-east-1:123456789012:function:nexod-reminders"
APPROVAL = "33333333-3333-3333-3333-333333333333"


def test_a_reminder_is_a_one_time_schedule_that_deletes_itself_and_a_decision_deletes_it_first():
    from datetime import timedelta

    from nexod.adapters.reminders_eventbridge import EventBridgeReminderClock, reminder_schedule_name

    with mock_aws(config=MOTO_CONFIG):
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name="nexod-reminders")
        now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
        clock = EventBridgeReminderClock(
            client, group="nexod-reminders", target_arn=REMINDERS, role_arn=ROLE, now=lambda: now
        )
        # When a reminder is due in 5 minutes (a due time with a fraction of a second)
        due = now + timedelta(seconds=300, microseconds=250_000)
        clock.set(WS, APPROVAL, due)
        # Then one schedule fires once, at the next whole second, in UTC, and is deleted after it ran
        found = client.get_schedule(Name=reminder_schedule_name(APPROVAL, due), GroupName="nexod-reminders")
        assert (found["ScheduleExpression"], found["ScheduleExpressionTimezone"]) == ("at(2026-11-26T12:05:01)", "UTC")
        assert found["ActionAfterCompletion"] == "DELETE"
        # And it invokes the Reminders function through the role with the approval it is for
        target = found["Target"]
        assert (target["Arn"], target["RoleArn"]) == (REMINDERS, ROLE)
        assert json.loads(target["Input"]) == {"workspace_id": WS, "approval_id": APPROVAL}
        # When the same wake-up is set again (a retried sender): still one schedule
        clock.set(WS, APPROVAL, due)
        assert len(client.list_schedules(GroupName="nexod-reminders")["Schedules"]) == 1
        # When a due time already passed is set: it fires a minute from now, not in the past
        late = now - timedelta(seconds=30)
        clock.set(WS, APPROVAL, late)
        late_found = client.get_schedule(Name=reminder_schedule_name(APPROVAL, late), GroupName="nexod-reminders")
        assert late_found["ScheduleExpression"] == "at(2026-11-26T12:01:00)"
        # When the approval is decided: its waiting schedule is deleted, and deleting it again is fine
        clock.clear(WS, APPROVAL, due)
        clock.clear(WS, APPROVAL, due)
        names = [s["Name"] for s in client.list_schedules(GroupName="nexod-reminders")["Schedules"]]
        assert names == [reminder_schedule_name(APPROVAL, late)]
        # And the names fit Scheduler's 64 characters
        assert len(reminder_schedule_name(APPROVAL, due)) <= 64
