"""The SES notifier against moto's SES v2, and the chat part through the real guarded client."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.adapters.notify_ses import SesNotifier
from nexod.adapters.outbound_http import GuardedHttp
from nexod.ports import ChatWebhook, Notification, NotificationFailed

from .test_approval_notices import ChatHook

REGION = "us-east-1"
SENDER = "approvals@nexod.example"


def _sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@mock_aws(config=MOTO_CONFIG)
def test_each_recipient_gets_an_email_with_their_own_link_from_the_configured_identity() -> None:
    # Given SES with a verified sender identity
    client = boto3.client("sesv2", region_name=REGION)
    client.create_email_identity(EmailIdentity=SENDER)
    notifier = SesNotifier(client, SENDER)
    links = {"a@example.com": "https://console/approve/AAA", "b@example.com": "https://console/approve/BBB"}
    # When a notification to two recipients is sent
    notifier.send(
        Notification(tuple(links), "Approval needed: Ship", "Decide: {link}", '<a href="{link}">go</a>', None, links)
    )
    # Then SES sent one email to each, each with only its recipient's link
    sent = _sent()
    assert [m.destinations["ToAddresses"] for m in sent] == [["a@example.com"], ["b@example.com"]]
    assert all(m.source == SENDER and m.subject == "Approval needed: Ship" for m in sent)
    assert "AAA" in sent[0].body and "BBB" not in sent[0].body
    assert "BBB" in sent[1].body


@mock_aws(config=MOTO_CONFIG)
def test_an_unverified_sender_is_a_notification_failure_and_the_chat_still_goes_out() -> None:
    # Given SES without the sender's identity (moto refuses it like SES's sandbox), and a chat webhook
    client = boto3.client("sesv2", region_name=REGION)
    hook = ChatHook()
    try:
        http = GuardedHttp()
        notifier = SesNotifier(client, "nobody@unverified.example", outbound=lambda: http)
        chat = ChatWebhook(f"http://{hook.host}/hook", (hook.host,), "Approval needed: Ship")
        # When it sends
        with pytest.raises(NotificationFailed) as failed:
            notifier.send(Notification(("a@example.com",), "Approval needed: Ship", "{link}", None, chat))
        # Then the email failed, the chat post went out and says so
        assert "a@example.com" in str(failed.value) and failed.value.sent == ("chat",)
        assert hook.posts == [{"text": "Approval needed: Ship"}]
    finally:
        hook.server.shutdown()


def test_a_chat_webhook_outside_the_allow_list_is_refused_by_the_guard() -> None:
    hook = ChatHook()
    try:
        http = GuardedHttp()
        notifier = SesNotifier(None, SENDER, outbound=lambda: http)
        chat = ChatWebhook(f"http://{hook.host}/hook", (), "x")  # loopback, not allow-listed
        with pytest.raises(NotificationFailed, match="chat webhook"):
            notifier.send(Notification((), "s", "t", None, chat))
        assert hook.posts == []
    finally:
        hook.server.shutdown()


@mock_aws(config=MOTO_CONFIG)
def test_the_link_key_is_its_own_secret_or_derived_from_the_database_secret() -> None:
    from nexod.adapters.broker_keys import secrets_manager_link_key

    client = boto3.client("secretsmanager", region_name=REGION)
    # Given a secret of its own (48 random characters, as the CDK generates it) and an RDS-format secret
    own = client.create_secret(Name="link-key", SecretString="A" * 24 + "b" * 24)["ARN"]
    rds = {"username": "nexod_app", "password": "s3cret-pass", "host": "db", "port": 5432}
    db = client.create_secret(Name="db-app", SecretString=json.dumps(rds))["ARN"]
    # Then the first is the key itself, the second derives 32 bytes that are not the password
    assert len(secrets_manager_link_key(client, own)) == 36
    derived = secrets_manager_link_key(client, db)
    assert len(derived) == 32 and b"s3cret-pass" not in derived
    assert secrets_manager_link_key(client, db) == derived  # stable: links outlive a cold start
