"""Where the broker's HMAC key comes from: a 0600 key file locally, a Secrets Manager secret in AWS."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

KEY_BYTES = 32


def local_broker_key(path: Path) -> bytes:
    """The key in `path` (created with 32 random bytes, mode 0600, on first use; its folder 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)))
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path}: the key file must be readable by its owner only (chmod 600)")
    return base64.b64decode(path.read_bytes().strip())


def secrets_manager_broker_key(client: Any, secret_id: str) -> bytes:
    """The key from a Secrets Manager secret: base64 text (CDK generates it) or `{"key": <base64>}`, read
    through Powertools' cached provider like the database secret."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    value = SecretsProvider(boto3_client=client).get(secret_id, max_age=300)
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.lstrip().startswith("{"):
        import json

        found = json.loads(text)
        if "key" not in found and isinstance(found.get("password"), str):  # the starter: the database secret
            return derived_key(found["password"], BROKER_KEY_LABEL)
        text = str(found["key"])
    key = base64.b64decode(text)
    if len(key) < KEY_BYTES:
        raise ValueError(f"secret {secret_id}: the key must be at least {KEY_BYTES} bytes (base64)")
    return key


LINK_KEY_LABEL = b"nexod approval links v1"
BROKER_KEY_LABEL = b"nexod agent broker v1"


def derived_key(password: str, label: bytes) -> bytes:
    """A key of its own for `label`, derived from a database secret's password with HKDF-SHA256 (profiles
    that keep no separate key secret: every function that needs the key reads that secret already)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label).derive(password.encode())


def secrets_manager_link_key(client: Any, secret_id: str) -> bytes:
    """The approval-link key: a secret of its own (as the broker key), or, where the deployment has none (the
    starter: no secret rotation, every secret counted), derived from the app's database secret with
    HKDF-SHA256 under its own label (the `password` of an RDS-format secret)."""
    import json

    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    value = SecretsProvider(boto3_client=client).get(secret_id, max_age=300)
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.lstrip().startswith("{"):
        found = json.loads(text)
        if "key" not in found and isinstance(found.get("password"), str):
            return derived_key(found["password"], LINK_KEY_LABEL)
    return secrets_manager_broker_key(client, secret_id)
