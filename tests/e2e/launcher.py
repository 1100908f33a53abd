"""Start and stop `nexod up` as a real subprocess, the way a developer runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nexod.local.model import free_port

ROOT = Path(__file__).resolve().parents[2]
NEXOD = [sys.executable, "-m", "nexod.cli"]


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    url: str
    state_dir: Path
    log: Path

    def token(self, user: str) -> str:
        out = subprocess.run(  # the documented CLI, not a library shortcut
            [*NEXOD, "dev-token", "--user", user, "--url", self.url, "--state-dir", str(self.state_dir)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        return out.stdout.decode().strip()

    def children(self, pattern: str) -> list[int]:
        """Pids of this `nexod up`'s child processes whose command line matches `pattern`."""
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-f", pattern], capture_output=True, check=False)
        return [int(pid) for pid in found.stdout.split()]

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def launch(
    state_dir: Path,
    port: int | None = None,
    model: bool = True,
    timeout: float = 180,
    model_port: int | None = None,
) -> Process:
    port = port or free_port()
    log = state_dir / f"up-{port}.log"
    state_dir.mkdir(parents=True, exist_ok=True)
    args = [
        *NEXOD,
        "up",
        "--port",
        str(port),
        "--state-dir",
        str(state_dir),
        "--static-dir",
        str(ROOT / "frontend" / "dist"),
        "--model-port",
        str(model_port or 0),
    ]
    if not model:
        args.append("--no-model")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    with log.open("ab") as sink:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nexod up exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/v1/openapi.json", timeout=2) as resp:
                json.loads(resp.read())
                if "Nexod is running" in log.read_text():
                    return Process(proc, url, state_dir, log)
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"nexod up did not become ready in {timeout}s:\n{log.read_text()[-3000:]}")
