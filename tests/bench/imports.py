"""Cold-import cost of the Lambda entry points (a proxy for cold start), against a named floor.

    python -m tests.bench.imports

Floor: importing the four libraries the API cannot avoid (Powertools' resolver, pydantic, psycopg,
boto3), measured the same way. Each figure is the median of 5 fresh interpreters (`-X importtime`).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

FLOOR = "import aws_lambda_powertools.event_handler, pydantic, psycopg, boto3"
TARGETS = {
    "api handler (functions.api.handler)": "import functions.api.handler",
    "core runner (functions.steps.node_runner)": "import functions.steps.node_runner",
    "LLM runner (functions.steps.llm_runner)": "import functions.steps.llm_runner",
}


def import_ms(statement: str) -> float:
    runs = []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True
        )
        total = sum(
            int(line.split("|")[1])
            for line in out.stderr.splitlines()
            if line.startswith("import time:")
            and line.split("|")[1].strip().isdigit()
            and not line.split("|")[2].startswith("  ")
        )
        runs.append(total / 1000)
    return statistics.median(runs)


def main() -> None:
    floor = import_ms(FLOOR)
    print("\nCold import (median of 5 interpreters)")
    print(f"  {'floor: powertools + pydantic + psycopg + boto3':48}{floor:>8.0f} ms   1.00x")
    for name, statement in TARGETS.items():
        ms = import_ms(statement)
        print(f"  {name:48}{ms:>8.0f} ms   {ms / floor:.2f}x")


if __name__ == "__main__":
    main()
