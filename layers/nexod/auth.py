"""Bearer JWT verification against the issuer's JWKS: RS256 only, exp/iss and aud (or Cognito client_id)."""

from __future__ import annotations

from typing import Any

import jwt

from .domain.errors import Unauthorized
from .services.context import Principal


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
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed token: {exc}") from exc
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
        if self.audience:
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud] if aud else []
            # Cognito access tokens carry client_id instead of aud.
            if self.audience not in audiences and claims.get("client_id") != self.audience:
                raise Unauthorized("token was issued for another audience")
        return Principal(
            sub=str(claims["sub"]),
            email=claims.get("email"),
            name=claims.get("name") or claims.get("username") or claims.get("cognito:username"),
        )
