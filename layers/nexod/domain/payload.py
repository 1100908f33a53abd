"""The node-runner payload: what every Task the compiler emits sends, and what the runner parses.

The compiler writes it as ASL `Parameters.Payload` (JSONPath references resolved by Step Functions);
the runner, the Lambda handler and local mode read it through `NodeRunnerPayload`, so the two sides
cannot drift apart key by key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InvalidInput

# `until`: a wait-shaped node's first Task, which answers when its Wait state ends (recorded once).
# `expire`: records the outcome of a callback node whose timeout is an outcome (an approval's on_timeout).
RunnerOp = Literal["node", "until", "finish", "fail", "expire"]

# Every payload names the execution from Step Functions' context object, which the execution's input
# cannot forge: the runner checks that this execution's state machine belongs to the run's flow before
# trusting `run.ws` (the workspace whose secrets a node may read).
EXECUTION_PATH = "$$.Execution.Id"
# The token of a callback Task (lambda:invoke.waitForTaskToken), which its completer sends back.
TASK_TOKEN_PATH = "$$.Task.Token"  # noqa: S105 - a JSONPath, not a secret


class RunRef(BaseModel):
    """The execution's `$.run`: set by the API when it starts the execution."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1)
    ws: str = Field(..., min_length=1)
    # The flow version this execution runs, when the API recorded it (executions started before it did
    # not): a hint that spares the node runner a read before its claim, which checks it.
    flow: str | None = Field(None, min_length=1)
    # 1, 2, ... a published version; -1, -2, ... a test snapshot of the draft (issue 13).
    version: int | None = Field(None, ge=-(2**31), le=2**31 - 1)

    @field_validator("version")
    @classmethod
    def _not_zero(cls, value: int | None) -> int | None:
        if value == 0:
            raise ValueError("a flow has no version 0")
        return value


class NodeRunnerPayload(BaseModel):
    """One invocation of a node runner: run one node, or record the run's end (`finish`) or failure (`fail`)."""

    # Step Functions adds nothing, so an unknown key is a compiler/runner mismatch worth failing on.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    run: RunRef
    execution: str | None = Field(None, alias="exec", description="$$.Execution.Id: the execution the runner binds to")
    op: RunnerOp = "node"
    node: str | None = None
    iteration: int = Field(0, ge=0, description="The Map iteration a node runs in; 0 outside any Map")
    finish: bool = Field(False, description="The flow's last node also records the run's end")
    task_token: str | None = Field(None, description="$$.Task.Token when the kind's ASL shape is `callback`")
    error: dict[str, Any] | None = Field(None, description="The caught error, for op `fail`")

    @classmethod
    def parse_event(cls, event: dict[str, Any] | NodeRunnerPayload) -> NodeRunnerPayload:
        """The payload of a Lambda event; `InvalidInput` naming the first problem otherwise."""
        if isinstance(event, NodeRunnerPayload):
            return event
        try:
            payload = cls.model_validate(event)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"node runner event: {where}: {first['msg']}") from None
        if payload.op in ("node", "until", "expire") and not payload.node:
            raise InvalidInput(f"node runner event: op '{payload.op}' names no node")
        if payload.task_token is not None and (payload.op != "node" or payload.finish):
            raise InvalidInput("node runner event: a task token belongs to a callback node's Task only")
        return payload

    # -- what the compiler emits: `Parameters.Payload` of a Task ----------------------------------------
    @staticmethod
    def for_node(node_id: str, *, finish: bool = False) -> dict[str, Any]:
        """The Payload of a node's Task (`finish` when it also records the run's end)."""
        return {
            "run.$": "$.run",
            "exec.$": EXECUTION_PATH,
            "node": node_id,
            **({"finish": True} if finish else {}),
        }

    @staticmethod
    def for_until(node_id: str) -> dict[str, Any]:
        """The Payload of a wait-shaped node's first Task: when does its wait end."""
        return {"run.$": "$.run", "exec.$": EXECUTION_PATH, "op": "until", "node": node_id}

    @staticmethod
    def for_callback(node_id: str) -> dict[str, Any]:
        """The Payload of a callback node's Task: the runner parks the token and returns."""
        return {"run.$": "$.run", "exec.$": EXECUTION_PATH, "node": node_id, "task_token.$": TASK_TOKEN_PATH}

    @staticmethod
    def for_expiry(node_id: str) -> dict[str, Any]:
        """The Payload of the Task that records a timed-out callback node's outcome (`timeout_outcome_field`)."""
        return {"run.$": "$.run", "exec.$": EXECUTION_PATH, "op": "expire", "node": node_id}

    @staticmethod
    def for_bookkeeping(op: Literal["finish", "fail"], error_path: str | None = None) -> dict[str, Any]:
        """The Payload of the run's finish or fail Task."""
        return {
            "run.$": "$.run",
            "exec.$": EXECUTION_PATH,
            "op": op,
            **({"error.$": error_path} if error_path else {}),
        }
