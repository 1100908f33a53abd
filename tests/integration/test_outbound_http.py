"""The outbound guard over real sockets on this machine: allow-lists, redirects, timeouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nexod.adapters.outbound_http import GuardedHttp
from nexod.runtime.errors import BlockedDestinationError, NodeRetryableError


class _Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        _Handler.hits.append(self.path)
        if self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/hop":
            self.send_response(307)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(2)
            self.send_response(200)
            self.end_headers()
        else:
            body = b'{"hello": "world"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def request(url: str, allow: list[str], **kwargs):
    args = {
        "headers": {},
        "body": None,
        "timeout": 5.0,
        "follow_redirects": True,
        "max_redirects": 3,
        **kwargs,
    }
    return GuardedHttp().request("GET", url, allow_hosts=allow, **args)


def test_loopback_is_refused_unless_allow_listed(target: str):
    with pytest.raises(BlockedDestinationError):
        request(f"http://{target}/json", [])
    response = request(f"http://{target}/json", [target])
    assert (response.status, response.body) == (200, {"hello": "world"})


def test_redirects_are_followed_and_each_hop_is_checked(target: str):
    assert request(f"http://{target}/hop", [target]).url.endswith("/json")
    # An allowed host redirecting to the metadata endpoint is stopped at the hop
    with pytest.raises(BlockedDestinationError, match=r"169\.254\.169\.254"):
        request(f"http://{target}/to-metadata", [target])


def test_timeouts_are_retryable(target: str):
    with pytest.raises(NodeRetryableError, match="timed out"):
        request(f"http://{target}/slow", [target], timeout=0.5)
