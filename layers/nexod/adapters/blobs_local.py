"""The `BlobStore` port on a local folder (`.localdb/blobs/`): one file per key, owner-only permissions."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from ..ports import BlobNotFound


class LocalBlobStore:
    """Files under `root`, one per key (`root/ws/<workspace>/runs/...`). Folders are 0700 and files 0600; a
    write goes to a temporary file in the same folder, is flushed to disk and renamed into place, so a reader
    sees the whole blob or none of it, even when the process dies halfway."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key:
            raise ValueError(f"not a blob key: {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self._folders(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _folders(self, folder: Path) -> None:
        """Create `folder` and its missing parents below the root, each 0700 whatever the umask."""
        missing = []
        while folder != self.root and not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for created in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another writer made it meanwhile
                created.mkdir(mode=0o700)
                os.chmod(created, 0o700)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.startswith("ws/") or not prefix.endswith("/"):
            raise ValueError("delete_prefix takes a whole `ws/.../` folder")
        folder = self._path(prefix.rstrip("/"))
        if not folder.exists():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))
        shutil.rmtree(folder)
        return count
