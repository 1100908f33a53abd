"""A deterministic OpenAI-compatible chat server (stdlib only) for tests and cost measurements.

Never a default: only tests and `nexod.testing.reference_run` start it, explicitly.

Behaviour is driven by the last user message:
  contains "FAIL500" -> HTTP 500;  "FAIL401" -> HTTP 401 quoting the key it received, as some providers
  do ("bad key: <key>");  "FAIL429" -> HTTP 429 with `Retry-After: 7`;  "FAIL400" -> HTTP 400;
  a model name containing "fail500" -> HTTP 500 (for fallback models);
  "REPAIRABLE" -> an answer that is not JSON, unless the message also mentions "JSON Schema" (a repair
  prompt), then {"answer": "fixed"};
  otherwise a completion.
  request has tools  -> the first tool is called with {"query": <prompt>} (finish_reason tool_calls)
  response_format json_object -> {"echo": <prompt>, "words": <n>}
  otherwise -> "echo: <prompt>"
Usage counts words (prompt) and words of the answer, so tests can assert token accounting.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIStub:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        # The Authorization header of each POST, in order (tests check which key reached the server).
        self.authorizations: list[str | None] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append(request)
                stub.authorizations.append(self.headers.get("Authorization"))
                prompt = next(
                    (m["content"] for m in reversed(request.get("messages", [])) if m.get("role") == "user"),
                    "",
                )
                if "fail500" in str(request.get("model", "")) or "FAIL500" in prompt:
                    self._reply(500, {"error": {"message": "stub exploded", "type": "server_error"}})
                    return
                if "FAIL429" in prompt:
                    error = {"message": "slow down", "type": "rate_limit_exceeded"}
                    self._reply(429, {"error": error}, {"Retry-After": "7"})
                    return
                if "FAIL400" in prompt:
                    self._reply(400, {"error": {"message": "bad request", "type": "invalid_request_error"}})
                    return
                if "FAIL401" in prompt:
                    self._reply(
                        401,
                        {
                            "error": {
                                "message": "bad key: "
                                + str(self.headers.get("Authorization") or "").removeprefix("Bearer "),
                                "type": "invalid_request_error",
                                "code": "invalid_api_key",
                            }
                        },
                    )
                    return
                message: dict[str, Any] = {"role": "assistant"}
                finish = "stop"
                if request.get("tools"):
                    tool = request["tools"][0]["function"]["name"]
                    message["content"] = None
                    message["tool_calls"] = [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": tool, "arguments": json.dumps({"query": prompt})},
                        }
                    ]
                    finish = "tool_calls"
                    answer = ""
                elif "REPAIRABLE" in prompt:
                    answer = json.dumps({"answer": "fixed"}) if "JSON Schema" in prompt else "sure! here it is"
                    message["content"] = answer
                elif (request.get("response_format") or {}).get("type") == "json_object":
                    answer = json.dumps({"echo": prompt, "words": len(prompt.split())})
                    message["content"] = answer
                else:
                    answer = f"echo: {prompt}"
                    message["content"] = answer
                words_in = sum(len(str(m.get("content") or "").split()) for m in request.get("messages", []))
                self._reply(
                    200,
                    {
                        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "stub-model"),
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": {
                            "prompt_tokens": words_in,
                            "completion_tokens": len(answer.split()),
                            "total_tokens": words_in + len(answer.split()),
                        },
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> OpenAIStub:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
