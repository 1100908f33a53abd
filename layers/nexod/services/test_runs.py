"""Test runs of a flow's draft, pinned node outputs and running one node (issue 13).

A test run compiles the draft and runs it through the same orchestrator and node runner as a published
version: the draft is frozen as a *test snapshot* (a `flow_versions` row numbered -1, -2, ...), published as a
version of the flow's own test state machine (`<prefix>-test-<ws>-<flow>`, never the `live` alias of the flow's machine)
and started like any run. A pinned node is recorded SUCCEEDED (`pinned`, executions 0) before the execution
starts, so the node runner's memo short-circuits it whatever its kind (a callback kind completes its token at
once, a wait does not wait). Test runs are left out of run lists and usage unless asked for, count against
the workspace's budget (they call real models) and are deleted after `test_run_retention_days` by the sweeper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.actor import UserActor
from ..domain.compiler import compile_flow, substitute
from ..domain.drafts import node_ids, valid_or_raise
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.flow import config_hash, node_hash
from ..domain.records import Pin
from ..domain.validation import ValidFlow
from ..ports import BlobRef, PinnedNode, UnitOfWork
from ..runtime.blobs import BlobUnreadable, hydrate
from ..runtime.events import run_status_changed
from . import runs
from .access import authorize, flow_or_404, parse_id
from .context import Principal, Services
from .json_limits import MAX_STORED_DEPTH, find_problem, readable, serve

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 7
TEST_TRIGGER = "test"


def test_machine_name(services: Services, workspace_id: str, flow_id: str) -> str:
    """The flow's test state machine: its versions are test snapshots; it has no `live` alias. Its name ends
    like the flow's own machine (`-<workspace[:8]>-<flow>`), which is what binds an execution to the flow's runs
    (`functions/steps/node_runner.py`), and starts with the prefix the deployment's IAM policies name."""
    return f"{services.state_machine_prefix}-test-{workspace_id[:8]}-{flow_id}"


def _draft(uow: UnitOfWork, flow_id: str, for_update: bool = False) -> Any:
    flow = flow_or_404(uow, flow_id, for_update=for_update)
    _, problem = readable(flow.definition)
    if problem is not None:
        raise Conflict(f"the stored draft cannot be read ({problem}); replace its definition (PUT) first")
    return flow.definition


def _value(services: Services, workspace_id: str, run_id: str, node_id: str, value: Any) -> Any:
    """An output as stored for a run (a value, or a pointer to a blob of that run), as a value."""
    if not isinstance(value, BlobRef):
        return value
    try:
        return hydrate(services.blobs, workspace_id, run_id, value)
    except BlobUnreadable as exc:
        raise InvalidInput(
            f"from_run: the output of node '{node_id}' in run {run_id} cannot be read: {exc.problem}",
            {"field": "from_run", "node": node_id},
        ) from None


def _source_run(uow: UnitOfWork, flow_id: str, from_run: str) -> Any:
    run_id = parse_id(from_run, "from_run")
    source = uow.runs.get(run_id)
    if source is None or source.flow_id != flow_id:
        raise InvalidInput(f"from_run: run '{run_id}' is not a run of this flow", {"field": "from_run"})
    return source


def start(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    run_input: dict[str, Any] | None = None,
    *,
    use_pins: bool = True,
    only: str | None = None,
    from_run: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Start a test run of the flow's draft (202 `Run` with `test: true`), named `label` if given.

    A test run takes a concurrency slot like any run but is never held back by a limit: the builder waits for
    its answer (decisions 2026-11-26).

    `use_pins`: pinned nodes do not execute. `only`: run that node alone; every other node is recorded as pinned
    with its output from `from_run` (an earlier run of this flow) or from the pins, and a direct upstream
    node without one is a 422 naming it."""
    flow_id = parse_id(flow_id, "flow")
    label = runs._label(label)
    with services.store.tx(workspace_id, principal.sub) as uow:
        actor = UserActor(principal.sub, authorize(uow, principal, "runs.test"))
        definition = _draft(uow, flow_id, for_update=True)  # serialises snapshot numbering per flow
        flow = valid_or_raise(definition)  # 422 listing the draft's problems
        compiled = compile_flow(flow)
        if find_problem(compiled.asl, MAX_STORED_DEPTH) is not None:
            raise InvalidInput(
                f"definition: this flow compiles to a state machine nested deeper than {MAX_STORED_DEPTH} levels",
                {"field": "definition"},
            )
        if only is not None and only not in flow.dag.pred:
            raise InvalidInput(f"only: the draft has no node '{only}'", {"field": "only"})
        if only is not None and only == flow.entry and flow.node(only).type == "input":
            raise InvalidInput(f"only: '{only}' is the input node; its output is the run's input", {"field": "only"})
        source = _source_run(uow, flow_id, from_run) if from_run is not None else None
        if source is not None and only is None:
            raise InvalidInput("from_run: only with `only` (the outputs of the other nodes)", {"field": "from_run"})
        if run_input is None:
            run_input = source.input if source is not None and isinstance(source.input, dict) else {}
        pins = {p.node_id: p for p in uow.drafts.pins(flow_id)} if use_pins else {}
        pinned = _pinned(services, uow, workspace_id, flow, pins, only, source)

        version = uow.drafts.next_snapshot(flow_id)
        doc = flow.document.canonical()
        machine = services.orchestrator.publish(
            test_machine_name(services, workspace_id, flow_id),
            substitute(compiled.asl, services.runner_arns),
            f"test snapshot {-version} of the draft",
        )
        stored = uow.versions.add(
            flow_id, version, doc, compiled.asl, config_hash(doc), machine.version_arn, "test run of the draft"
        )
        run = uow.runs.create(flow_id, version, run_input, TEST_TRIGGER, actor)
        if label is not None:
            run = uow.runs.set_label(run.id, label) or run
        run_status_changed(uow, run, trigger=TEST_TRIGGER)
        uow.drafts.record_pinned(run.id, pinned)
        for p in pinned:
            uow.events.append(run.id, "node.succeeded", p.node_id, 0, {"take": p.take, "pinned": True})
        seed = _entry(uow, flow, run.id, run_input, only)
        uow.audit.record(
            "run.test",
            "run",
            run.id,
            {
                "flow": flow_id,
                "only": only,
                "from_run": source.id if source else None,
                "pinned": [p.node_id for p in pinned],
            },
            actor=actor,
        )
    runs._launch(services, actor, workspace_id, run.id, stored, run.id, seed)
    with services.store.tx(workspace_id, principal.sub) as uow:
        detail = uow.runs.detail(run.id)
    assert detail is not None
    _sweep_quietly(services)
    return runs.run_view(detail)


SWEEP_ON_START = 20


def _sweep_quietly(services: Services) -> None:
    """Test runs are created here, so they are cleaned up here too: each test run deletes up to SWEEP_ON_START
    expired ones (the starter profile has no sweeper; production's sweeper does the rest). Never fails the
    test run that was just started."""
    try:
        sweep(services, limit=SWEEP_ON_START)
    except Exception:
        log.warning("expired test runs could not be swept now; the next test run tries again", exc_info=True)


def _entry(uow: UnitOfWork, flow: ValidFlow, run_id: str, run_input: Any, only: str | None) -> dict[str, Any]:
    """The input node's run. Running one node opens every edge: the node runs even where the earlier run's
    conditions did not lead to it."""
    if only is None:
        return runs._record_entry(uow, flow, run_id, run_input)
    entry = flow.node(flow.entry)
    if entry.type != "input":
        return {}
    take = {e.target: True for e in flow.edges_out[entry.id]}
    uow.node_runs.record_entry(run_id, entry.id, node_hash(entry), run_input, take)
    uow.events.append(run_id, "node.succeeded", entry.id, 0, {"take": take})
    return {entry.id: {"take": take}}


def _pinned(
    services: Services,
    uow: UnitOfWork,
    workspace_id: str,
    flow: ValidFlow,
    pins: dict[str, Pin],
    only: str | None,
    source: Any,
) -> list[PinnedNode]:
    entry = flow.entry if flow.node(flow.entry).type == "input" else None
    if only is None:
        return [
            PinnedNode(n.id, n.type, node_hash(n), pins[n.id].output)
            for n in flow.document.nodes
            if n.id in pins and n.id != entry
        ]
    outputs: dict[str, Any] = {}
    others = [n.id for n in flow.document.nodes if n.id not in (only, entry)]
    if source is not None:
        recorded = uow.node_runs.outputs(source.id, others)
        outputs = {k: _value(services, workspace_id, source.id, k, v) for k, v in recorded.items()}
    for node_id, p in pins.items():
        if node_id in others:
            outputs[node_id] = p.output
    for pred in flow.dag.pred[only]:
        if pred != entry and pred not in outputs:
            where = f"run {source.id} has no output of it" if source is not None else "it has no pin"
            raise InvalidInput(
                f"only: node '{only}' reads the output of '{pred}', and {where}; pin it or choose a run that has it",
                {"field": "only", "node": pred},
            )
    # Every other node is pinned, its edges all taken: only the chosen node executes.
    return [
        PinnedNode(n.id, n.type, node_hash(n), outputs.get(n.id), take={e.target: True for e in flow.edges_out[n.id]})
        for n in flow.document.nodes
        if n.id in others
    ]


# -- pins ---------------------------------------------------------------------------------------------------
def _pin_view(pin: Pin, stale: bool) -> dict[str, Any]:
    view = {
        "node_id": pin.node_id,
        "output": pin.output,
        "from_run": pin.from_run,
        "pinned_by": pin.pinned_by,
        "pinned_at": pin.pinned_at,
        "stale": stale,
    }
    return serve(view, ("output",))


def list_pins(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> dict[str, Any]:
    """The flow's pins; a pin whose node is no longer in the draft is `stale` (a test run ignores it)."""
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.read")
        flow = flow_or_404(uow, flow_id)
        pins = uow.drafts.pins(flow_id)
    present = set(node_ids(flow.definition))
    return {"items": [_pin_view(p, p.node_id not in present) for p in pins]}


def put_pin(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    node_id: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """Pin a node's output: `output` (typed by hand) or `from_run` (that run's output of the node), exactly one."""
    flow_id = parse_id(flow_id, "flow")
    if ("output" in fields) == ("from_run" in fields):
        raise InvalidInput("output: give exactly one of `output` and `from_run`", {"field": "output"})
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.write")
        flow = flow_or_404(uow, flow_id, for_update=True)
        nodes = {
            n.get("id"): n.get("type")
            for n in (flow.definition.get("nodes") if isinstance(flow.definition, dict) else None) or []
            if isinstance(n, dict)
        }
        if node_id not in nodes:
            raise NotFound(f"the draft has no node '{node_id}'")
        if nodes[node_id] == "input":
            raise InvalidInput(f"node: '{node_id}' is the input node; its output is the run's input", {"field": "node"})
        source: str | None = None
        if "from_run" in fields:
            source = _source_run(uow, flow_id, str(fields["from_run"])).id
            assert source is not None
            recorded = uow.node_runs.outputs(source, [node_id])
            if node_id not in recorded:
                raise InvalidInput(
                    f"from_run: run {source} has no output of node '{node_id}' (it did not succeed there)",
                    {"field": "from_run", "node": node_id},
                )
            output = _value(services, workspace_id, source, node_id, recorded[node_id])
        else:
            output = fields["output"]
        _, problem = readable(output)
        if problem is not None:
            raise InvalidInput(f"output: {problem}", {"field": "output"})
        pin = uow.drafts.pin(flow_id, node_id, output, None, source)
        uow.audit.record("flow.pin", "flow", flow_id, {"node": node_id, "from_run": source})
    return _pin_view(pin, False)


def delete_pin(services: Services, principal: Principal, workspace_id: str, flow_id: str, node_id: str) -> None:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.write")
        flow_or_404(uow, flow_id)
        if not uow.drafts.unpin(flow_id, node_id):
            raise NotFound(f"node '{node_id}' has no pin")
        uow.audit.record("flow.unpin", "flow", flow_id, {"node": node_id})


# -- retention ----------------------------------------------------------------------------------------------
def sweep(services: Services, now: datetime | None = None, limit: int = 100) -> int:
    """Delete test runs older than the retention period in every workspace, their node runs and events, and the
    test snapshots (with their state machine versions) no run uses any more. Returns how many runs went."""
    now = now or datetime.now(UTC)
    before = now - timedelta(days=services.test_run_retention_days)
    with services.store.tx(None) as uow:
        expired = uow.drafts.expired_test_runs(before, limit)
    deleted = 0
    for workspace_id, run_id in expired:
        try:
            with services.store.tx(workspace_id) as uow:
                run = uow.runs.get(run_id, for_update=True)
                if run is None or not run.test:
                    continue
                after_commit: Callable[[], None] | None = None
                if not run.is_terminal:  # an old test run still waiting (an approval): stop it first
                    after_commit = runs.stop(services, uow, run, "the test run's retention period ended")
                versions = uow.drafts.delete_test_run(run_id)
            if after_commit is not None:
                after_commit()
        except Exception:  # one run that cannot go (its execution cannot be stopped) does not stop the sweep
            log.exception("test run %s could not be swept; it is tried again on the next sweep", run_id)
            continue
        deleted += 1
        for arn in versions:
            try:
                services.orchestrator.delete_version(arn)
            except Exception:  # a version left behind is harmless (never live) and cleaned on the next publish
                log.warning("test snapshot version %s could not be deleted", arn, exc_info=True)
    return deleted
