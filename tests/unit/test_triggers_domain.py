"""Trigger domain: schedule expressions as EventBridge Scheduler takes them, fire times across DST,
catch-up after downtime, webhook signatures and the input mapping."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from nexod.domain.errors import InvalidInput
from nexod.domain.triggers import (
    ScheduleConfig,
    ScheduleError,
    delivery_document,
    delivery_key,
    due_to_fire,
    fire_times,
    next_fire,
    parse_expression,
    preview,
    run_input,
    sign,
    validate_config,
    verify,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_berlin_nine_oclock_stays_nine_across_the_last_sunday_of_october():
    # Given a daily 09:00 schedule in Europe/Berlin
    config = ScheduleConfig(expression="cron(0 9 * * ? *)", timezone="Europe/Berlin")
    # When its fire times around the change from CEST to CET (25 October 2026) are listed
    times = fire_times(config, datetime(2026, 10, 23, 12, 0, tzinfo=UTC), 4)
    # Then each is 09:00 local: 07:00 UTC in summer time, 08:00 UTC after the change
    assert [t.isoformat() for t in times] == [
        "2026-10-24T07:00:00+00:00",
        "2026-10-25T08:00:00+00:00",
        "2026-10-26T08:00:00+00:00",
        "2026-10-27T08:00:00+00:00",
    ]


def test_day_of_week_uses_eventbridge_numbering():
    # Given 10:00 on day 2 (EventBridge: MON) in UTC
    config = ScheduleConfig(expression="cron(0 10 ? * 2 *)")
    # When the next fire after a Thursday is asked
    nxt = next_fire(config, NOW)
    # Then it is the following Monday
    assert nxt == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0 9 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 9 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 9 * * ?)", "takes 6 fields"),
        ("cron(61 9 * * ? *)", "out of range"),
        ("cron(0 9 ? * 8 *)", "outside 1-7"),
        ("cron(0 9 * * ? 1900)", "1970-2199"),
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "singular"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 seconds)", "use cron"),
        ("at(2026-13-01T00:00:00)", "at()"),
        ("every day", "use cron"),
    ],
)
def test_bad_expressions_are_refused_saying_why(expression: str, reason: str):
    with pytest.raises(ScheduleError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_expression(expression)


def test_a_bad_schedule_config_is_invalid_input_naming_the_field():
    with pytest.raises(InvalidInput) as caught:
        validate_config("schedule", {"expression": "rate(1 minutes)"})
    assert caught.value.details == {"field": "config.expression"}
    with pytest.raises(InvalidInput, match=r"config.timezone: timezone 'Mars/Olympus'"):
        validate_config("schedule", {"expression": "rate(1 minute)", "timezone": "Mars/Olympus"})
    with pytest.raises(InvalidInput, match=r"config\.surprise"):
        validate_config("webhook", {"surprise": 1})


def test_rate_counts_from_its_start_date_and_stops_at_its_end_date():
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    config = ScheduleConfig(expression="rate(2 hours)", start_date=start, end_date=start + timedelta(hours=5))
    assert fire_times(config, NOW, 5) == [start + timedelta(hours=4)]
    assert next_fire(config, start - timedelta(days=1)) == start


def test_at_fires_once_in_its_zone():
    config = ScheduleConfig(expression="at(2026-12-01T09:30:00)", timezone="America/New_York")
    assert fire_times(config, NOW, 3) == [datetime(2026, 12, 1, 14, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("policy", "fired"),
    [("none", []), ("latest", ["15:00"]), ("all", ["13:00", "14:00", "15:00"])],
)
def test_three_missed_due_times_fire_by_the_catch_up_policy(policy: str, fired: list[str]):
    # Given an hourly schedule whose due times 13:00, 14:00 and 15:00 passed while the loop was stopped
    config = ScheduleConfig(expression="rate(1 hour)", start_date=NOW, catch_up=policy)  # type: ignore[arg-type]
    # When the loop comes back at 15:30
    firing, following = due_to_fire(config, NOW + timedelta(hours=1), NOW + timedelta(hours=3, minutes=30))
    # Then the policy decides which fire, and the next due time is the first after now
    assert [f.strftime("%H:%M") for f in firing] == fired
    assert following == NOW + timedelta(hours=4)


def test_an_on_time_due_time_fires_even_without_catch_up():
    config = ScheduleConfig(expression="rate(1 minute)", start_date=NOW, catch_up="none")
    firing, _ = due_to_fire(config, NOW + timedelta(minutes=1), NOW + timedelta(minutes=1, seconds=1))
    assert firing == [NOW + timedelta(minutes=1)]


def test_nexod_signatures_within_five_minutes_verify_and_others_do_not():
    body, ts = b'{"a":1}', str(int(NOW.timestamp()))
    headers = {"x-nexod-timestamp": ts, "x-nexod-signature": sign("s3cret", ts, body)}
    assert verify("nexod", "s3cret", headers, body, NOW)
    assert not verify("nexod", "other", headers, body, NOW)
    assert not verify("nexod", "s3cret", headers, body + b" ", NOW)
    assert not verify("nexod", "s3cret", headers, body, NOW + timedelta(minutes=6))
    assert not verify("nexod", "s3cret", {}, body, NOW)


def test_provider_presets_verify_their_own_signatures():
    body, ts = b'{"id":"evt_1"}', str(int(NOW.timestamp()))
    mac = lambda msg: hmac.new(b"k", msg, hashlib.sha256).hexdigest()  # noqa: E731
    github = {"x-hub-signature-256": "sha256=" + mac(body), "x-github-delivery": "d-1"}
    stripe = {"stripe-signature": f"t={ts},v1=deadbeef,v1={mac(ts.encode() + b'.' + body)}"}
    slack = {"x-slack-request-timestamp": ts, "x-slack-signature": "v0=" + mac(f"v0:{ts}:".encode() + body)}
    assert verify("github", "k", github, body, NOW) and not verify("github", "x", github, body, NOW)
    assert verify("stripe", "k", stripe, body, NOW) and not verify(
        "stripe", "k", stripe, body, NOW + timedelta(hours=1)
    )
    assert verify("slack", "k", slack, body, NOW) and not verify("nexod", "k", slack, body, NOW)
    assert delivery_key("github", github, None) == "d-1"
    assert delivery_key("stripe", stripe, {"id": "evt_1"}) == "evt_1"
    assert delivery_key("github", {"idempotency-key": "mine", **github}, None) == "mine"


def test_the_input_mapping_reads_the_delivery_and_the_trigger():
    doc = delivery_document({"order": 7}, {"x-a": "b"}, {}, NOW, {"id": "t1", "kind": "webhook"})
    assert run_input(None, doc) == {"order": 7}
    assert run_input("{order: delivery.body.order, by: trigger.kind}", doc) == {"order": 7, "by": "webhook"}


def test_a_preview_is_the_scheduler_s_own_fire_times_and_names_the_flat_field_that_is_wrong():
    # Given a schedule not saved yet, as the console's cron helper sends it
    fields = {"expression": "cron(0 9 * * ? *)", "timezone": "Europe/Berlin"}
    after = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    # When it is previewed, Then the times are the ones next_fire gives a saved trigger, across the DST change
    assert preview(fields, after, 4) == fire_times(ScheduleConfig.model_validate(fields), after, 4)
    assert [t.hour for t in preview(fields, after, 4)] == [7, 8, 8, 8]  # 24 Oct: CEST; from 25 Oct: CET
    # And what is wrong is named without a `config.` prefix
    for wrong, field in [
        ({"expression": "rate(0 minutes)"}, "expression"),
        ({"expression": "rate(5 minutes)", "timezone": "Nowhere/Else"}, "timezone"),
        (
            {"expression": "rate(5 minutes)", "start_date": "2027-01-02T00:00:00Z", "end_date": "2027-01-01T00:00:00Z"},
            "end_date",
        ),
    ]:
        with pytest.raises(InvalidInput) as caught:
            preview(wrong, after, 5)
        assert caught.value.details == {"field": field}, wrong
