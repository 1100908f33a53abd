"""`nexod up` under load and under hostile framing, over real sockets to 127.0.0.1."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.support.api import Api
from tests.support.load import start_runs

from .launcher import Process

pytestmark = pytest.mark.e2e


def test_100_run_starts_50_at_a_time_no_reset_every_run_finishes(local_process: Process):
    # Given a fresh workspace whose flow calls the local demo endpoint (so runs load the server both ways)
    token = local_process.token("alice")
    api = Api(local_process.url, token)
    ws = api.ok("POST", "/v1/workspaces", {"name": "load"})["id"]
    api.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": [urlsplit(local_process.url).netloc]})
    definition = {
        "nodes": [
            {"id": "start", "type": "input", "config": {}},
            {"id": "fetch", "type": "http", "config": {"url": f"{local_process.url}/demo/weather?city=Oslo"}},
            {"id": "result", "type": "output", "config": {}},
        ],
        "edges": [{"from": "start", "to": "fetch"}, {"from": "fetch", "to": "result"}],
    }
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "load", "definition": definition})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {"description": "load"})

    # When 100 runs are started, 50 at a time, each on a new connection
    outcomes = start_runs(local_process.url, token, ws, flow["id"], runs=100, concurrency=50)

    # Then no connection was reset, all were accepted, and every run finishes
    assert [o.error for o in outcomes if o.error] == []
    assert [o.status for o in outcomes] == [202] * 100
    assert [api.wait_run(ws, o.body["id"], timeout=180)["status"] for o in outcomes] == ["SUCCEEDED"] * 100


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
        (b"POST /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400, "bad_request"),
        (b"POST /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n", 413, "payload_too_large"),
        (b"GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", 431, "headers_too_large"),
    ],
)
def test_the_servers_own_refusals_carry_the_error_envelope(local_process: Process, raw: bytes, status: int, code: str):
    # Given `nexod up`, When a request it refuses before the API is sent
    with socket.create_connection(("127.0.0.1", int(urlsplit(local_process.url).port or 0)), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk

    # Then the answer is the JSON envelope with the right status
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode()
    assert json.loads(body)["error"]["code"] == code
