"""JWT verification: real RS256 tokens from the local issuer; every other shape is refused."""

from __future__ import annotations

import json
import math
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


# -- every claim the verifier relies on -------------------------------------------------------------
def signed(issuer: LocalIssuer, payload: dict) -> str:
    """A token signed with the issuer's real key, carrying exactly `payload` as JSON (no checks, no defaults:
    jwt.encode itself refuses some of the shapes tested here)."""
    raw = json.dumps(payload).encode()
    return jwt.PyJWS().encode(raw, issuer._key, algorithm="RS256", headers={"kid": issuer.kid})


def good_claims(**changes) -> dict:
    now = int(time.time())
    claims = {"sub": "local|alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600}
    claims.update(changes)
    return claims


def test_the_reference_claims_are_accepted(issuer, verifier):
    # Given the claim set the refusals below each change in one place
    # When it is verified
    principal = verifier.verify(f"Bearer {signed(issuer, good_claims())}")
    # Then it is accepted: each refusal below is caused by its one change
    assert principal.sub == "local|alice"


@pytest.mark.parametrize("claim", ["exp", "iss", "sub"])
@pytest.mark.parametrize("how", ["missing", "null"])
def test_each_required_claim_is_required(issuer, verifier, claim, how):
    # Given a token without one required claim (absent, or null)
    claims = good_claims()
    if how == "missing":
        del claims[claim]
    else:
        claims[claim] = None
    # Then it is refused
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {signed(issuer, claims)}")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    ["9999999999", "1", True, False, [9999999999], {"t": 1}, float("nan"), float("inf"), "NaN"],
    ids=["numeric-string", "small-string", "true", "false", "list", "object", "nan", "inf", "nan-string"],
)
def test_time_claims_must_be_numbers(issuer, verifier, claim, value):
    # Given a token whose time claim is not a number (PyJWT would take int() of it)
    token = signed(issuer, good_claims(**{claim: value}))
    # Then it is refused
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {token}")


@pytest.mark.parametrize(
    "claims",
    [{"exp": "9999999999"}, {"nbf": True}, {"nbf": "0"}, {"iat": False}, {"iat": "0"}],
    ids=["exp-string", "nbf-true", "nbf-string", "iat-false", "iat-string"],
)
def test_time_claims_pyjwt_would_convert_are_refused(issuer, verifier, claims):
    # Given time claims that PyJWT turns into valid times with int() ("9999999999", True -> 1, "0")
    token = signed(issuer, good_claims(**claims))
    # Then our own check refuses them, naming the claim
    with pytest.raises(Unauthorized, match="must be a number"):
        verifier.verify(f"Bearer {token}")


def test_an_integer_time_beyond_a_double_is_a_number_not_a_crash(issuer, verifier):
    # Given a token valid until a time too large for a float (math.isfinite would overflow on it)
    token = signed(issuer, good_claims(exp=10**400))
    # Then it is judged like any far-future expiry
    assert verifier.verify(f"Bearer {token}").sub == "local|alice"


def test_time_claims_may_be_fractional(issuer, verifier):
    # Given RFC 7519 NumericDate values with fractions
    now = time.time()
    token = signed(issuer, good_claims(iat=now, nbf=now, exp=now + 600.5))
    # Then they are accepted
    assert verifier.verify(f"Bearer {token}").sub == "local|alice"


@pytest.mark.parametrize(
    ("claim", "offset", "message"),
    [("exp", -120, "expired"), ("nbf", 600, "not yet valid"), ("iat", 600, "not yet valid")],
)
def test_time_claims_are_enforced(issuer, verifier, claim, offset, message):
    # Given a token expired, or not valid until 10 minutes from now (beyond the 30 s leeway)
    token = signed(issuer, good_claims(**{claim: int(time.time()) + offset}))
    # Then it is refused
    with pytest.raises(Unauthorized, match=message):
        verifier.verify(f"Bearer {token}")


def test_the_leeway_is_30_seconds(issuer, verifier):
    # Given a token that expired 20 s ago and one that becomes valid in 20 s
    now = int(time.time())
    for claims in (good_claims(exp=now - 20), good_claims(nbf=now + 20, iat=now + 20)):
        # Then both are still accepted (clock skew), unlike the ones 120 s off above
        assert verifier.verify(f"Bearer {signed(issuer, claims)}").sub == "local|alice"


@pytest.mark.parametrize(
    "sub",
    ["", " ", "\t\n", 42, True, ["local|alice"], {"id": "x"}, "a\x00b", "a\ud800", "x" * 256, "new\nline"],
    ids=["empty", "space", "blank", "number", "bool", "list", "object", "nul", "surrogate", "too-long", "control"],
)
def test_the_subject_must_be_ordinary_non_blank_text(issuer, verifier, sub):
    # Given a token whose subject is empty, blank, not a string, or not storable text
    token = signed(issuer, good_claims(sub=sub))
    # Then it is refused
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(f"Bearer {token}")


def test_a_subject_of_255_characters_is_accepted(issuer, verifier):
    token = signed(issuer, good_claims(sub="u" * 255))
    assert verifier.verify(f"Bearer {token}").sub == "u" * 255


def test_profile_claims_that_are_not_ordinary_text_are_dropped(issuer, verifier):
    # Given a valid token whose email and name claims are not storable text
    token = signed(issuer, good_claims(email={"x": 1}, name="bad\x00name"))
    # When it is verified
    principal = verifier.verify(f"Bearer {token}")
    # Then the caller is known by subject only
    assert (principal.sub, principal.email, principal.name) == ("local|alice", None, None)


def test_a_header_nested_deeply_is_malformed_not_a_crash(verifier):
    # Given a token whose header is JSON nested 5,000 deep
    import base64

    header = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("=")
    # Then it is refused as malformed
    with pytest.raises(Unauthorized, match="malformed"):
        verifier.verify(f"Bearer {header}.e30.c2ln")


def test_a_token_for_another_audience_list_is_refused_and_a_matching_list_accepted(issuer, verifier):
    assert verifier.verify(f"Bearer {signed(issuer, good_claims(aud=['x', AUDIENCE]))}").sub == "local|alice"
    with pytest.raises(Unauthorized, match="audience"):
        verifier.verify(f"Bearer {signed(issuer, good_claims(aud=['x', 'y']))}")
    with pytest.raises(Unauthorized, match="audience"):
        verifier.verify(f"Bearer {signed(issuer, good_claims(aud=None))}")


# -- what mutation testing found untested ---------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "^missing Authorization header: send 'Authorization: Bearer <JWT>'$"),
        ("", "^missing Authorization header"),
        ("Basic dXNlcjpwdw==", "^Authorization header must be 'Bearer <JWT>'$"),
        ("Bearer ", "^Authorization header must be 'Bearer <JWT>'$"),
        ("Bearer    ", "^Authorization header must be 'Bearer <JWT>'$"),
        ("Bearer e30", "^malformed token: its header is not a JSON object$"),
    ],
)
def test_each_refusal_of_the_header_says_what_to_send(verifier, header, message):
    with pytest.raises(Unauthorized, match=message):
        verifier.verify(header)


def test_the_scheme_is_case_insensitive_and_extra_spaces_are_tolerated(issuer, verifier):
    token = signed(issuer, good_claims())
    for header in (f"bearer {token}", f"BEARER {token}", f"Bearer   {token}  "):
        assert verifier.verify(header).sub == "local|alice"


def test_an_unsigned_token_is_refused_by_algorithm(issuer, verifier):
    none = jwt.encode(good_claims(), None, algorithm="none")
    with pytest.raises(Unauthorized, match=r"^only RS256-signed tokens are accepted$"):
        verifier.verify(f"Bearer {none}")


def test_an_unknown_key_id_is_refused_naming_the_jwks(issuer, verifier):
    token = jwt.PyJWS().encode(json.dumps(good_claims()).encode(), issuer._key, algorithm="RS256", headers={"kid": "x"})
    with pytest.raises(Unauthorized, match=r"^token signing key not found at the issuer's JWKS: no key x$"):
        verifier.verify(f"Bearer {token}")


def test_refusals_of_claims_name_the_claim(issuer, verifier):
    cases = [
        (good_claims(exp=int(time.time()) - 120), "^token expired$"),
        (good_claims(aud="someone-else"), "^token was issued for another audience$"),
        (good_claims(sub=" "), "^invalid token: the sub claim must be a non-empty string$"),
        (good_claims(sub="x" * 256), "^invalid token: the sub claim must be at most 255 printable characters$"),
        (good_claims(nbf="0"), "^invalid token: the nbf claim must be a number of seconds since the epoch$"),
    ]
    for claims, message in cases:
        with pytest.raises(Unauthorized, match=message):
            verifier.verify(f"Bearer {signed(issuer, claims)}")


def test_a_payload_that_is_not_an_object_is_refused(issuer, verifier):
    for payload in (b"[1, 2]", b'"sub"', b"123"):
        token = jwt.PyJWS().encode(payload, issuer._key, algorithm="RS256", headers={"kid": issuer.kid})
        with pytest.raises(Unauthorized, match=r"^invalid token"):
            verifier.verify(f"Bearer {token}")


def test_every_time_claim_is_checked_even_when_an_earlier_one_is_absent(issuer, verifier):
    # Given a token without nbf whose iat is a string (PyJWT reads int("0"))
    claims = good_claims(iat="0")
    del claims["nbf"]
    # Then iat is still checked
    with pytest.raises(Unauthorized, match="the iat claim must be a number"):
        verifier.verify(f"Bearer {signed(issuer, claims)}")


def test_the_leeway_is_exactly_30_seconds(issuer, verifier):
    # Given a token that expired between 30 and 31 s ago (PyJWT compares whole seconds: int(exp))
    expired = good_claims(exp=math.ceil(time.time()) - 31)
    # Then it is just outside the 30 s leeway
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(f"Bearer {signed(issuer, expired)}")


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({"name": "Alice", "username": "alice1", "cognito:username": "alice2"}, "Alice"),
        ({"username": "alice1", "cognito:username": "alice2"}, "alice1"),
        ({"cognito:username": "alice2"}, "alice2"),
        ({"name": "", "username": "alice1"}, "alice1"),
        ({}, None),
    ],
    ids=["name", "username", "cognito-username", "empty-name", "none"],
)
def test_the_display_name_comes_from_name_then_username_then_cognito_username(issuer, verifier, claims, name):
    base = good_claims()
    base.pop("name", None)
    principal = verifier.verify(f"Bearer {signed(issuer, {**base, **claims})}")
    assert principal.name == name


def test_profile_claims_up_to_320_characters_are_kept(issuer, verifier):
    email = "a" * 308 + "@example.com"
    assert len(email) == 320
    assert verifier.verify(f"Bearer {signed(issuer, good_claims(email=email))}").email == email
    assert verifier.verify(f"Bearer {signed(issuer, good_claims(email=email + 'x'))}").email is None


def test_the_jwks_client_caches_keys_for_an_hour_and_times_out_after_5_seconds():
    # Given a verifier built the way the API builds it (no injected client)
    verifier = JwtVerifier(ISSUER, AUDIENCE, "https://issuer.example.com/.well-known/jwks.json")
    client = verifier._jwks
    # Then it fetches the issuer's JWKS with a bounded wait, keeps the set an hour and caches signing keys
    assert client.uri == "https://issuer.example.com/.well-known/jwks.json"
    assert client.timeout == 5
    assert client.jwk_set_cache is not None and client.jwk_set_cache.lifespan == 3600
    assert hasattr(client.get_signing_key, "cache_info")


def test_a_payload_too_deep_to_decode_is_refused_not_a_crash(issuer, verifier):
    # Given a correctly signed token whose payload nests beyond Python's recursion limit
    payload = b'{"a": ' * 5000 + b"1" + b"}" * 5000
    token = jwt.PyJWS().encode(payload, issuer._key, algorithm="RS256", headers={"kid": issuer.kid})
    # Then it is refused as invalid
    with pytest.raises(Unauthorized, match=r"^invalid token: "):
        verifier.verify(f"Bearer {token}")
