"""The agent runner's image, its venv and pyproject.toml's `agents` extra install the same pins, and crewai is
imported nowhere but in the runner."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "ecs_tasks" / "agent_runner"


def _requirements() -> list[str]:
    lines = (RUNNER / "requirements.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_the_runner_requirements_are_the_agents_extra() -> None:
    # Given pyproject.toml's agents extra and the runner's requirements file
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["agents"]
    required = _requirements()
    # Then they list the same pins, and crewai and litellm are among them
    assert sorted(extra) == sorted(required)
    names = {re.split(r"[=<>~!]", r, maxsplit=1)[0] for r in required}
    assert {"crewai", "litellm"} <= names
    assert all("==" in r for r in required), "every runner dependency is pinned"


def test_the_image_installs_those_requirements_and_runs_the_runner_as_a_non_root_user() -> None:
    dockerfile = (RUNNER / "Dockerfile").read_text()
    assert "COPY ecs_tasks/agent_runner/requirements.txt" in dockerfile
    assert "pip install --only-binary :all: -r /tmp/requirements.txt" in dockerfile
    assert re.search(r"^FROM .* AS build$", dockerfile, re.MULTILINE) and re.search(
        r"^FROM .* AS runtime$", dockerfile, re.MULTILINE
    )
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "HOME=/tmp/home" in dockerfile and "CREWAI_DISABLE_TELEMETRY=true" in dockerfile
    assert "python -m agent_runner" in dockerfile


def test_crewai_is_imported_only_by_the_runner() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for top in ("layers", "functions", "cdk")
        for path in (ROOT / top).rglob("*.py")
        if re.search(r"^\s*(import crewai|from crewai)", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []
