"""Local mode's launcher: the agent runner as a subprocess of the agents venv, with a scrubbed environment.

The child gets the broker URL and its capability token and nothing of the parent's secrets: no database
URL, no provider key, no AWS credentials, no NEXOD_* settings. It inherits only an allow-list of harmless
variables (PATH, locale, TZ) plus CrewAI's and LiteLLM's telemetry switches and a private HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..ports.agents import Launch

# Variables a runner may inherit: nothing that can carry a secret.
INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")
TELEMETRY_OFF = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
REPO = Path(__file__).resolve().parents[3]


def agents_python(repo: Path = REPO) -> str:
    """The agents venv's python (`make agents-venv`), else this interpreter (crewai must be importable)."""
    candidate = Path(os.environ.get("NEXOD_AGENTS_PYTHON") or repo / ".venv-agents" / "bin" / "python")
    return str(candidate) if candidate.exists() else sys.executable


def runner_env(launch: Launch, parent: Mapping[str, str], home: str, code_dir: Path) -> dict[str, str]:
    env = {name: parent[name] for name in INHERITED if name in parent}
    env.update(TELEMETRY_OFF)
    env.update(
        {
            "HOME": home,
            "TMPDIR": home,
            "PYTHONPATH": str(code_dir),
            "NEXOD_BROKER_URL": launch.broker_url,
            "NEXOD_BROKER_TOKEN": launch.token,
        }
    )
    return env


class SubprocessLauncher:
    """`python -m agent_runner` in a fresh process group, exactly as local mode starts it."""

    def __init__(self, python: str | None = None, code_dir: Path | None = None, log_dir: Path | None = None) -> None:
        self.python = python or agents_python()
        self.code_dir = code_dir or REPO / "ecs_tasks"
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.homes: dict[str, str] = {}  # each runner's private HOME (and TMPDIR)

    def launch(self, launch: Launch) -> str:
        home = tempfile.mkdtemp(prefix="nexod-agent-")
        env = runner_env(launch, os.environ, home, self.code_dir)
        folder = Path(self.log_dir or home)
        folder.mkdir(parents=True, exist_ok=True)
        scope = launch.scope
        name = f"runner-{scope.node_id}-{scope.run_id[:8]}-{scope.iteration}-{scope.attempt}.log"
        log = open(folder / name, "ab")  # noqa: SIM115
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
            [self.python, "-m", "agent_runner"],
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[str(process.pid)] = process
        self.homes[str(process.pid)] = home
        return str(process.pid)
