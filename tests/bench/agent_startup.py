"""The agent runner's start-up time: from starting the process to its first LLM call at the broker.

    python -m tests.bench.agent_startup

The runner is started exactly as local mode starts it (nexod.adapters.launcher_local, the agents venv) against
the real broker HTTP surface (functions.api.handler.broker_handler) served on loopback; the model stand-in
answers at once, so the figure is the runner's own cost (interpreter, crewai import, fetching the task, building
the crew). Aim: under 5 s (crewai's import alone is about 3 s). Median of 3 runs, then the whole task's time.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from functions.api import broker as broker_api
from functions.api.handler import broker_handler
from nexod.adapters.agent_tasks_memory import MemoryAgentTaskBoard
from nexod.adapters.launcher_local import SubprocessLauncher, agents_python
from nexod.local.asgi import apigw_v2_event
from nexod.ports import Completion
from nexod.ports.agents import TaskScope
from nexod.runtime.llm_gateway import Call
from nexod.services.broker import Broker, CapabilityTokens, start_agent_task

RUNS = 3


class InstantModel:
    def __init__(self) -> None:
        self.first_call = threading.Event()
        self.at = 0.0

    def complete(self, workspace_id: str, call: Call) -> Completion:
        if not self.first_call.is_set():
            self.at = time.monotonic()
            self.first_call.set()
        return Completion(text="Thought: I now can give a great answer\nFinal Answer: done", model=call.model)


def serve(handler: Any) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            event = apigw_v2_event(self.command, self.path, dict(self.headers.items()), body, "127.0.0.1")
            result = handler(event)
            data = str(result["body"]).encode()
            self.send_response(int(result["statusCode"]))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def once(index: int) -> tuple[float, float]:
    model = InstantModel()
    board = MemoryAgentTaskBoard()
    tokens = CapabilityTokens(b"bench-key-" * 4)
    broker = Broker(tokens, board, model)
    broker_api.bind(lambda: broker)
    server = serve(broker_handler)
    scope = TaskScope("ws-bench", f"run-{index}", "agent", 0, 1)
    task = {
        "agents": {"a": {"role": "Assistant", "goal": "Answer", "backstory": "Quick.", "model": "default"}},
        "tasks": [{"id": "t", "agent": "a", "description": "Say done.", "expected_output": "done"}],
        "heartbeat_seconds": 5,
    }
    with tempfile.TemporaryDirectory() as logs:
        started = time.monotonic()
        start_agent_task(
            board,
            tokens,
            SubprocessLauncher(log_dir=Path(logs)),
            f"http://127.0.0.1:{server.server_address[1]}",
            scope,
            task,
        )
        if not model.first_call.wait(120):
            raise SystemExit(
                "the runner made no LLM call in 120 s: " + "".join(p.read_text() for p in Path(logs).iterdir())
            )
        result = board.wait_result(scope, 120)
        finished = time.monotonic()
    server.shutdown()
    server.server_close()
    if result is None or result["status"] != "SUCCEEDED":
        raise SystemExit(f"the runner did not succeed: {result}")
    return model.at - started, finished - started


def main() -> None:
    print(f"agent runner start-up ({agents_python()}, {RUNS} runs)")
    samples = [once(i) for i in range(RUNS)]
    first = statistics.median(s[0] for s in samples)
    whole = statistics.median(s[1] for s in samples)
    verdict = "ok" if first < 5 else "over the 5 s aim"
    print(
        f"  process start -> first LLM call: median {first:.2f} s ({', '.join(f'{s[0]:.2f}' for s in samples)}) {verdict}"
    )
    print(f"  process start -> result reported: median {whole:.2f} s")


if __name__ == "__main__":
    main()
