"""Local mode's vault: AES-256-GCM ciphertexts in Postgres, the key in a file outside the database.

Each value is sealed with `cryptography`'s AESGCM under a fresh 96-bit random nonce, with the workspace id
and the credential name as associated data: a ciphertext copied to another row or workspace does not
decrypt. The 32-byte key lives in `.localdb/keys/vault.key` (mode 0600, created on first use); a key file
that others can read is refused, as ssh refuses such a private key. Rows carry a key id (a hash prefix of
the key) so that a replaced key file gives a clear error instead of a decryption failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..domain.errors import VaultUnavailable
from .postgres.db import Database

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyFileExposed(VaultUnavailable):
    code = "vault_key_exposed"


def load_or_create_key(path: Path) -> bytes:
    """The vault key at `path`, created (0600, in a 0700 folder) when missing. Refuses a readable-by-others
    file and a file of the wrong size."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(AESGCM.generate_key(bit_length=256))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileExposed(
            f"the vault key {path} is readable by other users (mode {mode:04o}); run `chmod 600 {path}`"
        )
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise VaultUnavailable(f"the vault key {path} is not a {KEY_BYTES}-byte AES-256 key")
    return key


def _aad(workspace_id: str, name: str) -> bytes:
    return f"nexod-credential\x00{workspace_id}\x00{name}".encode()


class PostgresVault:
    """The `Vault` port on the `credential_values` table (row-level security scopes it per workspace)."""

    def __init__(self, db: Database, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("AES-256 needs a 32-byte key")
        self._db = db
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"nexod-vault-key-id" + key).hexdigest()[:16]

    def put(self, workspace_id: str, name: str, value: dict[str, Any]) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, json.dumps(value, separators=(",", ":")).encode(), _aad(workspace_id, name))
        with self._db.tenant(workspace_id) as conn:
            conn.execute(
                "INSERT INTO credential_values (workspace_id, name, key_id, nonce, ciphertext)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (workspace_id, name) DO UPDATE SET key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce,"
                " ciphertext = EXCLUDED.ciphertext, updated_at = now()",
                (workspace_id, name, self.key_id, nonce, sealed),
            )

    def get(self, workspace_id: str, name: str) -> dict[str, Any] | None:
        with self._db.tenant(workspace_id) as conn:
            row = conn.execute(
                "SELECT key_id, nonce, ciphertext FROM credential_values WHERE workspace_id = %s AND name = %s",
                (workspace_id, name),
            ).fetchone()
        if row is None:
            return None
        if row["key_id"] != self.key_id:
            raise VaultUnavailable(
                f"credential '{name}' was sealed with another vault key (key id {row['key_id']}, this machine "
                f"has {self.key_id}): restore the original key file or store the credential again"
            )
        try:
            plain = self._aead.decrypt(bytes(row["nonce"]), bytes(row["ciphertext"]), _aad(workspace_id, name))
        except InvalidTag:
            raise VaultUnavailable(f"credential '{name}' does not decrypt: its stored value was altered") from None
        value = json.loads(plain)
        assert isinstance(value, dict)
        return value

    def delete(self, workspace_id: str, name: str) -> None:
        with self._db.tenant(workspace_id) as conn:
            conn.execute("DELETE FROM credential_values WHERE workspace_id = %s AND name = %s", (workspace_id, name))
