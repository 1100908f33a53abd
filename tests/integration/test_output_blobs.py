"""Large node outputs go to the blob store (DESIGN §2): `node_runs` keeps a pointer, the next node and the
API read the value back, and a blob that is gone or damaged shows as a marker, never a 500."""

from __future__ import annotations

import hashlib
import json
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from nexod.local.platform import psql_admin
from tests.support.api import Api
from tests.support.recording_server import Recorder, serving
from tests.unit.flows import edge, node

from .conftest import publish, run

MIB = 1024 * 1024


@pytest.fixture
def origin(alice: Api, workspace: str) -> Iterator[Recorder]:
    with serving(name="big") as server:
        alice.ok("PUT", f"/v1/workspaces/{workspace}/allowed-hosts", {"allowed_hosts": [server.hostport]})
        yield server


def big_flow(origin: str, size: int) -> dict[str, Any]:
    """input -> fetch (a `size`-character string) -> measure (reads it) -> result (returns fetch's output)."""
    return {
        "nodes": [
            node("start", "input"),
            node("fetch", "http", url=f"{origin}/big/{size}"),
            node("measure", "transform", expression="{length: length(nodes.fetch.output.body.blob)}"),
            node("result", "output"),
        ],
        "edges": [edge("start", "fetch"), edge("fetch", "measure"), edge("fetch", "result")],
    }


def stored(stack: LocalStack, run_id: str) -> dict[str, tuple[Any, Any]]:
    """node id -> (output, output_ref) as `node_runs` holds them."""
    with psql_admin(stack.platform) as conn:
        rows = conn.execute("SELECT node_id, output, output_ref FROM node_runs WHERE run_id = %s", (run_id,))
        return {r[0]: (r[1], r[2]) for r in rows.fetchall()}


def blob_dir(stack: LocalStack) -> Path:
    assert stack.platform.settings.blob_dir is not None
    return Path(stack.platform.settings.blob_dir)


def test_a_one_mib_output_goes_to_the_blob_store_and_reads_back_everywhere(
    alice: Api, workspace: str, stack: LocalStack, origin: Recorder
):
    # Given a flow whose http node receives a 1 MiB string
    flow_id = publish(alice, workspace, big_flow(origin.origin, MIB))
    # When it runs
    finished = run(alice, workspace, flow_id)
    assert finished["status"] == "SUCCEEDED", finished
    run_id = finished["id"]
    # Then node_runs holds a pointer for the big outputs, and small outputs stay in the row
    rows = stored(stack, run_id)
    output, ref = rows["fetch"]
    assert output is None
    assert ref["key"].startswith(f"ws/{workspace}/runs/{run_id}/fetch/0/") and ref["key"].endswith(".json")
    assert ref["size"] > MIB
    assert rows["measure"] == ({"length": MIB}, None)
    # And the blob is in the local blob store, owner-only, with the recorded size and checksum
    path = blob_dir(stack) / ref["key"]
    data = path.read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (ref["size"], ref["sha256"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(data)["body"]["n"] == MIB
    # And the downstream node saw the whole value
    nodes = alice.nodes(workspace, run_id)
    assert nodes["measure"]["output"] == {"length": MIB}
    # And GET .../runs/{run}/nodes returns the value itself, not the pointer
    body = nodes["fetch"]["output"]["body"]
    assert body["n"] == MIB and len(body["blob"]) == MIB and body["blob"][:3] == "abc"
    assert "unreadable" not in nodes["fetch"]
    assert nodes["result"]["output"] == {"fetch": nodes["fetch"]["output"]}
    # And the run's output (the output node's, one pointer shared with no copy) reads back in the detail
    assert stored(stack, run_id)["result"][1] is not None
    assert finished["output"] == {"fetch": nodes["fetch"]["output"]}
    with psql_admin(stack.platform) as conn:
        run_row = conn.execute("SELECT output, output_ref FROM runs WHERE id = %s", (run_id,)).fetchone()
    assert run_row is not None and run_row[0] is None
    assert run_row[1] == stored(stack, run_id)["result"][1]
    # And the execution's state never carried it (Step Functions' 256 KiB limit): the runner returns `take`
    with psql_admin(stack.platform) as conn:
        arn = conn.execute("SELECT execution_arn FROM runs WHERE id = %s", (run_id,)).fetchone()
    assert arn is not None
    described = stack.platform.orchestrator.client.describe_execution(executionArn=arn[0])
    assert described["status"] == "SUCCEEDED"
    assert len(described["input"]) + len(described.get("output") or "") < 4096, described.get("output")
    # And the run list does not read blobs (a page of 50 such runs would exceed Lambda's 6 MB answer)
    listed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow_id}")["items"][0]
    assert listed["id"] == run_id and listed["output"] is None


def test_an_output_under_the_threshold_stays_in_postgres(
    alice: Api, workspace: str, stack: LocalStack, origin: Recorder
):
    # Given a flow whose http output is well under 256 KiB
    flow_id = publish(alice, workspace, big_flow(origin.origin, 100_000))
    # When it runs
    finished = run(alice, workspace, flow_id)
    # Then nothing is offloaded
    assert finished["status"] == "SUCCEEDED", finished
    rows = stored(stack, finished["id"])
    assert rows["fetch"][1] is None and rows["fetch"][0]["body"]["n"] == 100_000
    assert not (blob_dir(stack) / "ws" / workspace / "runs" / finished["id"]).exists()


def test_a_damaged_or_missing_blob_shows_a_marker_not_a_500(
    alice: Api, workspace: str, stack: LocalStack, origin: Recorder
):
    # Given a finished run whose big output is in the blob store
    flow_id = publish(alice, workspace, big_flow(origin.origin, MIB))
    finished = run(alice, workspace, flow_id)
    run_id = finished["id"]
    path = blob_dir(stack) / stored(stack, run_id)["fetch"][1]["key"]
    # When the blob's bytes change
    path.write_bytes(path.read_bytes()[:-10] + b"0000000000")
    # Then the node listing still answers, with the node's output null and the reason named
    status, listing = alice.call("GET", f"/v1/workspaces/{workspace}/runs/{run_id}/nodes")
    assert status == 200, listing
    fetch = {n["node_id"]: n for n in listing["items"]}["fetch"]
    assert fetch["output"] is None
    assert fetch["unreadable"][0]["field"] == "output" and "corrupt" in fetch["unreadable"][0]["message"]
    # When the blob is gone, and so is the run output's
    path.unlink()
    (blob_dir(stack) / stored(stack, run_id)["result"][1]["key"]).unlink()
    # Then the listing and the run detail still answer, naming the missing blob
    fetch = alice.nodes(workspace, run_id)["fetch"]
    assert fetch["output"] is None and "missing" in fetch["unreadable"][0]["message"]
    detail = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{run_id}")
    assert detail["output"] is None and "missing" in detail["unreadable"][0]["message"]


def test_a_node_whose_upstream_blob_is_gone_fails_naming_it(
    alice: Api, workspace: str, stack: LocalStack, origin: Recorder
):
    # Given a run whose big output was stored and whose next node failed once (no retries)
    key = uuid.uuid4().hex
    doc = big_flow(origin.origin, MIB)
    doc["nodes"].insert(
        2,
        {
            "id": "flaky",
            "type": "http",
            "config": {"url": f"{stack.url}/demo/flaky?key={key}&fail=1"},
            "retry": {"max_attempts": 0},
        },
    )
    doc["edges"] = [edge("start", "fetch"), edge("fetch", "flaky"), edge("flaky", "measure"), edge("measure", "result")]
    alice.ok(
        "PUT",
        f"/v1/workspaces/{workspace}/allowed-hosts",
        {"allowed_hosts": [origin.hostport, stack.url.split("://", 1)[1]]},
    )
    failed = run(alice, workspace, publish(alice, workspace, doc))
    assert failed["status"] == "FAILED" and failed["error"]["node"] == "flaky", failed
    # When the stored output is lost and the run is redriven (fetch is a memo hit and does not run again)
    (blob_dir(stack) / stored(stack, failed["id"])["fetch"][1]["key"]).unlink()
    assert alice.call("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/redrive")[0] == 202
    again = alice.wait_run(workspace, failed["id"])
    # Then the next node fails before calling out, recorded with a message naming the lost output
    assert again["status"] == "FAILED" and again["error"]["node"] == "flaky", again
    assert stack.server.demo_hits[f"flaky:{key}"] == 1  # only the first run's call
    flaky = alice.nodes(workspace, failed["id"])["flaky"]
    assert flaky["status"] == "FAILED", flaky
    message = flaky["error"]["message"]
    assert "the output of 'fetch' cannot be read" in message and "missing from the blob store" in message


def test_the_database_keeps_pointers_inside_their_own_workspace(
    alice: Api, workspace: str, stack: LocalStack, origin: Recorder
):
    import psycopg

    # Given a finished run with a stored pointer
    finished = run(alice, workspace, publish(alice, workspace, big_flow(origin.origin, MIB)))
    ref = stored(stack, finished["id"])["fetch"][1]
    other = dict(ref, key=ref["key"].replace(workspace, "00000000-0000-4000-8000-000000000000"))
    update = "UPDATE node_runs SET output = %s, output_ref = %s WHERE run_id = %s AND node_id = 'fetch'"
    for output, pointer in [
        (None, other),  # When a pointer names another workspace's prefix
        ('{"also": "a value"}', ref),  # or sits next to a value
        (None, dict(ref, sha256="not-a-digest")),  # or is not a pointer
    ]:
        # Then the database refuses it
        with psql_admin(stack.platform) as conn, pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(update, (output, json.dumps(pointer), finished["id"]))
