"""Bearer JWT verification against the issuer's JWKS: RS256 only, exp/iss and aud (or Cognito client_id)."""

from __future__ import annotations

import re
from typing import Any

import jwt

from .domain.errors import Unauthorized
from .services.context import Principal

TIME_CLAIMS = ("exp", "nbf", "iat")
MAX_SUB = 255
MAX_PROFILE = 320
# Control characters (NUL cannot be stored at all) and lone surrogates (not encodable as UTF-8).
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class JwtVerifier:
    def __init__(self, issuer: str, audience: str | None, jwks_url: str, jwks_client: Any = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks = jwks_client or jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=5)

    def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("missing Authorization header: send 'Authorization: Bearer <JWT>'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization header must be 'Bearer <JWT>'")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, RecursionError) as exc:  # a hostile header may nest very deep
            raise Unauthorized("malformed token: its header is not a JSON object") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized("only RS256-signed tokens are accepted")
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as exc:
            raise Unauthorized(f"token signing key not found at the issuer's JWKS: {exc}") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        _check_claims(claims)
        if self.audience:
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud] if aud else []
            # Cognito access tokens carry client_id instead of aud.
            if self.audience not in audiences and claims.get("client_id") != self.audience:
                raise Unauthorized("token was issued for another audience")
        name = claims.get("name") or claims.get("username") or claims.get("cognito:username")
        return Principal(sub=claims["sub"], email=_text_claim(claims.get("email")), name=_text_claim(name))


def _check_claims(claims: dict[str, Any]) -> None:
    """What PyJWT leaves open: it converts time claims with int(), so "9999999999" (a string) and true
    pass; and any string, even an empty one, is a subject. (PyJWT's `require` makes exp, iss and sub
    required; checking that twice would let either check be dropped unnoticed by the tests.)"""
    for claim in TIME_CLAIMS:
        if claim not in claims:
            continue
        value = claims[claim]
        # (NaN and infinities never get here: PyJWT's int() refuses them.)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unauthorized(f"invalid token: the {claim} claim must be a number of seconds since the epoch")
    problem = subject_problem(claims.get("sub"))
    if problem is not None:
        raise Unauthorized(f"invalid token: the sub claim {problem}")


def subject_problem(sub: Any) -> str | None:
    """Why `sub` cannot identify a user (it is stored as members.user_sub and created_by), or None."""
    if not isinstance(sub, str) or not sub.strip():
        return "must be a non-empty string"
    if len(sub) > MAX_SUB or _CONTROL.search(sub):
        return f"must be at most {MAX_SUB} printable characters"
    return None


def _text_claim(value: Any) -> str | None:
    """Profile claims are stored as member details: keep only ordinary text."""
    if isinstance(value, str) and value.strip() and len(value) <= MAX_PROFILE and not _CONTROL.search(value):
        return value
    return None
