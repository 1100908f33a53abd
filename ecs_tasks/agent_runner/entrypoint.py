"""Container entry point of the agent runner: hand the ECS task's environment to the runner in `nexod`.

The launcher (a later issue) starts this task with NEXOD_TASK_TOKEN, NEXOD_RUN_ID, NEXOD_WORKSPACE_ID and
NEXOD_NODE_ID in the container overrides; the runner itself lives in the `nexod` package so that local
mode runs the very same code as a subprocess.
"""

from __future__ import annotations

import importlib
import sys

RUNNER_MODULES = ("nexod.runtime.agent_runner", "nexod.agents.runner")


def main() -> int:
    for name in RUNNER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        result: int = module.main()
        return result
    sys.stderr.write(f"nexod agent runner: none of {RUNNER_MODULES} is installed in this image\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
