"""One life of `nexod up` for the restart test: `park` starts a run that waits on a callback node and stops the
stack; `complete` starts the stack again on the same state folder and completes that node.

    python -m tests.support.parked_restart STATE_DIR park
    python -m tests.support.parked_restart STATE_DIR complete WS RUN

Prints one JSON line with what it saw. The callback kind is the test-only `hold` (tests/support/hold_kind.py).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from nexod.local.boot import boot
from nexod.services import flows, runs, workspaces
from nexod.services.context import Principal
from tests.support.hold_kind import callback_kinds
from tests.unit.flows import edge, node

ALICE = Principal("alice", "alice@example.com", "Alice")
FLOW = {
    "nodes": [node("start", "input"), node("hold", "hold"), node("end", "output", value="{{ nodes.hold.output }}")],
    "edges": [edge("start", "hold"), edge("hold", "end")],
}


def _parked(services: Any, ws: str, run_id: str, attempt: int, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.store.tx(ws) as uow:
            found = uow.parked.get(run_id, "hold")
        if found is not None and found.status == "PARKED" and found.attempt >= attempt:
            return found
        time.sleep(0.05)
    raise SystemExit(f"run {run_id} never parked its attempt {attempt}")


def main(state: Path, step: str, *ids: str) -> dict[str, Any]:
    with callback_kinds():
        stack = boot(state, port=0, with_seed=False)
        try:
            services = stack.platform.services
            if step == "park":
                ws = str(workspaces.create_workspace(services, ALICE, "restart")["id"])
                flow = flows.create(services, ALICE, ws, "restart", "", FLOW)
                flows.publish(services, ALICE, ws, str(flow["id"]), "v1")
                run_id = str(runs.start(services, ALICE.actor(), ws, str(flow["id"]), {}, None)["id"])
                parked = _parked(services, ws, run_id, 1)
                return {"ws": ws, "run": run_id, "token": parked.task_token}
            ws, run_id = ids
            status = runs.get(services, ALICE, ws, run_id)["status"]
            parked = _parked(services, ws, run_id, 2)  # the resumed execution's Task parked again
            done = services.callbacks.complete(ws, run_id, "hold", output={"decided": "after restart"})
            deadline = time.monotonic() + 30
            while (run := runs.get(services, ALICE, ws, run_id))["status"] == "RUNNING" and time.monotonic() < deadline:
                time.sleep(0.05)
            return {
                "status_at_start": status,
                "token": parked.task_token,
                "delivered": done.delivered,
                "status": run["status"],
                "output": run["output"],
            }
        finally:
            stack.close()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2], *sys.argv[3:]), default=str))
