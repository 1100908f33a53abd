"""The `BlobStore` port: large values (DESIGN §2) kept outside the database, with a pointer in it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


# -- large values (DESIGN §2): node outputs above a threshold live in a blob store -------------------------
@dataclass(frozen=True)
class BlobRef:
    """Where a large stored value lives: the blob's key, its size in bytes and the SHA-256 of its bytes.

    Kept in `node_runs.output_ref` (and `runs.output_ref`) in place of the value itself."""

    key: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, value: Any) -> BlobRef:
        """A stored pointer; ValueError if it is not one."""
        if not isinstance(value, dict):
            raise ValueError("a blob pointer is an object")
        key, size, sha = value.get("key"), value.get("size"), value.get("sha256")
        if not (isinstance(key, str) and isinstance(size, int) and isinstance(sha, str)):
            raise ValueError("a blob pointer has a string key, an integer size and a string sha256")
        return cls(key, size, sha)


class BlobNotFound(LookupError):
    """The blob store has nothing under this key."""


class BlobStore(Protocol):
    """Bytes under workspace-scoped keys (`ws/<workspace>/...`): S3 in AWS, a folder under `.localdb/` locally.

    Keys are content-addressed by their writers, so writing the same key again writes the same bytes."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The blob's bytes; BlobNotFound if there is none."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with `prefix`; returns how many."""
        ...
