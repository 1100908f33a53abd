"""Signed one-time approval links: the token's signature, expiry and shape; the notify config's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from nexod.domain.errors import Gone, Unauthorized
from nexod.domain.nodes.approval import ApprovalConfig
from nexod.services.approval_links import LinkSigner

KEY = b"k" * 32
APPROVAL = "0b7e7a8e-2d2a-4f5c-9d55-6a8f3f1f0c11"
WS = "1c8f8b9f-3e3b-4a6d-8e66-7b9f4f2f1d22"


def issued(signer: LinkSigner, expires_in: float = 3600) -> str:
    return signer.token(
        signer.issue(APPROVAL, WS, "pat@example.com", datetime.now(UTC) + timedelta(seconds=expires_in))
    )


def test_a_token_carries_its_claims_back():
    signer = LinkSigner(KEY)
    claims = signer.verify(issued(signer))
    assert (claims.approval_id, claims.workspace_id, claims.recipient) == (APPROVAL, WS, "pat@example.com")
    assert len(claims.nonce) >= 20


def test_each_issue_has_its_own_nonce_and_token():
    signer = LinkSigner(KEY)
    assert issued(signer) != issued(signer)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: t.replace("v1.", "v2.", 1),  # the version
        lambda t: t[:8] + ("B" if t[8] != "B" else "C") + t[9:],  # the claims
        lambda t: t + ".x",
        lambda t: "",
    ],
)
def test_a_changed_token_is_refused_401(change):
    signer = LinkSigner(KEY)
    with pytest.raises(Unauthorized) as refused:
        signer.verify(change(issued(signer)))
    assert refused.value.code == "bad_signature"


def test_another_deployments_key_is_refused():
    with pytest.raises(Unauthorized):
        LinkSigner(b"o" * 32).verify(issued(LinkSigner(KEY)))


def test_an_expired_token_is_gone_410():
    signer = LinkSigner(KEY)
    with pytest.raises(Gone) as gone:
        signer.verify(issued(signer, expires_in=-1))
    assert gone.value.code == "link_expired" and gone.value.status == 410


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        LinkSigner(b"short")


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ({"emails": ["not-an-email"]}, "is not an email address"),
        ({"emails": ["a@x.com", "A@x.com"]}, "each email once"),
        ({"chat_webhook_credential": "has space"}, "chat_webhook_credential"),
        ({"sms": ["+1"]}, "sms"),
    ],
)
def test_the_notify_config_is_validated(notify, message):
    with pytest.raises(ValidationError, match=message):
        ApprovalConfig.model_validate({"title": "t", "notify": notify})


def test_notify_is_optional_and_defaults_to_the_inbox_only():
    assert ApprovalConfig.model_validate({"title": "t"}).notify is None
    config = ApprovalConfig.model_validate({"title": "t", "notify": {"emails": ["a@example.com"]}})
    assert config.notify is not None and config.notify.chat_webhook_credential is None
