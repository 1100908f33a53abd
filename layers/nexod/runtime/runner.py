"""The node runner: executes one node of one run, exactly once per (run, node, iteration).

Step Functions calls it for every node Task (and for the run's finish/fail bookkeeping). A finished node
whose config is unchanged is never executed again: retries, redrives and replays get the stored result.
"""

from __future__ import annotations

import logging
import math
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from ..domain.compiler import RETRYABLE_ERROR
from ..domain.cost import DEFAULT_RUNNER_MEMORY_MB
from ..domain.errors import FlowInvalid, InvalidInput, VaultUnavailable
from ..domain.expressions import ExpressionError, evaluate, truthy
from ..domain.flow import Node, node_hash
from ..domain.nodes import REGISTRY, AslShape
from ..domain.nodes.wait import ELAPSED, parse_instant, rfc3339
from ..domain.payload import NodeRunnerPayload
from ..domain.records import NodeRun, Run, SoftBudgetCrossed, Usage
from ..domain.templating import TemplateError, as_reference, render
from ..domain.validation import BRANCH_LITERALS, ValidFlow, validate
from ..ports import Orchestrator, Store, TaskGone, UnitOfWork, Vault
from .blobs import OutputBlobs, hydrate_upstream, offload_output, run_output
from .errors import NodeError, NodeFailedError, NodeRetryableError, RunFinishError, RunNotActiveError
from .events import Relay, nodes_failed, run_status_changed
from .executors import (
    CREDENTIALS,
    EXECUTORS,
    PARKERS,
    STARTERS,
    Credentials,
    NodeContext,
    NodeResult,
    Parked,
    Toolbox,
)
from .redaction import Scrubber
from .secrets import CredentialResolver

log = logging.getLogger(__name__)


class FlowVersionCache:
    """Published versions are immutable, so a process validates each one once (least recently used out)."""

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[tuple[str, int], ValidFlow] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def _cached(self, key: tuple[str, int]) -> ValidFlow | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def get(self, flow_id: Any, version: int, definition: Callable[[], Any]) -> ValidFlow:
        """The validated version; `definition()` is called only on a miss."""
        key = (str(flow_id), int(version))
        hit = self._cached(key)
        if hit is not None:
            return hit
        hit = validate(definition())
        with self._lock:
            self._items[key] = hit
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return hit

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def find(self, uow: UnitOfWork, flow_id: str, version: int) -> ValidFlow | None:
        """A version of a flow, read from the store only on a miss; None if the workspace has no such version."""
        hit = self._cached((flow_id, version))
        if hit is not None:
            return hit
        stored = uow.versions.get(flow_id, version)
        return None if stored is None else self.get(flow_id, version, lambda: stored.definition)

    def of(self, uow: UnitOfWork, flow_id: str, version: int) -> ValidFlow:
        """A version of a flow that exists (a run's)."""
        found = self.find(uow, flow_id, version)
        assert found is not None, f"flow {flow_id} has no version {version}"
        return found

    def for_run(self, uow: UnitOfWork, run: Run) -> ValidFlow:
        """The run's flow version, read from the store only on a miss."""
        return self.of(uow, run.flow_id, run.version)


class Expiry(Protocol):
    """Records a timed-out callback node's outcome (`CallbackCompletions.expire`, given by the composition root)."""

    def expire(self, workspace_id: str, run_id: str, node_id: str, iteration: int = 0) -> dict[str, Any]: ...


class RunVersions:
    """Which (flow, version) each recent run executes, so that a node's claim needs no read before it.

    Only a hint: the claim checks it and refuses to claim on a mismatch (a run redriven onto another
    version), and the runner then reads the run and claims again."""

    def __init__(self, size: int = 1024) -> None:
        self._items: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, run_id: str) -> tuple[str, int] | None:
        with self._lock:
            return self._items.get(run_id)

    def put(self, run_id: str, flow_id: str, version: int) -> None:
        with self._lock:
            self._items[run_id] = (flow_id, version)
            self._items.move_to_end(run_id)
            if len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass
class _Prepared:
    flow: ValidFlow
    run: Run
    memo: NodeRun | None
    context: NodeContext | None = None
    config: Any = None
    rendered: Any = None
    scrubber: Scrubber | None = None
    parked: Parked | None = None  # a callback node's token was parked in the claim's unit of work


def _wait_end(config: Any, row: NodeRun, digest: str) -> tuple[str, int]:
    """(when the wait ends, how long it lasts from the node run's first start). The end recorded by an earlier
    claim of the same config wins: a wait is timed once, so a redrive waits only for what is left of it."""
    recorded = row.input.get("until") if isinstance(row.input, dict) and row.config_hash == digest else None
    started = row.started_at or datetime.now(UTC)
    end = parse_instant(recorded) if isinstance(recorded, str) else config.end(datetime.now(UTC))
    if config.seconds is not None:
        return rfc3339(end), int(config.seconds)
    return rfc3339(end), max(0, math.ceil((end - started).total_seconds()))


def edge_taken(condition: str | None, output: Any, ctx: NodeContext) -> bool:
    if condition is None:
        return True
    cond = condition.strip()
    if cond in BRANCH_LITERALS:
        result = output.get("result") if isinstance(output, dict) else output
        return truthy(result) == (cond == "true")
    data = {**ctx.data, "output": output}
    return truthy(evaluate(cond, data))


def entry_decisions(flow: ValidFlow, run_id: str, run_input: Any) -> dict[str, bool]:
    """The input node's edge decisions, taken when the run is created (the input node has no Task)."""
    ctx = NodeContext(
        run_id=run_id, workspace_id="", node_id=flow.entry, run_input=run_input, upstream={}, predecessors=[]
    )
    return {e.target: edge_taken(e.condition, run_input, ctx) for e in flow.edges_out[flow.entry]}


class NodeRunner:
    def __init__(
        self,
        store: Store,
        tools: Toolbox,
        global_allow_hosts: list[str] | None = None,
        outputs: OutputBlobs | None = None,
        vault: Vault | None = None,
        memory_mb: int = DEFAULT_RUNNER_MEMORY_MB,
        tasks: Orchestrator | None = None,
        expiry: Expiry | None = None,
        relay: Relay | None = None,
    ) -> None:
        self.expiry = expiry  # a callback node whose timeout is an outcome (an approval's on_timeout)
        # Completes a callback Task at once when its node already finished (a memo hit: redrive, retry, resume).
        self.tasks = tasks
        # Run lifecycle events out to EventBridge after they commit (an outbox); locally on a thread of its own.
        self.relay = relay
        self.memory_mb = memory_mb  # the function's configured memory: compute cost (nexod.domain.cost)
        self.vault = vault  # credential values, read at the moment of use (DESIGN §7)
        self.store = store
        self.outputs = outputs  # large outputs go to the blob store (nexod.runtime.blobs)
        self.tools = tools
        self.global_allow_hosts = global_allow_hosts or []
        # Called after a callback node's token was parked and committed (an approval's notifications).
        self.on_parked: Callable[[str, str, str, int], object] | None = None
        self.flows = FlowVersionCache()
        self.run_versions = RunVersions()

    # -- entry -------------------------------------------------------------------------------------
    def handle(self, event: dict[str, Any] | NodeRunnerPayload) -> dict[str, Any]:
        try:
            payload = NodeRunnerPayload.parse_event(event)
        except InvalidInput as exc:
            raise NodeFailedError(exc.message) from None
        workspace_id, run_id = payload.run.ws, payload.run.id
        if payload.op == "finish":
            return self.finish(workspace_id, run_id)
        if payload.op == "fail":
            return self.fail(workspace_id, run_id, payload.error or {})
        if payload.op == "expire":
            assert payload.node is not None
            if self.expiry is None:
                raise NodeFailedError(f"node '{payload.node}' timed out and this runner cannot record its outcome")
            return self.expiry.expire(workspace_id, run_id, payload.node, payload.iteration)
        assert payload.node is not None  # parse_event refuses a node op without one
        hint = (payload.run.flow, payload.run.version) if payload.run.flow and payload.run.version else None
        if payload.op == "until":
            return self.until(workspace_id, run_id, payload.node, payload.iteration, hint)
        result = self.execute(workspace_id, run_id, payload.node, payload.iteration, hint, payload.task_token)
        if payload.finish:  # the flow's last node also records the run's end
            try:
                self.finish(workspace_id, run_id)
            except NodeError:
                raise
            except Exception as exc:
                raise RunFinishError(f"run {run_id}: recording its end failed: {exc}") from exc
        return result

    # -- one node ----------------------------------------------------------------------------------
    def execute(
        self,
        workspace_id: str,
        run_id: str,
        node_id: str,
        iteration: int = 0,
        hint: tuple[str, int] | None = None,
        task_token: str | None = None,
    ) -> dict[str, Any]:
        """Run one node once. `hint`: the (flow, version) the run executes, when the execution says so.

        A `callback` node (its Task carries `task_token`) is not executed here: its token is parked in the
        claim's unit of work and the runner returns; a completion sends the token back later. A callback
        node that already finished (a memo hit) completes its token at once with the recorded decisions."""
        prepared = self._prepare(workspace_id, run_id, node_id, iteration, hint, task_token)
        if prepared.memo is not None:
            take = prepared.memo.take or {}
            if task_token is not None:
                self._complete_memo(run_id, node_id, task_token, take)
            return {"take": take, "memo": True}
        if prepared.parked is not None:
            self._start(prepared.parked, node_id)
            self._after_park(workspace_id, run_id, node_id, iteration)
            return {"parked": True}
        assert prepared.context is not None
        ctx = prepared.context
        node = prepared.flow.node(node_id)
        scrub = prepared.scrubber or Scrubber()
        try:
            result = EXECUTORS[node.type](prepared.config, ctx, self.tools)
            take = {e.target: edge_taken(e.condition, result.output, ctx) for e in prepared.flow.edges_out[node_id]}
        except NodeError as exc:
            _scrub_error(exc, scrub)
            self._record_failure(workspace_id, run_id, node_id, iteration, exc)
            raise
        except ExpressionError as exc:
            failed = NodeFailedError(f"node '{node_id}': edge condition failed: {exc}")
            self._record_failure(workspace_id, run_id, node_id, iteration, failed)
            raise failed from exc
        except Exception as exc:  # an adapter bug or an unexpected library error: retry, then fail
            # A library's message may quote what it was given (a header value): log and record it scrubbed,
            # and do not chain it, so the orchestrator's error Cause cannot carry it either.
            trace = "".join(traceback.format_exception(exc))
            log.error("node %s failed unexpectedly: %s", node_id, scrub.text(trace))
            err: NodeError = NodeRetryableError(scrub.text(f"node '{node_id}': {type(exc).__name__}: {exc}"))
            self._record_failure(workspace_id, run_id, node_id, iteration, err)
            raise err from None
        if scrub:  # a response echoing the node's credentials (DESIGN §7: secrets never enter run outputs)
            result.output = scrub.value(result.output)
        self._record_success(workspace_id, run_id, node_id, iteration, result, take)
        return {"take": take}

    def until(
        self, workspace_id: str, run_id: str, node_id: str, iteration: int = 0, hint: tuple[str, int] | None = None
    ) -> dict[str, Any]:
        """When a wait-shaped node's Wait state ends: computed and recorded with the node run the first time,
        read back by every later claim (a retry, a redrive after an interrupted wait), and already past for a
        node that finished (a redrive never waits again for a wait that elapsed)."""
        prepared = self._prepare(workspace_id, run_id, node_id, iteration, hint)
        if prepared.memo is not None:
            return {"until": ELAPSED}
        assert prepared.context is not None
        assert prepared.context.wait_until is not None
        return {"until": prepared.context.wait_until}

    def _start(self, parked: Parked, node_id: str) -> None:
        """What a parked callback node starts once its claim committed (an agent runner). A start that fails
        fails this attempt: the node run records it and the Task's retry policy applies."""
        starter = STARTERS.get(parked.node_type)
        if starter is None:
            return
        try:
            starter(parked, self.tools, self.store)
        except NodeError as exc:
            self._record_failure(parked.workspace_id, parked.run_id, node_id, parked.iteration, exc)
            raise
        except Exception as exc:
            log.error("node %s: its runner could not be started: %s", node_id, exc)
            err = NodeRetryableError(f"node '{node_id}': its runner could not be started: {type(exc).__name__}: {exc}")
            self._record_failure(parked.workspace_id, parked.run_id, node_id, parked.iteration, err)
            raise err from None

    def _complete_memo(self, run_id: str, node_id: str, task_token: str, take: dict[str, bool]) -> None:
        if self.tasks is None:
            raise NodeFailedError(f"node '{node_id}': this runner has no orchestrator to complete its callback Task")
        try:
            self.tasks.send_task_success(task_token, {"take": take})
        except TaskGone:  # nothing waits for it any more (the execution ended): nothing to complete
            log.warning("run %s node %s: its finished callback Task no longer waits", run_id, node_id)

    def _prepare(
        self,
        workspace_id: str,
        run_id: str,
        node_id: str,
        iteration: int,
        hint: tuple[str, int] | None,
        task_token: str | None = None,
    ) -> _Prepared:
        with self.store.tx(workspace_id) as uow:
            # One round trip when the run's flow version is known, from the execution's input or because this
            # process saw the run before: the claim checks it. Otherwise, or when it is stale (a redrive moved
            # the run to another version), the run is read first.
            hint = hint or self.run_versions.get(run_id)
            for _ in range(2):
                if hint is None:
                    found = uow.runs.get(run_id)
                    if found is None:
                        raise NodeFailedError(f"run {run_id} does not exist in workspace {workspace_id}")
                    _refuse_inactive(found, node_id)
                    flow = self.flows.of(uow, found.flow_id, found.version)
                    hint = (found.flow_id, found.version)
                else:
                    known = self.flows.find(uow, *hint)
                    if known is None or node_id not in known.dag.pred:  # not this run's version: read the run
                        hint = None
                        continue
                    flow = known
                node = flow.node(node_id)
                digest = node_hash(node)
                ancestors = sorted(flow.dag.ancestors()[node_id])
                claim = uow.node_runs.claim(
                    run_id,
                    node_id,
                    iteration,
                    node.type,
                    digest,
                    flow_id=hint[0],
                    version=hint[1],
                    upstream=ancestors,
                    begin_input=_plain_input(node),
                )
                if claim.run is None:
                    raise NodeFailedError(f"run {run_id} does not exist in workspace {workspace_id}")
                _refuse_inactive(claim.run, node_id)
                if claim.node_run is not None:
                    break
                hint = None  # the run moved to another version: read it and claim again
            else:
                raise NodeFailedError(f"run {run_id}: its flow version kept changing; node '{node_id}' not claimed")
            run, row = claim.run, claim.node_run
            assert row is not None
            self.run_versions.put(run_id, run.flow_id, run.version)
            if row.status == "SUCCEEDED" and row.config_hash == digest:
                if row.pinned and row.take is None:  # a test run's pinned node: decide its edges now (issue 13)
                    row = self._pinned_take(uow, flow, run, row, ancestors)
                return _Prepared(flow, run, memo=row)
            upstream = claim.upstream
            allow = list(self.global_allow_hosts)
            kind = REGISTRY[node.type]
            if kind.calls_out:  # only nodes that call out need the workspace's allow-list
                workspace = uow.workspaces.current()
                allow += list(workspace.allowed_hosts) if workspace else []
            credentials = CREDENTIALS.get(node.type)
            secret_names = credentials.secret_names(node.config) if credentials else frozenset()
            ctx = NodeContext(
                run_id=run_id,
                workspace_id=workspace_id,
                node_id=node_id,
                run_input=run.input,
                upstream=upstream,
                predecessors=list(flow.dag.pred[node_id]),
                allow_hosts=allow,
                secret_names=secret_names,
                attempt=row.attempts,
                iteration=iteration,
            )
            resolver = CredentialResolver(self._credential_loader(uow, workspace_id))
            recorded_input: dict[str, Any] | None = None
            waits_for: dict[str, Any] | None = None
            try:
                hydrate_upstream(self.outputs, workspace_id, run_id, node_id, upstream)  # blob pointers -> values
                rendered = dict(node.config)
                recorded_input = dict(node.config)
                for field in kind.templated_fields:
                    if field in rendered:
                        # `{{ secrets.x }}`: the executor gets the value, the record keeps the reference.
                        secrets = resolver if field in kind.secret_fields else None
                        recorded_input[field] = render(rendered[field], ctx.data, as_reference if secrets else None)
                        rendered[field] = render(rendered[field], ctx.data, secrets)
                config = kind.config.model_validate(rendered)
                if kind.shape is AslShape.CALLBACK:
                    waits_for = self._waits_for(kind.name, node_id, task_token, config, ctx, uow)
            except NodeError as exc:  # an upstream blob that cannot be read; the vault unreachable
                error: NodeError = exc
            except TemplateError as exc:
                error = NodeFailedError(f"node '{node_id}' config: {exc}")
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"])
                error = NodeFailedError(f"node '{node_id}' config.{field} after templating: {first['msg']}")
            else:
                # The recorded input is what viewers read: credentials redacted; the executor gets the real ones.
                assert recorded_input is not None
                if kind.shape is AslShape.WAIT:  # when its wait ends: recorded the first time, then kept
                    ctx.wait_until, ctx.wait_seconds = _wait_end(config, row, digest)
                    recorded_input["until"] = ctx.wait_until
                if not claim.begun:  # (the claim began a node with nothing to render, with the same input)
                    _node_started(uow, run_id, node_id, iteration, row.attempts)
                    uow.node_runs.begin_execution(
                        # The record holds `{{ secrets.x }}` references, not their values: only names that are
                        # sensitive in themselves (Authorization, Cookie, ...) are redacted in it.
                        run_id,
                        node_id,
                        iteration,
                        digest,
                        _recorded(credentials, recorded_input, frozenset()),
                    )
                uow.credentials.touch(resolver.used)
                if waits_for is not None:  # a callback node: park its token beside what it waits for, and return
                    assert task_token is not None
                    uow.parked.park(
                        run_id,
                        node_id,
                        iteration,
                        node.type,
                        attempt=row.attempts,
                        task_token=task_token,
                        waits_for=waits_for,
                        timeout_seconds=node.timeout_seconds or kind.default_timeout_seconds,
                    )
                    parked = Parked(workspace_id, run_id, node_id, iteration, row.attempts, node.type, waits_for)
                    return _Prepared(flow, run, memo=None, parked=parked)
                scrubber = credentials.scrubber(rendered, secret_names) if credentials else Scrubber()
                scrubber = scrubber.including(resolver.resolved)
                return _Prepared(flow, run, memo=None, context=ctx, config=config, rendered=rendered, scrubber=scrubber)
            if not claim.begun:
                _node_started(uow, run_id, node_id, iteration, row.attempts)
                uow.node_runs.begin_execution(
                    run_id, node_id, iteration, digest, _recorded(credentials, node.config, secret_names)
                )
        self._record_failure(workspace_id, run_id, node_id, iteration, error)
        raise error

    def _pinned_take(self, uow: UnitOfWork, flow: ValidFlow, run: Run, row: NodeRun, ancestors: list[str]) -> NodeRun:
        """A pinned node never executes, but its edge conditions may read its upstream and the run's input: they
        are evaluated on its pinned output when its Task reaches it, as they would be after an execution."""
        node_id = row.node_id
        upstream = uow.node_runs.outputs(run.id, ancestors)
        hydrate_upstream(self.outputs, run.workspace_id, run.id, node_id, upstream)
        ctx = NodeContext(
            run_id=run.id,
            workspace_id=run.workspace_id,
            node_id=node_id,
            run_input=run.input,
            upstream=upstream,
            predecessors=list(flow.dag.pred[node_id]),
        )
        try:
            take = {e.target: edge_taken(e.condition, row.output, ctx) for e in flow.edges_out[node_id]}
        except ExpressionError as exc:
            raise NodeFailedError(f"node '{node_id}' (pinned): edge condition failed: {exc}") from exc
        uow.drafts.set_take(run.id, node_id, row.iteration, take)
        return replace(row, take=take)

    def _after_park(self, workspace_id: str, run_id: str, node_id: str, iteration: int) -> None:
        """The `on_parked` hook, after the commit: it never fails the node (it waits all the same)."""
        if self.on_parked is None:
            return
        try:
            self.on_parked(workspace_id, run_id, node_id, iteration)
        except Exception:
            log.exception("run %s node %s: after parking, the notification hook failed", run_id, node_id)

    def _waits_for(
        self, kind: str, node_id: str, task_token: str | None, config: Any, ctx: NodeContext, uow: UnitOfWork
    ) -> dict[str, Any]:
        """What a callback node waits for, written by its kind's parker in the claim's unit of work."""
        if not task_token:
            raise NodeFailedError(
                f"node '{node_id}' is a '{kind}' node, which waits for a callback, but its Task sent no task token:"
                " publish the flow again"
            )
        parker = PARKERS.get(kind)
        if parker is None:
            raise NodeFailedError(f"node '{node_id}': no parker is registered for callback kind '{kind}'")
        wanted = REGISTRY[kind].runtime
        if self.tools.runtime is not wanted:
            raise NodeFailedError(
                f"node '{node_id}' is a '{kind}' node, which runs on the '{wanted.value}' runtime, but it reached the"
                f" '{self.tools.runtime.value}' runner: publish the flow again"
            )
        return parker(config, ctx, uow)

    def _credential_loader(
        self, uow: UnitOfWork, workspace_id: str
    ) -> Callable[[str], tuple[str, dict[str, object]] | None]:
        """What `{{ secrets.NAME }}` needs: the credential's type (metadata) and value (the vault)."""

        def load(name: str) -> tuple[str, dict[str, object]] | None:
            type_name = uow.credentials.types_of([name]).get(name)
            if type_name is None:
                return None
            if self.vault is None:
                raise NodeFailedError(f"credential '{name}': this deployment has no credential vault configured")
            try:
                value = self.vault.get(workspace_id, name)
            except VaultUnavailable as exc:
                raise NodeRetryableError(f"credential '{name}': {exc.message}") from None
            return None if value is None else (type_name, value)

        return load

    def _record_success(
        self,
        workspace_id: str,
        run_id: str,
        node_id: str,
        iteration: int,
        result: NodeResult,
        take: dict[str, bool],
    ) -> None:
        output, output_ref = offload_output(self.outputs, workspace_id, run_id, node_id, iteration, result.output)
        usage = Usage.of(result.usage)
        with self.store.tx(workspace_id) as uow:
            # The events first: the finish statement writes them with the change (no statement of their own).
            uow.events.append(run_id, "node.succeeded", node_id, iteration, {"take": take})
            if usage.model is not None or usage.cost_usd is not None:
                cost = {"model": usage.model, "tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out}
                uow.events.append(run_id, "cost.updated", node_id, iteration, cost | {"cost_usd": usage.cost_usd})
            crossed = uow.node_runs.finish(
                run_id,
                node_id,
                iteration,
                status="SUCCEEDED",
                output=output,
                output_ref=output_ref,
                take=take,
                usage=usage,
                memory_mb=self.memory_mb,
            )
            _audit_soft_crossing(uow, workspace_id, crossed)
        if crossed is not None:
            self._publish(workspace_id)

    def _record_failure(self, workspace_id: str, run_id: str, node_id: str, iteration: int, exc: NodeError) -> None:
        """Record a failed attempt: RETRYING (with when the next attempt is due) while the node's retry policy
        has retries left for this error, as the compiled `Retry` does; FAILED otherwise."""
        error = {"type": type(exc).__name__, "message": exc.message, "details": exc.details}
        with self.store.tx(workspace_id) as uow:
            retry_at = self._next_attempt(uow, run_id, node_id, iteration, error["type"])
            if retry_at is not None:
                data = {"error": error, "next_attempt_at": retry_at.isoformat()}
                uow.events.append(run_id, "node.retrying", node_id, iteration, data)
                crossed = uow.node_runs.finish(
                    run_id,
                    node_id,
                    iteration,
                    status="RETRYING",
                    error=error,
                    memory_mb=self.memory_mb,
                    next_attempt_at=retry_at,
                )
            else:
                uow.events.append(run_id, "node.failed", node_id, iteration, {"error": error})
                crossed = uow.node_runs.finish(
                    run_id, node_id, iteration, status="FAILED", error=error, memory_mb=self.memory_mb
                )
            _audit_soft_crossing(uow, workspace_id, crossed)
        if crossed is not None:
            self._publish(workspace_id)

    def _next_attempt(
        self, uow: UnitOfWork, run_id: str, node_id: str, iteration: int, error_name: str
    ) -> datetime | None:
        """When the orchestrator retries this failed attempt, or None if it does not (the error is not one the
        node's Retry catches, or its retries are spent). Mirrors `compiler._retry`; Lambda's own transient
        errors never reach here."""
        run = uow.runs.get(run_id)
        row = uow.node_runs.get(run_id, node_id, iteration)
        if run is None or row is None:
            return None
        try:
            node = self.flows.for_run(uow, run).node(node_id)
        except (KeyError, NodeError, FlowInvalid):
            return None
        kind = REGISTRY.get(node.type)
        policy = node.retry or (kind.default_retry if kind else None)
        if kind is None or policy is None or error_name not in (RETRYABLE_ERROR, *kind.retry_errors):
            return None
        if row.retries >= policy.max_attempts:
            return None
        return datetime.now(UTC) + timedelta(seconds=policy.delay_seconds(row.retries))

    # -- run bookkeeping ---------------------------------------------------------------------------
    def finish(self, workspace_id: str, run_id: str) -> dict[str, Any]:
        with self.store.tx(workspace_id) as uow:
            run = uow.runs.get(run_id, for_update=True)
            if run is None:
                raise NodeFailedError(f"run {run_id} does not exist")
            flow = self.flows.for_run(uow, run)
            # Every state has ended: a node still RUNNING was abandoned by the orchestrator (its Task timed out and
            # the flow continued without it, `on_error: continue`), and a token still parked is no longer awaited.
            expired = uow.parked.close_open(run_id, "EXPIRED", "the run ended without this node's result")
            uow.node_runs.fail_running(run_id, ABANDONED)
            if expired:
                log.info("run %s finished with %d parked task(s) expired", run_id, len(expired))
            # The nodes without a node run never ran: one statement marks them (no read of the run's node runs).
            for node_id in uow.node_runs.record_skipped(run_id, [(n.id, n.type) for n in flow.document.nodes]):
                uow.events.append(run_id, "node.skipped", node_id, 0)
            outputs_nodes = [n.id for n in flow.document.nodes if n.type == "output"]
            if not outputs_nodes:
                outputs_nodes = [n for n in flow.dag.order if not flow.dag.succ[n]]
            outputs = uow.node_runs.outputs(run_id, outputs_nodes)
            output, output_ref = run_output(self.outputs, workspace_id, run_id, outputs_nodes, outputs)
            ended = uow.runs.mark(
                run_id, "SUCCEEDED", output=output, output_ref=output_ref, only_from=("QUEUED", "RUNNING")
            )
            if ended is not None:
                run_status_changed(uow, ended)
        self._publish(workspace_id)
        return {}

    def fail(self, workspace_id: str, run_id: str, error: dict[str, Any]) -> dict[str, Any]:
        summary = describe_failure(error)
        with self.store.tx(workspace_id) as uow:
            uow.runs.get(run_id, for_update=True)  # the run first, as cancel and callback completions lock it
            timed_out = summary["code"] in ("States.Timeout", "States.HeartbeatTimeout")
            uow.parked.close_open(run_id, "EXPIRED" if timed_out else "WITHDRAWN", f"the run failed: {summary['code']}")
            failed = [r for r in uow.node_runs.of_run(run_id) if r.status == "FAILED"]
            if failed and "node" not in summary:
                summary["node"] = failed[-1].node_id
            node_error = {"type": summary["code"], "message": summary["message"]}
            nodes_failed(uow, run_id, uow.node_runs.fail_running(run_id, node_error), node_error)
            ended = uow.runs.mark(run_id, "FAILED", error=summary, only_from=("QUEUED", "RUNNING"))
            if ended is not None:
                run_status_changed(uow, ended)
        self._publish(workspace_id)
        return {}

    def _publish(self, workspace_id: str) -> None:
        """Relay the workspace's pending EventBridge events, after the change committed (never raises)."""
        if self.relay is not None:
            self.relay.flush(workspace_id)


def _node_started(uow: UnitOfWork, run_id: str, node_id: str, iteration: int, attempt: int) -> None:
    """The node's execution begins: its first attempt, or a retry (`attempt` > 1; the failed attempt before
    it was recorded as `node.retrying`)."""
    uow.events.append(run_id, "node.started", node_id, iteration, {"attempt": attempt})


# A node still RUNNING when its run records its end: its Task ended without a result and the flow went on.
ABANDONED = {
    "type": "States.Timeout",
    "message": "the node's Task ended without a result (it timed out) and the flow continued without it",
}


def _plain_input(node: Node) -> dict[str, Any] | None:
    """A node's recorded input when nothing in it needs rendering, known before its claim (which then begins
    its execution in the same statement): an `invoke` node of a kind without credentials whose config has no
    templated field. What `_prepare` would record for it: the config as it is, rendered or not (a config
    that fails validation, or an upstream blob that cannot be read, records the same input)."""
    kind = REGISTRY[node.type]
    if kind.shape is not AslShape.INVOKE or node.type in CREDENTIALS:
        return None
    if any(field in node.config for field in kind.templated_fields):
        return None
    return dict(node.config)


def _refuse_inactive(run: Run, node_id: str) -> None:
    if run.status in ("CANCELLED", "SUCCEEDED"):
        raise RunNotActiveError(f"run {run.id} is {run.status}; node '{node_id}' was not executed")


def _recorded(credentials: Credentials | None, config: Any, secret_names: frozenset[str]) -> Any:
    """A node's config as it is stored for viewers: credentials redacted for kinds whose config holds them."""
    return credentials.recorded(config, secret_names) if credentials else config


def _scrub_error(exc: NodeError, scrub: Scrubber) -> None:
    """Remove the node's secret values from an error before it is recorded, logged or raised."""
    if scrub:
        exc.message = scrub.text(exc.message)
        exc.args = (exc.message,)
        exc.details = scrub.value(exc.details)


def describe_failure(error: dict[str, Any]) -> dict[str, Any]:
    """Turn a Step Functions error object {Error, Cause} into {code, message}."""
    import json

    code = str(error.get("Error") or "RunFailed")
    cause = error.get("Cause") or ""
    message = cause
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            parsed = json.loads(cause)
            message = parsed.get("errorMessage") or cause
        except json.JSONDecodeError:
            pass
    if code == "States.Timeout":
        message = message or "a node exceeded its timeout"
    return {"code": code, "message": str(message)[:4000] or code}


def _audit_soft_crossing(uow: UnitOfWork, workspace_id: str, crossed: SoftBudgetCrossed | None) -> None:
    """The month's spend reached the soft budget with this node run's cost: once per month, in the audit log."""
    if crossed is not None:
        uow.events.append(
            None,
            "budget.soft_limit_crossed",
            data={
                "month": crossed.month,
                "month_to_date_usd": round(crossed.month_to_date_usd, 2),
                "monthly_soft_usd": crossed.soft_limit_usd,
            },
        )
        uow.audit.record(
            "budget.soft_crossed",
            "workspace",
            workspace_id,
            {
                "month": crossed.month,
                "month_to_date_usd": round(crossed.month_to_date_usd, 2),
                "monthly_soft_usd": crossed.soft_limit_usd,
            },
        )
