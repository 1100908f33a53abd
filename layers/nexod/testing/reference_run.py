"""Run the reference 10-node flow on the local stack and report what Step Functions would bill.

    python -m nexod.testing.reference_run [--runs 3] [--flow statemachines/examples/reference_10_node.json]

Prints JSON: state transitions per run (counted from the execution history: every state entered, which
is what Standard workflows bill), Lambda invocations, and node durations. LLM nodes are answered by the
deterministic stub server: tokens are priced separately and excluded here. Used by `make cost`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_FLOW = ROOT / "statemachines" / "examples" / "reference_10_node.json"


def measure(flow_file: Path = DEFAULT_FLOW, runs: int = 3) -> dict[str, Any]:
    from ..local.boot import boot
    from ..services import flows, workspaces
    from ..services import runs as run_service
    from ..services.context import Principal
    from ..settings import Settings
    from .stub_llm import OpenAIStub

    principal = Principal("local|cost-model", "cost@example.com", "Cost model")
    with tempfile.TemporaryDirectory(prefix="nexod-reference-") as state, OpenAIStub() as stub:
        stack = boot(Path(state), port=0, settings=Settings(local_model_base_url=stub.base_url), with_seed=False)
        try:
            services = stack.platform.services
            ws = str(workspaces.create_workspace(services, principal, "cost model")["id"])
            workspaces.set_allowed_hosts(services, principal, ws, [stack.url.split("://", 1)[1]])
            document = json.loads(flow_file.read_text().replace("{{BASE_URL}}", stack.url))
            flow = flows.create(services, principal, ws, document["name"], "", document["definition"])
            flows.publish(services, principal, ws, str(flow["id"]), "reference")
            orchestrator = stack.platform.orchestrator
            example = next(n for n in document["definition"]["nodes"] if n["type"] == "input")["config"]["example"]
            samples: list[dict[str, Any]] = []
            for _ in range(runs):
                started = run_service.start(services, principal.actor(), ws, str(flow["id"]), example, None)
                with services.store.tx(ws) as uow:
                    run = uow.runs.get(str(started["id"]))
                assert run is not None
                arn = str(run.execution_arn)
                status = orchestrator.wait(arn, timeout=120)
                events = orchestrator.client.get_execution_history(executionArn=arn, maxResults=1000)["events"]
                nodes = run_service.nodes(services, principal, ws, str(started["id"]))["items"]
                samples.append(
                    {
                        "status": status,
                        "transitions": sum(1 for e in events if e["type"].endswith("StateEntered")),
                        "lambda_invocations": sum(1 for e in events if e["type"] == "TaskScheduled"),
                        "node_durations_ms": [n["duration_ms"] for n in nodes if n.get("duration_ms") is not None],
                        "nodes_run": sum(1 for n in nodes if n["status"] == "SUCCEEDED"),
                        "nodes_skipped": sum(1 for n in nodes if n["status"] == "SKIPPED"),
                    }
                )
        finally:
            stack.close()
    if any(s["status"] != "SUCCEEDED" for s in samples):
        raise RuntimeError(f"reference run did not succeed: {samples}")
    # The first run pays one-time imports (litellm: seconds) that a Lambda pays once per container at
    # cold start, not per run: report a warm run, and say what the cold one measured.
    warm = samples[1:] or samples
    first = warm[-1]
    return {
        "flow": str(flow_file.relative_to(ROOT) if flow_file.is_relative_to(ROOT) else flow_file),
        "nodes": len(document["definition"]["nodes"]),
        "runs": runs,
        "transitions": first["transitions"],
        "lambda_invocations": first["lambda_invocations"],
        "nodes_run": first["nodes_run"],
        "nodes_skipped": first["nodes_skipped"],
        "node_durations_ms": first["node_durations_ms"],
        "median_node_duration_ms": statistics.median([d for s in warm for d in s["node_durations_ms"]]),
        "cold_run_node_durations_ms": samples[0]["node_durations_ms"],
        "llm_latency_note": "LLM nodes answered by a local stub; provider latency is not included",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--flow", type=Path, default=DEFAULT_FLOW)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # Stdout is this tool's answer (`make cost` parses it): the node runner's EMF documents stay out of it.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    print(json.dumps(measure(args.flow, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
