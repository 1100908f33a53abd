"""Core node-runner Lambda: Step Functions invokes it for the Tasks of `core`-runtime nodes and the run's
finish/fail. It ships without LiteLLM; `llm_runner.py` is the same code for `llm` nodes, with the LLM layer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from nexod.adapters import powertools as telemetry
from nexod.domain.nodes import Runtime
from nexod.observability import LogContext, install_log_context, log_context, metered
from nexod.ports import Store
from nexod.runtime.errors import NodeFailedError
from nexod.runtime.runner import NodeRunner

# Both runner functions report node runs under this `service` dimension (their runtime is metadata), so
# that a dashboard reads one NodeDuration whichever function ran the node.
METRICS_SERVICE = "nexod-node-runner"
logger = Logger(service="nexod-node-runner")
tracer = telemetry.tracer("nexod-node-runner")


class RunnerFunction:
    """One node-runner function: the runner of one runtime, built from the settings on first use unless a
    composition root (local mode) configured its own. It binds each event's ids to the log context, and
    reports each node run (DESIGN §10): NodeDuration and the model usage as EMF, the ids as X-Ray annotations."""

    def __init__(self, runtime: Runtime, log: Logger, trace: Tracer) -> None:
        self.runtime = runtime
        self.logger = log
        self.tracer = trace
        self._runner: NodeRunner | None = None
        self._lock = threading.Lock()
        install_log_context(log.registered_handler)

    def configure(self, runner: NodeRunner) -> None:
        if runner.tools.runtime is not self.runtime:
            raise ValueError(f"the {self.runtime.value} function was given a {runner.tools.runtime.value} runner")
        self._runner = runner

    def runner(self) -> NodeRunner:
        if self._runner is None:
            with self._lock:
                if self._runner is None:
                    from nexod.settings import Settings
                    from nexod.wiring import build_node_runner

                    self._runner = build_node_runner(Settings(), runtime=self.runtime)
        return self._runner

    def run_event(self, event: dict[str, Any], require_execution: bool = False) -> dict[str, Any]:
        """The handler body without Lambda's context object (the local orchestrator calls this).

        Local mode also replays versions compiled before payloads carried `exec`; in AWS it is required."""
        run = event.get("run") or {}
        op = str(event.get("op") or "node")
        node_id = str(event.get("node") or "") if op in ("node", "until") else ""
        workspace_id, run_id = str(run.get("ws") or ""), str(run.get("id") or "")
        with log_context(workspace_id=workspace_id, run_id=run_id, node_id=node_id) as ids:
            telemetry.annotate(self.tracer, ids, op=op, runtime=self.runtime.value)
            active = self.runner()
            bound = bind_execution(active.store, event, required=require_execution)
            if not node_id:
                return active.handle(event)
            return self._node_run(active, event, ids, bound)

    def lambda_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """The Lambda handler's body (inside its Tracer and Logger decorators)."""
        telemetry.lambda_logging(self.logger)
        return self.run_event(event, require_execution=True)

    def _node_run(
        self, active: NodeRunner, event: dict[str, Any], ids: LogContext, bound: tuple[str, int] | None
    ) -> dict[str, Any]:
        started, outcome = time.perf_counter(), "succeeded"
        with metered() as usage:
            try:
                result = active.handle(event)
                if result.get("memo"):
                    outcome = "memo"
                return result
            except Exception as exc:
                outcome = type(exc).__name__  # NodeFailedError, NodeRetryableError, RunNotActiveError...
                raise
            finally:
                try:
                    kind = node_kind(active, bound, ids.node_id or "")
                    telemetry.annotate(self.tracer, ids, node_kind=kind)
                    telemetry.emit_node_run(
                        service=METRICS_SERVICE,
                        context=ids,
                        duration_ms=(time.perf_counter() - started) * 1000,
                        usage=usage,
                        outcome=outcome,
                        node_kind=kind,
                        runtime=self.runtime.value,
                    )
                except Exception:  # telemetry never fails a node
                    self.logger.exception("could not report the node run's metrics")


def node_kind(active: NodeRunner, bound: tuple[str, int] | None, node_id: str) -> str | None:
    """The node's kind from the flow version the runner has just validated and cached (no extra query)."""

    def not_cached() -> Any:
        raise LookupError("flow version not cached")

    if bound is None:
        return None
    try:
        return active.flows.get(bound[0], bound[1], not_cached).node(node_id).type
    except (LookupError, KeyError):
        return None


CORE = RunnerFunction(Runtime.CORE, logger, tracer)
configure = CORE.configure
runner = CORE.runner
run_event = CORE.run_event


# -- which workspace this invocation acts for --------------------------------------------------------
# `run.ws` comes from the execution's input, which anything allowed to StartExecution writes. The
# state machine an execution belongs to is not: only the API creates them, named
# `<prefix>-<workspace[:8]>-<flow id>`, and Step Functions itself puts the execution ARN (`exec`,
# `$$.Execution.Id`) in the payload. A run is trusted for this invocation only if the run row, read
# under row-level security for `run.ws`, belongs to the flow that state machine runs. Everything the
# node does for a workspace (its rows, and the secrets session tag) then names a verified workspace.

_BOUND: OrderedDict[tuple[str, str, str], tuple[str, int]] = OrderedDict()
_BOUND_LOCK = threading.Lock()
_BOUND_SIZE = 1024
# Bindings being read: the 48 branches of a fan-out reach a new execution's first Tasks together, and one
# of them reads the run while the others wait for its answer (one transaction instead of 48).
_BINDING: dict[tuple[str, str, str], threading.Event] = {}
_BINDING_WAIT_SECONDS = 30.0


def state_machine_name(execution_arn: str) -> str:
    """`arn:<p>:states:<region>:<account>:execution:<state machine>:<execution>` -> the state machine."""
    parts = execution_arn.split(":")
    if len(parts) < 8 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "execution":
        raise NodeFailedError("the node runner was not invoked by a Step Functions execution")
    return parts[6]


def bind_execution(store: Store, event: dict[str, Any], required: bool) -> tuple[str, int] | None:
    """Refuse an event whose run is not the run of the execution that sent it (see above).

    Returns the run's (flow id, version) once bound; None for a legacy event without `exec`."""
    run = event.get("run") or {}
    workspace_id, run_id = str(run.get("ws") or ""), str(run.get("id") or "")
    execution = event.get("exec")
    if not execution:
        if required:
            # Versions compiled before the payload carried `exec`: republishing the flow fixes them.
            raise NodeFailedError("node runner event lacks exec ($$.Execution.Id): publish the flow again")
        return None
    key = (str(execution), workspace_id, run_id)
    while True:
        with _BOUND_LOCK:
            if key in _BOUND:
                _BOUND.move_to_end(key)
                return _BOUND[key]
            reading = _BINDING.get(key)
            if reading is None:
                _BINDING[key] = mine = threading.Event()
                break
        # Another invocation is reading this binding: take its answer, or (refused, failed) read it ourselves.
        reading.wait(_BINDING_WAIT_SECONDS)
    try:
        return _bind(store, key)
    finally:
        with _BOUND_LOCK:
            del _BINDING[key]
        mine.set()


def _bind(store: Store, key: tuple[str, str, str]) -> tuple[str, int]:
    execution, workspace_id, run_id = key
    machine = state_machine_name(str(execution))
    refused = NodeFailedError(f"execution {execution} does not run run {run_id}: refused")
    try:
        uuid.UUID(workspace_id)
        uuid.UUID(run_id)
    except ValueError:
        raise refused from None
    with store.tx(workspace_id) as uow:
        run = uow.runs.get(run_id)
    # The same answer whether the run exists elsewhere or not at all: nothing to learn by probing.
    if run is None or not machine.endswith(f"-{workspace_id[:8]}-{run.flow_id}"):
        logger.warning("refused a node event bound to another run", extra={"execution": execution, "run": run_id})
        raise refused
    bound = (run.flow_id, run.version)
    with _BOUND_LOCK:
        _BOUND[key] = bound
        if len(_BOUND) > _BOUND_SIZE:
            _BOUND.popitem(last=False)
    return bound


@tracer.capture_lambda_handler(capture_response=False)  # a response is run data: never in a trace
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return CORE.lambda_event(event)
