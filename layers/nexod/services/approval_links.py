"""Signed one-time approval links (issue 11): people without an account decide through a link in an email.

A token is `v1.<claims>.<signature>`: base64url JSON claims {a: approval id, w: workspace id, e: recipient
email, x: expiry (epoch seconds), n: nonce} and their HMAC-SHA256 under the deployment's key (locally
`.localdb/keys/approval-links.key`, in AWS a Secrets Manager secret). The token is the credential; the
nonce's row in `approval_links` (migration 0017) makes it decide once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain.errors import Gone, Unauthorized

VERSION = "v1"
MAX_TOKEN = 2048


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class LinkClaims:
    approval_id: str
    workspace_id: str
    recipient: str
    expires_at: datetime
    nonce: str


class LinkSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the approval-link key must be at least 32 bytes")
        self._key = key

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, f"{VERSION}.{body}".encode(), hashlib.sha256).digest())

    def issue(self, approval_id: str, workspace_id: str, recipient: str, expires_at: datetime) -> LinkClaims:
        """New claims with a fresh nonce (record the nonce, then `token` them)."""
        return LinkClaims(approval_id, workspace_id, recipient, expires_at, secrets.token_urlsafe(16))

    def token(self, claims: LinkClaims) -> str:
        payload = {
            "a": claims.approval_id,
            "w": claims.workspace_id,
            "e": claims.recipient,
            "x": int(claims.expires_at.timestamp()),
            "n": claims.nonce,
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{VERSION}.{body}.{self._sign(body)}"

    def verify(self, token: str, now: datetime | None = None) -> LinkClaims:
        """The token's claims: 401 `bad_signature` for anything not signed by this key (compared in constant
        time), 410 `link_expired` after its expiry."""
        bad = Unauthorized("this approval link is not valid (it was changed, or is not a Nexod link)")
        bad.code = "bad_signature"
        if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
            raise bad
        version, body, signature = token.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()) or version != VERSION:
            raise bad
        try:
            payload = json.loads(_unb64(body))
            claims = LinkClaims(
                str(payload["a"]),
                str(payload["w"]),
                str(payload["e"]),
                datetime.fromtimestamp(int(payload["x"]), UTC),
                str(payload["n"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise bad from None
        if (now or datetime.now(UTC)) >= claims.expires_at:
            raise Gone("link_expired", "this approval link has expired")
        return claims
