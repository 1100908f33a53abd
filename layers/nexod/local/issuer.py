"""A local OpenID-style issuer: a real RSA key, a JWKS endpoint and RS256 tokens for seeded users."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

AUDIENCE = "nexod-local"
USERS: dict[str, dict[str, str]] = {
    "alice": {"sub": "local|alice", "email": "alice@example.com", "name": "Alice Admin"},
    "bob": {"sub": "local|bob", "email": "bob@example.com", "name": "Bob Builder"},
    "vera": {"sub": "local|vera", "email": "vera@example.com", "name": "Vera Viewer"},
}


class LocalIssuer:
    def __init__(self, key_dir: Path, issuer: str) -> None:
        self.issuer = issuer
        key_file = key_dir / "issuer-key.pem"
        if key_file.exists():
            loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            self._key = loaded
        else:
            key_dir.mkdir(parents=True, exist_ok=True)
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_file.write_bytes(
                self._key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_file.chmod(0o600)
        public = self._key.public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = uuid.uuid5(uuid.NAMESPACE_OID, der.hex()).hex[:16]
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, user: str, ttl_seconds: int = 12 * 3600, **claims: Any) -> str:
        """A signed token for a seeded user name (alice, bob, vera) or any other name."""
        profile = USERS.get(user, {"sub": f"local|{user}", "email": f"{user}@example.com", "name": user})
        now = int(time.time())
        payload = {
            **profile,
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.kid})
