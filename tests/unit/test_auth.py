"""JWT verification: real RS256 tokens from the local issuer; every other shape is refused."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nexod.auth import JwtVerifier
from nexod.domain.errors import Unauthorized
from nexod.local.issuer import AUDIENCE, LocalIssuer

ISSUER = "http://127.0.0.1:8000/local-issuer"


class StaticJwks:
    """The issuer's published JWKS, without the HTTP fetch (the integration tests do the fetch)."""

    def __init__(self, jwks: dict) -> None:
        self._set = jwt.PyJWKSet.from_dict(jwks)

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._set.keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError(f"no key {kid}")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("keys"), ISSUER)


@pytest.fixture
def verifier(issuer) -> JwtVerifier:
    return JwtVerifier(ISSUER, AUDIENCE, "unused", jwks_client=StaticJwks(issuer.jwks))


def test_a_valid_token_yields_the_principal(issuer, verifier):
    principal = verifier.verify(f"Bearer {issuer.token('alice')}")
    assert principal.sub == "local|alice" and principal.email == "alice@example.com"


def test_the_issuer_key_survives_a_restart(issuer, tmp_path_factory):
    again = LocalIssuer(next(iter(tmp_path_factory.getbasetemp().glob("keys*"))), ISSUER)
    assert again.jwks == issuer.jwks


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing Authorization"),
        ("Token abc", "must be 'Bearer"),
        ("Bearer not.a.jwt", "malformed"),
    ],
)
def test_missing_or_malformed_headers(verifier, header, message):
    with pytest.raises(Unauthorized, match=message):
        verifier.verify(header)


def test_expired_tokens_are_refused(issuer, verifier):
    token = issuer.token("alice", exp=int(time.time()) - 120)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(f"Bearer {token}")


def test_another_issuer_is_refused(issuer, verifier):
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(f"Bearer {issuer.token('alice', iss='https://evil.example.com')}")


def test_another_audience_is_refused(issuer, verifier):
    with pytest.raises(Unauthorized, match="audience"):
        verifier.verify(f"Bearer {issuer.token('alice', aud='someone-else')}")


def test_cognito_access_tokens_match_on_client_id(issuer):
    verifier = JwtVerifier(ISSUER, "client-123", "unused", jwks_client=StaticJwks(issuer.jwks))
    token = issuer.token("alice", aud=None, client_id="client-123")
    assert verifier.verify(f"Bearer {token}").sub == "local|alice"


def test_symmetric_and_unsigned_tokens_are_refused(issuer, verifier):
    # Given an attacker who signs with HS256 using the public key as the secret, or sends alg=none
    hs = jwt.encode({"sub": "x", "iss": ISSUER, "exp": time.time() + 60}, "secret", algorithm="HS256")
    none = jwt.encode({"sub": "x", "iss": ISSUER, "exp": time.time() + 60}, None, algorithm="none")
    # Then both are refused before any key lookup
    for token in (hs, none):
        with pytest.raises(Unauthorized, match="only RS256"):
            verifier.verify(f"Bearer {token}")


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(issuer, verifier):
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        {"sub": "local|alice", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60},
        forged_key,
        algorithm="RS256",
        headers={"kid": issuer.kid},
    )
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(f"Bearer {token}")
