// One run: the flow graph coloured by node status (live from the run's event stream), node details, cancel and
// redrive.
import { applyNodeChanges, ReactFlowProvider, type NodeChange } from "@xyflow/react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, errorMessage } from "../lib/api";
import { overlaps, toReactFlow, withLayout, type CanvasEdge, type CanvasNode } from "../lib/flowConvert";
import { absTime, duration, nextAttempt, num, relTime, usd } from "../lib/format";
import { navigate, paths, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import { applyRunEvents, followEvents, latestCursor } from "../lib/events";
import { keys } from "../lib/queryKeys";
import { TERMINAL_RUN, type FlowDefinition, type NodeRun, type Run, type RunEvent } from "../types";
import { FlowCanvas } from "../components/FlowCanvas";
import { VersionViewer } from "../components/FlowDialogs";
import { AgentSteps } from "../components/AgentSteps";
import { OutputViewer } from "../components/OutputViewer";
import { runName, type Run13 } from "../lib/contract13";
import { TypeIcon } from "../components/nodeStyle";
import { useToast } from "../components/Toasts";
import { ErrorState, JsonView, KV, Modal, Section, Spinner, StatusBadge } from "../components/ui";
import { NodeApproval, WaitingApprovals } from "../components/NodeApproval";
import { useRunApprovals } from "../components/useApprovals";

function ErrorBox({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const e = error as { message?: unknown; type?: unknown; code?: unknown; error?: unknown; cause?: unknown; node?: unknown };
  const message = typeof error === "string" ? error : typeof e.message === "string" ? e.message : typeof e.cause === "string" ? e.cause : null;
  const kind = [e.type, e.code, e.error].find((k): k is string => typeof k === "string") ?? null;
  return (
    <div className="error-box" data-testid="error-box">
      {(kind || typeof e.node === "string") && (
        <div className="error-kind">
          {kind}
          {typeof e.node === "string" && <span className="muted"> in node <span className="mono">{e.node}</span></span>}
        </div>
      )}
      {message && <div className="error-msg">{message}</div>}
      {typeof error === "object" && <details><summary>Details</summary><JsonView value={error} /></details>}
    </div>
  );
}

/** The current time, ticking every second while `on` (a relative time on screen that must move). */
function useNow(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    setNow(Date.now());
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [on]);
  return now;
}

function NodeRunPanel({ nr, runId, onClose, children }: { nr: NodeRun; runId: string; onClose: () => void; children?: ReactNode }) {
  const { workspace } = useSession();
  const [wide, setWide] = useState(false);
  const retrying = nr.status === "RETRYING";
  const now = useNow(retrying);
  const tokens = nr.tokens_in != null || nr.tokens_out != null ? `${num(nr.tokens_in)} in · ${num(nr.tokens_out)} out` : "—";
  return (
    <div className={`side-panel ${wide ? "wide" : ""}`} data-testid="node-run-panel">
      <div className="side-head">
        <TypeIcon type={nr.type} size={18} />
        <div className="side-head-text">
          <div className="strong mono">{nr.node_id}</div>
          <div className="muted small">{nr.type} node</div>
        </div>
        <StatusBadge status={nr.status} />
        <button className="icon-btn" aria-label={wide ? "Narrow the panel" : "Widen the panel: output and input side by side"} title={wide ? "Narrow" : "Output and input side by side"} onClick={() => setWide((w) => !w)} data-testid="widen-panel">
          {wide ? "⇥" : "⇤"}
        </button>
        <button className="icon-btn" aria-label="Close node details" onClick={onClose}>×</button>
      </div>
      {retrying && (
        <div className="callout callout-warn" data-testid="node-retrying">
          Attempt {nr.attempts || 1} failed; the node will run again:{" "}
          <b data-testid="next-attempt" title={absTime(nr.next_attempt_at)}>{nextAttempt(nr.next_attempt_at, now)}</b>.
        </div>
      )}
      {children}
      <Section title="Execution">
        <KV
          items={[
            ["Attempts", <span className="mono">{nr.attempts ?? 0}{nr.executions != null && nr.executions !== nr.attempts ? ` (${nr.executions} executed)` : ""}</span>],
            ...(retrying ? [["Next attempt", <span title={absTime(nr.next_attempt_at)}>{absTime(nr.next_attempt_at)}</span>] as [string, ReactNode]] : []),
            ["Started", absTime(nr.started_at)],
            ["Finished", absTime(nr.finished_at)],
            ["Duration", <span className="mono">{duration(nr.duration_ms)}</span>],
            ["Model", nr.model ? <span className="mono">{nr.model}</span> : "—"],
            ["Tokens", <span className="mono">{tokens}</span>],
            [
              "LLM cost",
              <span className="mono" data-testid="node-llm-cost">
                {usd(nr.cost_usd)}
                {nr.cost_source === "unknown" && <span className="muted small" title="The model reported tokens but has no price: its LLM cost counts as $0"> · no price for this model</span>}
              </span>,
            ],
            ["Compute cost", <span className="mono">{usd(nr.compute_cost_usd)}</span>],
            ["Orchestration cost", <span className="mono">{usd(nr.orchestration_cost_usd)}</span>],
          ]}
        />
      </Section>
      <AgentSteps workspaceId={workspace.id} runId={runId} nodeRun={nr} />
      {nr.error != null && (
        <Section title={retrying ? "Error of the failed attempt" : "Error"}>
          <ErrorBox error={nr.error} />
        </Section>
      )}
      <Section title="Output and input">
        {typeof (nr.output as { text?: unknown } | null)?.text === "string" && (
          <div className="response" data-testid="node-response">{(nr.output as { text: string }).text}</div>
        )}
        <div className="io-grid">
          <div>
            <div className="muted small">Output</div>
            <OutputViewer
              testId="node-output"
              value={nr.output}
              fileName={`${nr.node_id}-output.json`}
              empty={nr.status === "SUCCEEDED" ? "null" : nr.status === "PENDING" || nr.status === "RUNNING" || nr.status === "RETRYING" ? "No output yet" : "No output"}
            />
          </div>
          <div>
            <div className="muted small">Rendered input</div>
            <OutputViewer testId="node-input" value={nr.input} fileName={`${nr.node_id}-input.json`} empty="—" maxHeight={260} />
          </div>
        </div>
      </Section>
    </div>
  );
}

function Timeline({ nodes, run, onPick }: { nodes: NodeRun[]; run: Run; onPick: (id: string) => void }) {
  const t0 = Date.parse(run.started_at ?? run.created_at);
  const ends = nodes.map((n) => (n.finished_at ? Date.parse(n.finished_at) : n.started_at ? Date.now() : NaN)).filter((x) => !Number.isNaN(x));
  const t1 = Math.max(t0 + 1, ...(ends.length ? ends : [t0 + 1]), run.finished_at ? Date.parse(run.finished_at) : 0);
  const span = t1 - t0;
  const ordered = [...nodes].sort((a, b) => (Date.parse(a.started_at ?? "") || Infinity) - (Date.parse(b.started_at ?? "") || Infinity));
  return (
    <ul className="timeline" data-testid="node-list">
      {ordered.map((n) => {
        const s = n.started_at ? Date.parse(n.started_at) : NaN;
        const e = n.finished_at ? Date.parse(n.finished_at) : n.status === "RUNNING" ? Date.now() : NaN;
        const left = Number.isNaN(s) ? 0 : ((s - t0) / span) * 100;
        const width = Number.isNaN(s) || Number.isNaN(e) ? 0 : Math.max(1.5, ((e - s) / span) * 100);
        return (
          <li key={n.node_id}>
            <button className="tl-row" onClick={() => onPick(n.node_id)} data-node-id={n.node_id}>
              <span className={`dot-sm status-${n.status.toLowerCase()}`} />
              <span className="tl-name mono">{n.node_id}</span>
              <span className="tl-bar">
                {width > 0 && <span className={`tl-fill status-bg-${n.status.toLowerCase()}`} style={{ left: `${Math.min(left, 98.5)}%`, width: `${Math.min(width, 100 - Math.min(left, 98.5))}%` }} />}
              </span>
              <span className="tl-dur mono">{n.status === "SKIPPED" ? "skipped" : n.status === "PENDING" ? "—" : duration(n.duration_ms)}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

const NO_NODES: NodeRun[] = [];

/** What the run view draws: the run's version, else the flow's current draft with a note saying so. */
async function loadGraph(ws: string, flowId: string, version: number | null): Promise<{ definition: FlowDefinition | null; note: string | null }> {
  if (version) {
    try {
      const v = await api.getVersion(ws, flowId, version);
      if (v.definition) return { definition: v.definition, note: null };
    } catch {
      // fall back to the draft below
    }
  }
  try {
    const f = await api.getFlow(ws, flowId);
    return { definition: f.definition, note: "Showing the flow's current draft: the run's version could not be loaded." };
  } catch {
    return { definition: null, note: "The flow's definition is unavailable (was the flow deleted?)." };
  }
}

function View({ runId }: { runId: string }) {
  const { workspace } = useSession();
  const toast = useToast();
  const qc = useQueryClient();
  const editable = canEdit(workspace.role);
  // The run and its nodes are two queries; the event stream below writes into their cache (setQueryData).
  const runKey = keys.run(workspace.id, runId);
  const nodesKey = keys.nodeRuns(workspace.id, runId);
  const runQ = useQuery({ queryKey: runKey, queryFn: () => api.getRun(workspace.id, runId) });
  const nodesQ = useQuery({ queryKey: nodesKey, queryFn: () => api.runNodes(workspace.id, runId).then((p) => p.items) });
  const run = runQ.data ?? null;
  const nodeRuns = nodesQ.data ?? NO_NODES;
  const [streamError, setStreamError] = useState<string | null>(null);
  const refetchError = runQ.error ?? nodesQ.error;
  const pollError = streamError ?? (run && refetchError ? errorMessage(refetchError) : null);
  const [selected, setSelected] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<null | "cancel" | "redrive">(null);
  const [showVersion, setShowVersion] = useState(false);
  const [redriveOnLive, setRedriveOnLive] = useState(false);
  const approvals = useRunApprovals(workspace.id, runId, nodeRuns);
  useTitle(run ? `${run.status.charAt(0)}${run.status.slice(1).toLowerCase()} · ${run.flow_name ?? "run"}` : "Run");

  const refresh = useCallback(
    () =>
      Promise.all([
        qc.invalidateQueries({ queryKey: keys.run(workspace.id, runId) }),
        qc.invalidateQueries({ queryKey: keys.nodeRuns(workspace.id, runId) }),
      ]),
    [qc, workspace.id, runId],
  );

  // The graph is the version the run executed (falling back to the current draft).
  const graphQ = useQuery({
    queryKey: keys.runGraph(workspace.id, run?.flow_id ?? "", run?.version ?? null),
    queryFn: () => loadGraph(workspace.id, run!.flow_id, run!.version ?? null),
    enabled: !!run,
    staleTime: Infinity,
  });
  const definition = graphQ.data?.definition ?? null;
  const defNote = graphQ.data?.note ?? null;

  // Live from the run's event stream (Server-Sent Events locally, a long poll through API Gateway): events move
  // nodes and the run in place, in the query cache.
  const terminal = run ? TERMINAL_RUN.includes(run.status) : false;
  const loaded = run !== null;
  useEffect(() => {
    if (!loaded) return;
    const stop = new AbortController();
    const path = `/v1/workspaces/${encodeURIComponent(workspace.id)}/runs/${encodeURIComponent(runId)}/events`;
    const onEvents = (events: RunEvent[]) => {
      const before = qc.getQueryData<Run>(keys.run(workspace.id, runId));
      if (!before) return;
      const next = applyRunEvents(before, qc.getQueryData<NodeRun[]>(keys.nodeRuns(workspace.id, runId)) ?? [], events);
      qc.setQueryData(keys.run(workspace.id, runId), next.run);
      qc.setQueryData(keys.nodeRuns(workspace.id, runId), next.nodes);
      approvals.onEvents(events);
      // When the run ends, the toast effect below refreshes once for its outputs, durations and costs.
    };
    // Events after what the first load showed: the stream from its start would replay what we drew.
    latestCursor(path)
      .then((cursor) => {
        void refresh(); // anything that changed between the first load and the cursor
        return followEvents(path, cursor, onEvents, stop.signal, setStreamError);
      })
      .catch((e) => setStreamError(errorMessage(e)));
    return () => stop.abort();
  }, [loaded, workspace.id, runId, refresh, approvals.onEvents]); // eslint-disable-line react-hooks/exhaustive-deps
  // Toast a run's outcome once, when a run we watched finishes (never for a stale status after a redrive).
  const announced = useRef<string | null>(null);
  const sawActive = useRef(false);
  useEffect(() => {
    if (!run) return;
    if (!terminal) {
      sawActive.current = true;
      return;
    }
    const key = `${run.status}@${run.finished_at ?? ""}`;
    if (sawActive.current && announced.current !== key) {
      announced.current = key;
      sawActive.current = false;
      if (run.status === "SUCCEEDED") toast.success("Run succeeded");
      else if (run.status === "FAILED") toast.error("Run failed", "Select the red node to see why.");
      else toast.info("Run cancelled");
      void refresh();
    } else if (announced.current === null) announced.current = key;
  }, [run, terminal, refresh, toast]);

  const byNode = useMemo(() => new Map(nodeRuns.map((n) => [n.node_id, n])), [nodeRuns]);

  const graph = useMemo(() => {
    if (!definition) return { nodes: [] as CanvasNode[], edges: [] as CanvasEdge[] };
    const g = toReactFlow(overlaps(definition) ? withLayout(definition) : definition);
    const nodes = g.nodes.map((n) => {
      const nr = byNode.get(n.id);
      return { ...n, selected: n.id === selected, data: { ...n.data, status: nr?.status ?? (terminal ? undefined : "PENDING"), durationMs: nr?.duration_ms, readOnly: true } };
    });
    const edges = g.edges.map((e) => {
      const s = byNode.get(e.source)?.status;
      const t = byNode.get(e.target)?.status;
      let className = "";
      if (t === "SKIPPED") className = "edge-skipped";
      else if (s === "SUCCEEDED" && (t === "SUCCEEDED" || t === "FAILED")) className = "edge-done";
      else if (s === "SUCCEEDED" && t === "RUNNING") className = "edge-active";
      return { ...e, className, animated: className === "edge-active", label: e.data?.condition && !e.sourceHandle ? e.data.condition : undefined };
    });
    return { nodes, edges };
  }, [definition, byNode, selected, terminal]);

  // React Flow stores measured sizes on the nodes; keep them across polls so the minimap and fit work.
  const [rfNodes, setRfNodes] = useState<CanvasNode[]>([]);
  useEffect(() => {
    setRfNodes((prev) => {
      const measured = new Map(prev.map((n) => [n.id, n]));
      return graph.nodes.map((n) => {
        const p = measured.get(n.id);
        return p ? { ...n, measured: p.measured, width: p.width, height: p.height } : n;
      });
    });
  }, [graph.nodes]);
  const onNodesChange = useCallback(
    (changes: NodeChange<CanvasNode>[]) => setRfNodes((ns) => applyNodeChanges(changes.filter((c) => c.type === "dimensions"), ns)),
    [],
  );

  const again = useMutation({
    mutationFn: (r: Run) => api.startRun(workspace.id, r.flow_id, r.input ?? {}, r.version ?? undefined),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: keys.allRuns(workspace.id) });
      toast.success("Run started", "Same version, same input.");
      navigate(paths.run(workspace.id, r.id));
    },
    onError: (e) => toast.error("Could not start the run", errorMessage(e)),
  });
  const runAgain = () => {
    if (run) again.mutate(run);
  };

  // The flow's live version: a failed run can be redriven on it (changed nodes run again, the rest is reused).
  const redrivable = run !== null && (run.status === "FAILED" || run.status === "CANCELLED");
  const flowQ = useQuery({
    queryKey: keys.flow(workspace.id, run?.flow_id ?? ""),
    queryFn: () => api.getFlow(workspace.id, run!.flow_id),
    enabled: redrivable,
    staleTime: 0, // the live version moves in the editor: ask again on each visit
  });
  const liveVersion = redrivable ? (flowQ.data?.live_version ?? null) : null;
  const newerLive = run && liveVersion && liveVersion !== run.version ? liveVersion : null;

  const action = useMutation({
    mutationFn: (what: "cancel" | "redrive") => {
      const onVersion = what === "redrive" && redriveOnLive && newerLive ? newerLive : undefined;
      return what === "cancel" ? api.cancelRun(workspace.id, runId) : api.redriveRun(workspace.id, runId, onVersion);
    },
    onSuccess: (r, what) => {
      qc.setQueryData(keys.run(workspace.id, runId), r);
      if (what === "redrive") sawActive.current = true;
      toast.success(what === "cancel" ? "Cancellation requested" : "Run redriven", what === "redrive" ? "Finished nodes are reused; failed ones run again." : undefined);
      setConfirm(null);
      void refresh();
      void qc.invalidateQueries({ queryKey: keys.allRuns(workspace.id) });
    },
    onError: (e, what) => toast.error(what === "cancel" ? "Could not cancel the run" : "Could not redrive the run", errorMessage(e)),
  });
  const act = (what: "cancel" | "redrive") => action.mutate(what);
  const busy = again.isPending || action.isPending;

  const error = runQ.error ? errorMessage(runQ.error) : null;
  if (error && !run)

    return (
      <div className="page">
        <ErrorState title="Could not load the run" message={error} onRetry={() => void refresh()} />
        <div className="center"><a className="btn btn-ghost" href={`#${paths.runs(workspace.id)}`}>← All runs</a></div>
      </div>
    );
  if (!run || (nodesQ.isPending && !nodesQ.error)) return <div className="page-center"><Spinner label="Loading run…" /></div>;

  const selectedRun = selected ? byNode.get(selected) : undefined;
  const selectedDef = selected ? definition?.nodes.find((n) => n.id === selected) : undefined;
  const counts = nodeRuns.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n.status]: (acc[n.status] ?? 0) + 1 }), {});
  const label = (s: string) => (terminal && s === "PENDING" ? "not run" : s.toLowerCase());

  return (
    <div className="editor">
      <div className="toolbar">
        <div className="toolbar-left">
          <a className="crumb-link" href={`#${paths.runs(workspace.id)}`}>Runs</a>
          <span className="crumb-sep">/</span>
          <span className="toolbar-title mono" data-testid="run-id" title={run.id}>{(run as Run13).number != null ? runName(run as Run13) : run.id}</span>
          <span data-testid="run-status"><StatusBadge status={run.status} /></span>
          {!terminal && <span className="live-dot" title="Updating every second">live</span>}
          {pollError && <span className="save-state dirty" title={pollError}>connection problem — retrying</span>}
        </div>
        <div className="toolbar-right">
          <a className="btn btn-ghost" href={`#${paths.flow(workspace.id, run.flow_id)}`}>Open flow</a>
          {editable && terminal && (
            <button className="btn" disabled={busy} onClick={runAgain} data-testid="run-again" title="Start a new run of the same version with the same input">
              Run again
            </button>
          )}
          {editable && !terminal && <button className="btn btn-danger-outline" disabled={busy} onClick={() => setConfirm("cancel")} data-testid="cancel-run">Cancel run</button>}
          {editable && (run.status === "FAILED" || run.status === "CANCELLED") && (
            <button className="btn btn-primary" disabled={busy} onClick={() => setConfirm("redrive")} data-testid="redrive-run">Redrive</button>
          )}
        </div>
      </div>
      <div className="run-summary">
        <div className="sum"><span className="sum-l">Flow</span><a className="link" href={`#${paths.flow(workspace.id, run.flow_id)}`}>{run.flow_name ?? run.flow_id}</a></div>
        <div className="sum"><span className="sum-l">Version</span>{run.version ? <button className="sum-link mono" title="View this version's definition and ASL" onClick={() => setShowVersion(true)}>v{run.version}</button> : <span>—</span>}</div>
        <div className="sum"><span className="sum-l">Started</span><span title={absTime(run.started_at ?? run.created_at)}>{relTime(run.started_at ?? run.created_at)}</span></div>
        <div className="sum"><span className="sum-l">Elapsed</span><span className="mono" data-testid="run-elapsed">{run.duration_ms != null ? duration(run.duration_ms) : run.started_at && !terminal ? duration(Date.now() - Date.parse(run.started_at)) : "—"}</span></div>
        {(run as Run13).active_ms != null && (
          <div className="sum" title="Time executing, without waits between redrives or for approvals"><span className="sum-l">Active</span><span className="mono" data-testid="run-active">{duration((run as Run13).active_ms)}</span></div>
        )}
        <div className="sum"><span className="sum-l">Tokens</span><span className="mono">{num(run.tokens)}</span></div>
        <div className="sum"><span className="sum-l">Cost</span><span className="mono" data-testid="run-cost" title={`LLM ${usd(run.cost.llm)} · compute ${usd(run.cost.compute)} · orchestration ${usd(run.cost.orchestration)}`}>{usd(run.cost.total)}</span></div>
        <div className="sum sum-grow"><span className="sum-l">Nodes</span>
          <span className="node-counts">
            {(["SUCCEEDED", "RUNNING", "RETRYING", "FAILED", "SKIPPED", "PENDING"] as const).filter((s) => counts[s]).map((s) => (
              <span key={s} className="nc"><span className={`dot-sm status-${s.toLowerCase()}`} />{counts[s]} {label(s)}</span>
            ))}
            {!nodeRuns.length && <span className="muted">none yet</span>}
          </span>
        </div>
      </div>
      <div className="editor-body">
        {definition ? (
          <FlowCanvas nodes={rfNodes} edges={graph.edges} editable={false} onNodesChange={onNodesChange} onSelect={(s) => setSelected(s?.node ?? null)} />
        ) : (
          <div className="canvas canvas-empty">{defNote ? <div className="muted">{defNote}</div> : <Spinner label="Loading graph…" />}</div>
        )}
        <aside className="inspector inspector-wide">
          {selected && selectedRun ? (
            <NodeRunPanel nr={selectedRun} runId={runId} onClose={() => setSelected(null)}>
              <NodeApproval ws={workspace.id} nr={selectedRun} approval={approvals.forNode(selectedRun.node_id)} onChanged={approvals.reload} />
            </NodeRunPanel>
          ) : selected ? (
            <div className="side-panel">
              <div className="side-head">
                <TypeIcon type={selectedDef?.type ?? "?"} size={18} />
                <div className="side-head-text"><div className="strong mono">{selected}</div><div className="muted small">{selectedDef?.type} node</div></div>
                <button className="icon-btn" aria-label="Close node details" onClick={() => setSelected(null)}>×</button>
              </div>
              <div className="panel-section muted">{terminal ? "This node did not run." : "This node has not started yet."}</div>
            </div>
          ) : (
            <div className="side-panel">
              {run.error != null && (
                <Section title="Error"><ErrorBox error={run.error} /></Section>
              )}
              <WaitingApprovals items={approvals.items} onPick={setSelected} />
              <Section title="Nodes">
                {nodeRuns.length ? <Timeline nodes={nodeRuns} run={run} onPick={setSelected} /> : <div className="muted small">{terminal ? "No node ran." : "Waiting for the first node…"}</div>}
              </Section>
              <Section title="Output and input">
                <div data-testid="run-output"><JsonView value={run.output} empty={terminal ? "No output" : "Not finished yet"} maxHeight={260} /></div>
              </Section>
                      {defNote && <div className="panel-section muted small">{defNote}</div>}
            </div>
          )}
        </aside>
      </div>
      {showVersion && run.version && <VersionViewer ws={workspace.id} flowId={run.flow_id} version={run.version} onClose={() => setShowVersion(false)} />}
      {confirm && (
        <Modal
          title={confirm === "cancel" ? "Cancel this run?" : "Redrive this run?"}
          onClose={() => setConfirm(null)}
          footer={
            <>
              <button className="btn" onClick={() => setConfirm(null)}>Back</button>
              <button className={`btn ${confirm === "cancel" ? "btn-danger" : "btn-primary"}`} disabled={busy} onClick={() => act(confirm)} data-testid="confirm-action">
                {confirm === "cancel" ? "Cancel run" : "Redrive"}
              </button>
            </>
          }
        >
          {confirm === "cancel" ? (
            <p>Running nodes are stopped and the run ends as <b>Cancelled</b>. You can redrive it later.</p>
          ) : (
            <>
              <p>The run restarts from where it stopped. Nodes that already succeeded are <b>reused, not repeated</b>, so no side effect happens twice.</p>
              {newerLive && run && (
                <div className="redrive-choice" data-testid="redrive-version">
                  <label>
                    <input type="radio" name="redrive-version" checked={!redriveOnLive} onChange={() => setRedriveOnLive(false)} />{" "}
                    on <b>v{run.version}</b>, the version it ran
                  </label>
                  <label>
                    <input type="radio" name="redrive-version" checked={redriveOnLive} onChange={() => setRedriveOnLive(true)} />{" "}
                    on <b>v{newerLive}</b> (live): nodes that changed, and what depends on them, run again; the rest is reused
                  </label>
                </div>
              )}
            </>
          )}
        </Modal>
      )}
    </div>
  );
}

export function RunView({ runId }: { runId: string }) {
  return (
    <ReactFlowProvider>
      <View runId={runId} />
    </ReactFlowProvider>
  );
}
