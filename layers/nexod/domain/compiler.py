"""Compile a validated flow into Amazon States Language (JSONPath).

Shape of the state (kept tiny: node data lives in Postgres, never in the execution):
    {"run": {"id": <run id>, "ws": <workspace id>}, "s": {<node>: {"take": {<successor>: bool}}}}

`s` holds only the nodes whose outcome a later `Choice` must read. Series-parallel regions become
`Parallel`, the rest topological layers; a node reached only through conditional edges (or through
nodes that may be skipped) is guarded by a `Choice` that skips it when none of its inputs was taken.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .errors import FlowInvalid
from .flow import Node
from .graph import Par, Plan, Seq, Step, plan, plan_nodes
from .nodes import REGISTRY, AslShape, NodeKind, Runtime
from .payload import NodeRunnerPayload
from .validation import BRANCH_LITERALS, ValidFlow

# Each runtime's function, as a placeholder in the stored ASL; `substitute` fills in the ARNs at publish.
# `${NodeRunnerArn}` (the core runner) is the placeholder every Task used before kinds named a runtime.
NODE_RUNNER_ARN = "${NodeRunnerArn}"
LLM_RUNNER_ARN = "${LlmRunnerArn}"
AGENT_LAUNCHER_ARN = "${AgentLauncherArn}"
RUNNER_TARGETS: dict[Runtime, str] = {
    Runtime.CORE: NODE_RUNNER_ARN,
    Runtime.LLM: LLM_RUNNER_ARN,
    Runtime.FARGATE: AGENT_LAUNCHER_ARN,
}
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z]+(?:Runner|Launcher)Arn\}")
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# A callback Task: Step Functions invokes the runner with `$$.Task.Token` and then waits, at no cost, until
# SendTaskSuccess/SendTaskFailure with that token (or TimeoutSeconds/HeartbeatSeconds) ends the Task.
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
HEARTBEAT_ERROR = "States.HeartbeatTimeout"
FINISH = "finish-run"
RUN_FAILED = "run-failed"
FAILED = "failed"
RETRYABLE_ERROR = "NodeRetryableError"
FINISH_ERROR = "RunFinishError"
LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    # A function idle for weeks goes Inactive; the first invoke answers this while Lambda restores it.
    "Lambda.ResourceNotReadyException",
]


@dataclass
class CompiledFlow:
    asl: dict[str, Any]
    gated: set[str] = field(default_factory=set)
    carried: set[str] = field(default_factory=set)
    # The input node is recorded by the API when it creates the run (no state, no invocation).
    inline_entry: str | None = None
    # The last node, when it also records the run's end (saving a separate finish task).
    finisher: str | None = None

    @property
    def state_count(self) -> int:
        return _count_states(self.asl["States"])


def _count_states(states: dict[str, Any]) -> int:
    total = 0
    for st in states.values():
        total += 1
        for br in st.get("Branches", ()):
            total += _count_states(br["States"])
    return total


def gating(flow: ValidFlow) -> tuple[set[str], set[str]]:
    """(gated, carried): nodes that may be skipped, and nodes whose outcome a gate reads."""
    gated: set[str] = set()
    for n in flow.dag.topo_order():
        incoming = flow.edges_in[n]
        if incoming and all(
            e.condition is not None or e.source in gated or flow.node(e.source).on_error == "continue" for e in incoming
        ):
            gated.add(n)
    carried = {e.source for n in gated for e in flow.edges_in[n]}
    return gated, carried


class _Emitter:
    def __init__(self, flow: ValidFlow) -> None:
        self.flow = flow
        self.gated, self.carried = gating(flow)
        self.fork_names: dict[int, str] = {}
        self.finisher: str | None = None

    # -- naming ------------------------------------------------------------------------------------
    def name_forks(self, p: Plan) -> None:
        if isinstance(p, Par):
            self.fork_names[id(p)] = f"fork-{len(self.fork_names) + 1}"
        for child in p.items if isinstance(p, Seq) else p.branches if isinstance(p, Par) else ():
            self.name_forks(child)

    def start_of(self, p: Plan) -> str:
        if isinstance(p, Step):
            return f"gate-{p.node}" if p.node in self.gated else p.node
        if isinstance(p, Seq):
            return self.start_of(p.items[0])
        return self.fork_names[id(p)]

    # -- states ------------------------------------------------------------------------------------
    @staticmethod
    def _link(state: dict[str, Any], nxt: str | None) -> dict[str, Any]:
        if nxt is None:
            state["End"] = True
        else:
            state["Next"] = nxt
        return state

    def _dead_result(self, node_id: str) -> dict[str, Any]:
        return {"take": {e.target: False for e in self.flow.edges_out[node_id]}}

    def _retry(self, node: Node, callback: bool = False) -> list[dict[str, Any]]:
        retry: list[dict[str, Any]] = [
            {"ErrorEquals": LAMBDA_TRANSIENT, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}
        ]
        if node.id == self.finisher:
            # The node itself is memoised; only recording the run's end is retried.
            retry.append({"ErrorEquals": [FINISH_ERROR], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0})
        policy = node.retry or REGISTRY[node.type].default_retry
        if policy and policy.max_attempts > 0:
            rule: dict[str, Any] = {
                "ErrorEquals": [
                    RETRYABLE_ERROR,
                    *REGISTRY[node.type].retry_errors,
                    "States.Timeout",
                    # AWS also matches a missed heartbeat with States.Timeout; name it for interpreters that do not.
                    *([HEARTBEAT_ERROR] if callback and REGISTRY[node.type].heartbeat_seconds else []),
                ],
                "IntervalSeconds": policy.interval_seconds,
                "MaxAttempts": policy.max_attempts,
                "BackoffRate": policy.backoff_rate,
            }
            if policy.max_delay_seconds:
                rule["MaxDelaySeconds"] = policy.max_delay_seconds
            retry.append(rule)
        return retry

    def _task(
        self, node: Node, state_name: str, nxt: str | None, top: bool, states: dict[str, Any], callback: bool = False
    ) -> None:
        kind = REGISTRY[node.type]
        task: dict[str, Any] = {
            "Type": "Task",
            "Comment": f"{node.type} node" + (f": {node.name}" if node.name else ""),
            "Resource": LAMBDA_CALLBACK if callback else LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": RUNNER_TARGETS[kind.runtime],
                "Payload": (
                    NodeRunnerPayload.for_callback(node.id)
                    if callback
                    else NodeRunnerPayload.for_node(node.id, finish=node.id == self.finisher)
                ),
            },
            "TimeoutSeconds": self._timeout(node, kind),
            **({"HeartbeatSeconds": self._heartbeat(node, kind)} if callback and kind.heartbeat_seconds else {}),
            "Retry": self._retry(node, callback),
        }
        if node.id in self.carried:
            # A callback's result is what its completer sent with SendTaskSuccess: `{"take": ...}` only (the
            # node's output is in Postgres); an invoke's is the Lambda response, the runner's answer in Payload.
            task["ResultSelector"] = {"take.$": "$.take" if callback else "$.Payload.take"}
            task["ResultPath"] = f"$.s.{node.id}"
        else:
            task["ResultPath"] = None
        if node.on_error == "continue":
            failed = f"failed-{node.id}"
            task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": failed}]
            states[failed] = self._link(
                {
                    "Type": "Pass",
                    "Comment": f"'{node.id}' failed and its flow continues without it",
                    "Result": self._dead_result(node.id),
                    "ResultPath": f"$.s.{node.id}" if node.id in self.carried else None,
                },
                nxt,
            )
        elif top:
            task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RUN_FAILED}]
        wait_error = REGISTRY[node.type].wait_error
        if wait_error:
            task["Catch"] = [self._wait_loop(node, state_name, wait_error, states), *task.get("Catch", [])]
        if callback and kind.timeout_outcome_field:
            task["Catch"] = [self._expiry(node, task, nxt, states), *task.get("Catch", [])]
        states[state_name] = self._link(task, nxt)

    def _heartbeat(self, node: Node, kind: NodeKind) -> int | None:
        if kind.heartbeat_field:
            return int(getattr(self.flow.configs[node.id], kind.heartbeat_field))
        return kind.heartbeat_seconds

    def _timeout(self, node: Node, kind: NodeKind) -> int:
        if kind.timeout_outcome_field:  # the config says how long the wait may last (an approval's deadline)
            return int(getattr(self.flow.configs[node.id], kind.timeout_outcome_field))
        return node.timeout_seconds or kind.default_timeout_seconds

    def _expiry(self, node: Node, task: dict[str, Any], nxt: str | None, states: dict[str, Any]) -> dict[str, Any]:
        """A callback whose timeout is an outcome: catch States.Timeout into a Task that records it (the kind's
        expirer decides: a result, or a failure that the node's own Catch handles), then go on."""
        name = f"expire-{node.id}"
        expire: dict[str, Any] = {
            "Type": "Task",
            "Comment": f"'{node.id}' timed out: record what its kind does then",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": task["Parameters"]["FunctionName"],
                "Payload": NodeRunnerPayload.for_expiry(node.id),
            },
            "Retry": [{"ErrorEquals": LAMBDA_TRANSIENT, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}],
        }
        if "ResultSelector" in task:
            expire["ResultSelector"] = {"take.$": "$.Payload.take"}
        expire["ResultPath"] = task["ResultPath"]
        if "Catch" in task:
            expire["Catch"] = task["Catch"]
        states[name] = self._link(expire, nxt)
        return {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": name}

    @staticmethod
    def _wait_loop(node: Node, state_name: str, error: str, states: dict[str, Any]) -> dict[str, Any]:
        """Catch `error`, read `wait_seconds` from its Lambda errorMessage (JSON inside the Cause JSON), Wait,
        and run the Task again. Bounded by the node runner, which stops raising `error` after
        WAIT_LIMIT attempts of the node. Costs three transitions per wait and none otherwise."""
        cause, wait = f"wait-cause-{node.id}", f"wait-{node.id}"
        states[cause] = {
            "Type": "Pass",
            "Comment": f"'{node.id}' was told to wait: parse the error's Cause, then its message",
            "Parameters": {"cause.$": "States.StringToJson($.waiting.Cause)"},
            "ResultPath": "$.waiting",
            "Next": f"{wait}-seconds",
        }
        states[f"{wait}-seconds"] = {
            "Type": "Pass",
            "Parameters": {"told.$": "States.StringToJson($.waiting.cause.errorMessage)"},
            "ResultPath": "$.waiting",
            "Next": wait,
        }
        states[wait] = {
            "Type": "Wait",
            "Comment": f"'{node.id}' waits as its rate limit says, then runs again",
            "SecondsPath": "$.waiting.told.wait_seconds",
            "Next": state_name,
        }
        return {"ErrorEquals": [error], "ResultPath": "$.waiting", "Next": cause}

    def emit(self, p: Plan, nxt: str | None, states: dict[str, Any], top: bool, done: set[str]) -> set[str]:
        """Add the states of `p` to `states`, continuing at `nxt`; return the nodes it completes."""
        if isinstance(p, Seq):
            completed: set[str] = set()
            for i, item in enumerate(p.items):
                follow = self.start_of(p.items[i + 1]) if i + 1 < len(p.items) else nxt
                completed |= self.emit(item, follow, states, top, done | completed)
            return completed
        if isinstance(p, Par):
            return self._emit_par(p, nxt, states, top, done)
        return self._emit_step(p.node, nxt, states, top)

    def _emit_step(self, node_id: str, nxt: str | None, states: dict[str, Any], top: bool) -> set[str]:
        node = self.flow.node(node_id)
        if node_id in self.gated:
            skip = f"skip-{node_id}"
            rules = [
                {"Variable": f"$.s.{e.source}.take.{node_id}", "BooleanEquals": True}
                for e in self.flow.edges_in[node_id]
            ]
            states[f"gate-{node_id}"] = {
                "Type": "Choice",
                "Comment": f"run '{node_id}' if any of its inputs was taken, else skip it",
                "Choices": [{**(rules[0] if len(rules) == 1 else {"Or": rules}), "Next": node_id}],
                "Default": skip,
            }
            if node_id in self.carried or nxt is None:
                states[skip] = self._link(
                    {
                        "Type": "Pass",
                        "Result": self._dead_result(node_id),
                        "ResultPath": f"$.s.{node_id}" if node_id in self.carried else None,
                    },
                    nxt,
                )
            else:  # nothing reads the skip and something follows: go straight on (one transition less)
                states[f"gate-{node_id}"]["Default"] = nxt
        kind = REGISTRY[node.type]
        emit = self._shapes.get(kind.shape)
        if emit is None:
            message = (
                f"node '{node_id}' is a '{kind.name}' node, whose ASL shape '{kind.shape.value}' this compiler"
                " cannot emit yet"
            )
            raise FlowInvalid(message, [{"code": "shape_not_compiled", "message": message, "node": node_id}])
        if kind.runtime not in RUNNER_TARGETS:
            message = (
                f"node '{node_id}' is a '{kind.name}' node, whose runtime '{kind.runtime.value}' no function of this"
                " deployment runs yet"
            )
            raise FlowInvalid(message, [{"code": "runtime_not_compiled", "message": message, "node": node_id}])
        emit(self, node, kind, nxt, top, states)
        return {node_id}

    # -- one emitter per ASL shape ------------------------------------------------------------------
    def _emit_invoke(self, node: Node, _: NodeKind, nxt: str | None, top: bool, states: dict[str, Any]) -> None:
        self._task(node, node.id, nxt, top, states)

    def _emit_wait(self, node: Node, _: NodeKind, nxt: str | None, top: bool, states: dict[str, Any]) -> None:
        """A Task that answers when the wait ends (the runner computes it once and records it with the node
        run, so a retry or a redrive reads it back: an elapsed wait is not waited again), a native Wait until
        then (`TimestampPath`: free while it waits; only that instant enters the state), then a Task that
        records the node."""
        wait_name, done_name = f"wait-{node.id}", f"done-{node.id}"
        self._task(node, node.id, nxt, top, states)
        until = states[node.id]
        until["Comment"] = f"when '{node.id}' stops waiting (recorded the first time)"
        until["Parameters"] = {**until["Parameters"], "Payload": NodeRunnerPayload.for_until(node.id)}
        until["ResultSelector"] = {"until.$": "$.Payload.until"}
        until["ResultPath"] = "$.until"
        until.pop("End", None)
        until["Next"] = wait_name
        states[wait_name] = {
            "Type": "Wait",
            "Comment": "wait node",
            "TimestampPath": "$.until.until",
            "Next": done_name,
        }
        self._task(node, done_name, nxt, top, states)

    def _emit_callback(self, node: Node, _: NodeKind, nxt: str | None, top: bool, states: dict[str, Any]) -> None:
        """A waitForTaskToken Task: the runner parks `$$.Task.Token` in Postgres and returns; the Task waits,
        holding no compute, until a completion sends the token back (or it times out; its Retry applies)."""
        self._task(node, node.id, nxt, top, states, callback=True)

    # `map` and `subflow` are declared by AslShape and refused until their emitters exist.
    _shapes: ClassVar[dict[AslShape, Callable[[_Emitter, Node, NodeKind, str | None, bool, dict[str, Any]], None]]] = {
        AslShape.INVOKE: _emit_invoke,
        AslShape.CALLBACK: _emit_callback,
        AslShape.WAIT: _emit_wait,
    }

    def _emit_par(self, p: Par, nxt: str | None, states: dict[str, Any], top: bool, done: set[str]) -> set[str]:
        branches = []
        owner: dict[str, int] = {}
        completed: set[str] = set()
        for i, branch in enumerate(p.branches):
            branch_states: dict[str, Any] = {}
            inside = self.emit(branch, None, branch_states, False, done)
            completed |= inside
            owner.update(dict.fromkeys(inside, i))
            branches.append({"StartAt": self.start_of(branch), "States": branch_states})
        state: dict[str, Any] = {"Type": "Parallel", "Branches": branches}
        keep = sorted(n for n in (done | completed) if n in self.carried)
        if keep:
            # Each branch returns the whole state; rebuild `s` from the branch that ran each node.
            state["ResultSelector"] = {f"{n}.$": f"$[{owner.get(n, 0)}].s.{n}" for n in keep}
            state["ResultPath"] = "$.s"
        else:
            state["ResultPath"] = None
        if top:
            state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RUN_FAILED}]
        states[self.fork_names[id(p)]] = self._link(state, nxt)
        return completed


def _runner_task(op: Literal["finish", "fail"], nxt: str | None, error_path: str | None = None) -> dict[str, Any]:
    """The run's own bookkeeping (record its end, or why it failed): the core runner's work."""
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": RUNNER_TARGETS[Runtime.CORE],
            "Payload": NodeRunnerPayload.for_bookkeeping(op, error_path),
        },
        "ResultPath": None,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
    }
    if nxt is None:
        state["End"] = True
    else:
        state["Next"] = nxt
    return state


def _exclusive_heads(flow: ValidFlow, gated: set[str], branch: Plan) -> tuple[str, str] | None:
    """(condition node, literal) when a branch does anything only if that literal edge was taken."""
    nodes = plan_nodes(branch)
    inside = set(nodes)
    head = nodes[0]
    incoming = flow.edges_in[head]
    if head not in gated or not incoming:
        return None
    sources = {e.source for e in incoming}
    literals = {(e.condition or "").strip() for e in incoming}
    if len(sources) != 1 or len(literals) != 1 or not literals <= set(BRANCH_LITERALS):
        return None
    for n in nodes[1:]:
        if n not in gated or any(e.source not in inside for e in flow.edges_in[n]):
            return None
    return next(iter(sources)), next(iter(literals))


def sequence_exclusive(flow: ValidFlow, gated: set[str], p: Plan) -> Plan:
    """A Parallel whose branches are the true/false arms of one condition runs at most one of them: a
    sequence of gated arms costs one transition less and no time."""
    if isinstance(p, Step):
        return p
    if isinstance(p, Seq):
        return Seq([sequence_exclusive(flow, gated, i) for i in p.items])
    branches = [sequence_exclusive(flow, gated, b) for b in p.branches]
    heads = [_exclusive_heads(flow, gated, b) for b in branches]
    if all(heads) and len({h[0] for h in heads if h}) == 1 and len({h[1] for h in heads if h}) == len(heads):
        items: list[Plan] = []
        for b in branches:
            items.extend(b.items if isinstance(b, Seq) else [b])
        return Seq(items)
    return Par(branches)


def _without_entry(tree: Plan, entry: str) -> Plan | None:
    """The plan minus the input node, which is always first (it is the only source)."""
    if isinstance(tree, Step):
        assert tree.node == entry
        return None
    assert isinstance(tree, Seq)
    assert isinstance(tree.items[0], Step)
    assert tree.items[0].node == entry
    rest = tree.items[1:]
    return rest[0] if len(rest) == 1 else Seq(rest)


def compile_flow(flow: ValidFlow) -> CompiledFlow:
    emitter = _Emitter(flow)
    full = sequence_exclusive(flow, emitter.gated, plan(flow.dag))
    inline_entry = flow.entry if flow.node(flow.entry).type == "input" else None
    tree = _without_entry(full, flow.entry) if inline_entry else full
    states: dict[str, Any] = {}
    if tree is None:  # a flow that is only its input node
        start = FINISH
    else:
        emitter.name_forks(tree)
        last = tree.items[-1] if isinstance(tree, Seq) else tree
        if isinstance(last, Step):
            node = flow.node(last.node)
            # Only a node that is one Task and nothing else also records the run's end (a wait node never has).
            shape = REGISTRY[node.type].shape
            if last.node not in emitter.gated and shape is AslShape.INVOKE and node.on_error == "fail":
                emitter.finisher = last.node
        emitter.emit(
            tree, None if emitter.finisher else FINISH, states, True, {inline_entry} if inline_entry else set()
        )
        start = emitter.start_of(tree)
    if emitter.finisher is None:
        states[FINISH] = {
            **_runner_task("finish", None),
            "Comment": "record the run's output and mark it succeeded",
        }
    # Only when a failure can reach them: if every top-level node has `on_error: continue`, nothing fails
    # the run, and Step Functions refuses a definition with states no transition reaches.
    if any(c.get("Next") == RUN_FAILED for state in states.values() for c in state.get("Catch", ())):
        states[RUN_FAILED] = {
            **_runner_task("fail", FAILED, "$.error"),
            "Comment": "record why the run failed",
        }
        states[FAILED] = {"Type": "Fail", "Error": "RunFailed", "Cause": "A node failed; see the run's nodes."}
    asl = {
        "Comment": "Nexod flow; state names are node ids. Node data lives in Postgres, not here.",
        "StartAt": start,
        "States": states,
    }
    return CompiledFlow(
        asl=asl, gated=emitter.gated, carried=emitter.carried, inline_entry=inline_entry, finisher=emitter.finisher
    )


def substitute(asl: dict[str, Any], runner_arns: Mapping[Runtime, str]) -> dict[str, Any]:
    """The deployable definition: each runtime's placeholder replaced by the ARN of the function that runs it.

    Refuses a definition that names a runner `runner_arns` lacks (a deployment without that function), so
    no state machine is published with a placeholder Step Functions would reject at run time."""
    text = json.dumps(asl)
    for runtime, placeholder in RUNNER_TARGETS.items():
        if runtime in runner_arns:
            text = text.replace(placeholder, runner_arns[runtime])
    missing = sorted(set(_PLACEHOLDER.findall(text)))
    if missing:
        raise ValueError(f"no function ARN for {', '.join(missing)}: the deployment lacks that runner")
    substituted: dict[str, Any] = json.loads(text)
    return substituted
