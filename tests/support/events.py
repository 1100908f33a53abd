"""EventBridge events as AWS delivers them, for the handlers that receive them."""

from __future__ import annotations

import json
import uuid
from typing import Any

STATUS_CHANGE = "Step Functions Execution Status Change"


def execution_status_change(status: str, execution_arn: str, run: dict[str, str] | None) -> dict[str, Any]:
    """A "Step Functions Execution Status Change" event, shaped like AWS's sample event.

    `run` is the execution input's `run` ({"id", "ws"}), as the API starts every execution."""
    parts = execution_arn.split(":")
    machine = ":".join([*parts[:5], "stateMachine", parts[6]]) if len(parts) >= 8 else execution_arn
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-26T12:00:00Z",
        "region": "us-east-1",
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": machine,
            "name": parts[-1],
            "status": status,
            "startDate": 1_764_158_400_000,
            "stopDate": None if status == "RUNNING" else 1_764_158_460_000,
            "input": json.dumps({"run": run, "s": {}}) if run is not None else "{}",
            "inputDetails": {"included": True},
            "output": None,
            "outputDetails": None,
            "error": None,
            "cause": None,
        },
    }
