"""Large outputs (DESIGN §2): the offload threshold, the keys, the local folder adapter and hydration."""

from __future__ import annotations

import hashlib
import json
import math
import stat
import uuid
from pathlib import Path

import pytest

from nexod.adapters.blobs_local import LocalBlobStore
from nexod.ports import BlobNotFound, BlobRef
from nexod.runtime.blobs import (
    BlobUnreadable,
    OutputBlobs,
    blob_key,
    hydrate,
    hydrate_upstream,
    offload_output,
    run_output,
)
from nexod.runtime.errors import NodeFailedError, NodeRetryableError
from nexod.services.json_limits import storable

# Fixed ids, not uuid4(): they are part of parametrized test ids, which must be the same in every process
# that collects them (pytest-xdist refuses to run when its workers collect different ids).
WS = "6f1c2a9e-3b7d-4e0f-9a8b-c5d4e3f2a1b0"
RUN = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def outputs(store: LocalBlobStore) -> OutputBlobs:
    return OutputBlobs(store, storable, threshold=1024)


def text_of(size: int) -> str:
    """A string whose JSON encoding (with its quotes) is exactly `size` bytes."""
    return "x" * (size - 2)


# -- threshold ------------------------------------------------------------------------------------------
def test_an_output_at_the_threshold_stays_in_the_row(outputs: OutputBlobs, store: LocalBlobStore):
    # Given an output whose JSON is exactly the threshold
    value = text_of(1024)
    # When it is offloaded
    kept, ref = outputs.offload(WS, RUN, "fetch", 0, value)
    # Then it stays as it is and nothing is written
    assert (kept, ref) == (value, None)
    assert not any(store.root.rglob("*.json"))


def test_one_byte_over_the_threshold_goes_to_the_blob_store(outputs: OutputBlobs, store: LocalBlobStore):
    # Given an output one byte over the threshold
    value = text_of(1025)
    # When it is offloaded
    kept, ref = outputs.offload(WS, RUN, "fetch", 0, value)
    # Then the row keeps a pointer to a content-addressed blob holding exactly its JSON
    assert kept is None and ref is not None
    data = json.dumps(value).encode()
    digest = hashlib.sha256(data).hexdigest()
    assert ref == BlobRef(f"ws/{WS}/runs/{RUN}/fetch/0/{digest}.json", 1025, digest)
    assert store.get(ref.key) == data


def test_offloading_the_same_output_twice_writes_the_same_blob(outputs: OutputBlobs, store: LocalBlobStore):
    # Given an output offloaded once (a Task that Step Functions then retries)
    first = outputs.offload(WS, RUN, "fetch", 0, {"v": text_of(2000)})
    # When the retry offloads the same output
    second = outputs.offload(WS, RUN, "fetch", 0, {"v": text_of(2000)})
    # Then it is the same key and still one blob
    assert first == second
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 1


def test_the_blob_holds_the_storable_copy(outputs: OutputBlobs, store: LocalBlobStore):
    # Given a large output with what jsonb cannot hold (NaN, NUL) that the database adapter would clean
    value = {"nan": math.nan, "text": "a\x00b", "pad": text_of(2000)}
    # When it is offloaded and read back
    _, ref = outputs.offload(WS, RUN, "fetch", 0, value)
    assert ref is not None
    back = hydrate(store, WS, RUN, ref)
    # Then it is what PostgreSQL would have kept
    assert back == storable(value)
    assert back["nan"] is None and back["text"] == "a\ufffdb"


def test_without_a_blob_store_every_output_stays_in_the_row():
    value = text_of(10_000)
    assert offload_output(None, WS, RUN, "fetch", 0, value) == (value, None)


def test_a_failing_blob_store_is_a_retryable_node_error(store: LocalBlobStore):
    # Given a blob store that cannot write (its `ws` folder is a file; root ignores permission bits)
    (store.root / "ws").write_text("not a folder")
    # When a large output is recorded
    # Then the node fails retryably, naming itself
    with pytest.raises(NodeRetryableError, match="node 'fetch': its output could not be written"):
        offload_output(OutputBlobs(store, storable, 1024), WS, RUN, "fetch", 0, text_of(5000))


# -- keys -----------------------------------------------------------------------------------------------
def test_keys_are_workspace_and_run_scoped():
    digest = "a" * 64
    assert blob_key(WS.upper(), RUN, "n1", 3, digest) == f"ws/{WS}/runs/{RUN}/n1/3/{digest}.json"
    assert blob_key(WS, RUN, "-run", 0, digest).endswith(f"/runs/{RUN}/-run/0/{digest}.json")


@pytest.mark.parametrize(
    ("workspace", "node", "iteration", "digest"),
    [
        ("../other", "n1", 0, "a" * 64),
        (WS, "../x", 0, "a" * 64),
        (WS, "a/b", 0, "a" * 64),
        (WS, "n1", -1, "a" * 64),
        (WS, "n1", 0, "A" * 64),
        (WS, "n1", 0, "a" * 63),
    ],
)
def test_a_key_refuses_parts_that_could_escape_its_prefix(workspace: str, node: str, iteration: int, digest: str):
    with pytest.raises(ValueError):
        blob_key(workspace, RUN, node, iteration, digest)


# -- local folder adapter ---------------------------------------------------------------------------------
def test_local_blobs_are_owner_only_and_written_whole(store: LocalBlobStore):
    # When a blob is written
    key = f"ws/{WS}/runs/{RUN}/n/0/{'b' * 64}.json"
    store.put(key, b"{}")
    # Then the file is 0600 and its folders 0700, with no temporary file left behind
    path = store.root / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in [store.root, *list(path.relative_to(store.root).parents)[:-1]]:
        full = folder if folder == store.root else store.root / folder
        assert stat.S_IMODE(full.stat().st_mode) == 0o700, full
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert store.get(key) == b"{}"


def test_local_store_refuses_keys_that_leave_its_folder(store: LocalBlobStore):
    for key in ["../x", "ws/../../x", "/etc/passwd", "ws//x", "ws\\x"]:
        with pytest.raises(ValueError):
            store.put(key, b"x")


def test_local_store_missing_and_delete_by_prefix(store: LocalBlobStore):
    # Given two runs' blobs
    other = str(uuid.uuid4())
    for run_id in (RUN, other):
        store.put(f"ws/{WS}/runs/{run_id}/n/0/{'c' * 64}.json", b"1")
        store.put(f"ws/{WS}/runs/{run_id}/m/0/{'d' * 64}.json", b"2")
    # When one run's prefix is deleted
    assert store.delete_prefix(f"ws/{WS}/runs/{RUN}/") == 2
    # Then its blobs are gone and the other run's remain
    with pytest.raises(BlobNotFound):
        store.get(f"ws/{WS}/runs/{RUN}/n/0/{'c' * 64}.json")
    assert store.get(f"ws/{WS}/runs/{other}/n/0/{'c' * 64}.json") == b"1"
    with pytest.raises(ValueError):
        store.delete_prefix("ws")


# -- hydration ------------------------------------------------------------------------------------------
@pytest.fixture
def written(outputs: OutputBlobs) -> BlobRef:
    _, ref = outputs.offload(WS, RUN, "fetch", 0, {"body": text_of(4000)})
    assert ref is not None
    return ref


def test_a_corrupt_blob_is_named_not_served(store: LocalBlobStore, written: BlobRef):
    # Given a blob whose bytes changed but kept their length
    path = store.root / written.key
    data = path.read_bytes()
    path.write_bytes(data[:-3] + b'"}}')
    # Then hydrating it says it is corrupt
    with pytest.raises(BlobUnreadable, match="is corrupt"):
        hydrate(store, WS, RUN, written)


def test_a_missing_blob_is_named(store: LocalBlobStore, written: BlobRef):
    (store.root / written.key).unlink()
    with pytest.raises(BlobUnreadable, match="is missing"):
        hydrate(store, WS, RUN, written.as_json())


def test_a_pointer_outside_the_run_is_never_read(store: LocalBlobStore, written: BlobRef):
    # Given a pointer into another run (or workspace) of the same store
    with pytest.raises(BlobUnreadable, match="not under this run"):
        hydrate(store, WS, str(uuid.uuid4()), written)
    with pytest.raises(BlobUnreadable, match="not under this run"):
        hydrate(store, str(uuid.uuid4()), RUN, written)
    with pytest.raises(BlobUnreadable, match="malformed"):
        hydrate(store, WS, RUN, {"key": written.key})


def test_an_unreadable_upstream_fails_the_node_naming_it(store: LocalBlobStore, outputs: OutputBlobs, written: BlobRef):
    # Given a downstream node whose upstream output's blob is gone
    (store.root / written.key).unlink()
    upstream = {"fetch": written, "small": 1}
    # Then the node fails (not retryably: the blob will not come back), naming the upstream node
    with pytest.raises(NodeFailedError, match=r"node 'next': the output of 'fetch' cannot be read: blob .* missing"):
        hydrate_upstream(outputs, WS, RUN, "next", upstream)


def test_upstream_pointers_are_replaced_by_their_values(outputs: OutputBlobs, written: BlobRef):
    upstream = {"fetch": written, "small": {"a": 1}}
    hydrate_upstream(outputs, WS, RUN, "next", upstream)
    assert upstream == {"fetch": {"body": text_of(4000)}, "small": {"a": 1}}


def test_the_run_output_shares_one_nodes_pointer_and_stores_several_apart(
    outputs: OutputBlobs, store: LocalBlobStore, written: BlobRef
):
    # One output node: its pointer is the run's, with no copy
    assert run_output(outputs, WS, RUN, ["fetch"], {"fetch": written}) == (None, written)
    assert run_output(outputs, WS, RUN, ["a"], {"a": 1}) == (1, None)
    # Several: composed from the values and stored apart under `-run` when large
    kept, ref = run_output(outputs, WS, RUN, ["fetch", "b"], {"fetch": written, "b": 2})
    assert kept is None and ref is not None and f"/runs/{RUN}/-run/0/" in ref.key
    assert hydrate(store, WS, RUN, ref) == {"fetch": {"body": text_of(4000)}, "b": 2}
