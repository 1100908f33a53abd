"""Settings come from the environment, once, in the composition roots."""

from __future__ import annotations

from nexod.settings import Settings


def test_the_region_follows_the_lambda_runtime_unless_overridden(monkeypatch):
    # Given a Lambda in eu-west-1 (the runtime sets AWS_REGION)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.delenv("NEXOD_REGION", raising=False)
    # Then clients are built for that region, not a hard-coded default
    assert Settings().region == "eu-west-1"
    # And NEXOD_REGION wins when set
    monkeypatch.setenv("NEXOD_REGION", "ap-south-1")
    assert Settings().region == "ap-south-1"


def test_the_jwks_url_defaults_to_the_issuers_well_known_path():
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert Settings(auth_issuer=issuer).jwks_url == issuer + "/.well-known/jwks.json"
