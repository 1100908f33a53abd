// The editor's test-run panel (issue 13): run the saved draft without publishing, watch each node's status,
// see which nodes were pinned (they do not execute), pin a node's output from the run, and run one node alone
// with its upstream outputs from this run. Polls the run with TanStack Query until it ends.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { errorMessage } from "../lib/api";
import { api13, nodeStatusText, runName, type NodeRun13, type Run13 } from "../lib/contract13";
import { duration } from "../lib/format";
import { TERMINAL_RUN } from "../types";
import { keys } from "../lib/queryKeys";
import { OutputViewer } from "./OutputViewer";
import { Drawer, StatusBadge } from "./ui";

const POLL_MS = 1000;

export function TestRunPanel(props: {
  ws: string;
  flowId: string;
  initialInput: unknown;
  /** Saves unsaved edits first (a test run runs the saved draft); false when the save failed. */
  saveFirst: () => Promise<boolean>;
  onClose: () => void;
  /** The draft's node ids (but the input node): what an output can be pinned for by hand. */
  nodeIds?: string[];
}) {
  const { ws, flowId } = props;
  const qc = useQueryClient();
  const [inputText, setInputText] = useState(() => JSON.stringify(props.initialInput ?? {}, null, 2));
  const [usePins, setUsePins] = useState(true);
  const [runId, setRunId] = useState<string | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  let input: Record<string, unknown> | null = null;
  let inputError: string | null = null;
  try {
    const parsed: unknown = JSON.parse(inputText);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      inputError = "The input must be a JSON object, e.g. {}";
    } else {
      input = parsed as Record<string, unknown>;
    }
  } catch (e) {
    inputError = (e as Error).message;
  }

  const pins = useQuery({ queryKey: keys.pins(ws, flowId), queryFn: () => api13.listPins(ws, flowId), retry: false });
  const run = useQuery({
    queryKey: keys.testRun(ws, runId),
    queryFn: () => api13.getRun(ws, runId!),
    enabled: !!runId,
    refetchInterval: (q) => (q.state.data && TERMINAL_RUN.includes(q.state.data.status) ? false : POLL_MS),
  });
  const finished = !!run.data && TERMINAL_RUN.includes(run.data.status);
  // A finished test run is the flow's last run: the editor's completions and previews read it (issue 13).
  useEffect(() => {
    if (finished) void qc.invalidateQueries({ queryKey: keys.lastRun(ws, flowId) });
  }, [finished, qc, ws, flowId]);
  const nodes = useQuery({
    // `finished` in the key: the run's end fetches the nodes once more, so the last states are never a poll behind
    queryKey: [...keys.testRunNodes(ws, runId), finished],
    queryFn: () => api13.runNodes(ws, runId!),
    enabled: !!runId,
    placeholderData: (previous, query) => (query?.queryKey[2] === runId ? keepPreviousData(previous) : undefined),
    refetchInterval: finished ? false : POLL_MS,
  });

  const start = useMutation({
    mutationFn: async (extra: { only?: string; from_run?: string }) => {
      if (!(await props.saveFirst())) throw new Error("The draft could not be saved");
      return api13.startTestRun(ws, flowId, { input, use_pins: usePins, ...extra });
    },
    onSuccess: (r: Run13) => {
      setRunId(r.id);
      setPicked(null);
    },
  });
  const pin = useMutation({
    mutationFn: (node: string) => api13.pin(ws, flowId, node, { from_run: runId! }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.pins(ws, flowId) }),
  });
  const [handNode, setHandNode] = useState("");
  const [handText, setHandText] = useState("{}");
  let handOutput: unknown = undefined;
  let handError: string | null = null;
  try {
    handOutput = JSON.parse(handText);
  } catch (e) {
    handError = (e as Error).message;
  }
  const pinByHand = useMutation({
    mutationFn: () => api13.pin(ws, flowId, handNode, { output: handOutput }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.pins(ws, flowId) }),
  });
  const unpin = useMutation({
    mutationFn: (node: string) => api13.unpin(ws, flowId, node),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.pins(ws, flowId) }),
  });

  const pinned = new Set((pins.data?.items ?? []).map((p) => p.node_id));
  const items = (nodes.data?.items ?? []) as NodeRun13[];
  const chosen = items.find((n) => n.node_id === picked) ?? null;

  return (
    <Drawer title="Test run (draft)" onClose={props.onClose}>
      <div data-testid="test-run-panel">
        {pins.error && <div className="field-error">Pins could not be loaded: {errorMessage(pins.error)}</div>}
        <p className="muted small">Runs the saved draft through the same orchestrator without publishing. Test runs stay out of the runs list and usage.</p>
        <label className="field-label" htmlFor="test-input">Input</label>
        <textarea id="test-input" className={`input mono ${inputError ? "invalid" : ""}`} rows={5} value={inputText} onChange={(e) => setInputText(e.target.value)} />
        {inputError && <div className="field-error">{inputError}</div>}
        <label className="row gap small">
          <input type="checkbox" checked={usePins} onChange={(e) => setUsePins(e.target.checked)} data-testid="use-pins" />
          Use pinned outputs ({pinned.size} pinned)
        </label>
        <div className="row gap" style={{ margin: "10px 0" }}>
          <button className="btn btn-primary" disabled={!!inputError || start.isPending} onClick={() => start.mutate({})} data-testid="start-test-run">
            {start.isPending ? "Starting…" : "▶ Test-run the draft"}
          </button>
          {run.data && (
            <span className="row gap">
              <span className="strong" data-testid="test-run-name">{runName(run.data)}</span>
              <StatusBadge status={run.data.status} />
              {run.data.active_ms != null && <span className="muted small mono">active {duration(run.data.active_ms)}</span>}
            </span>
          )}
        </div>
        {start.error && <div className="field-error">{errorMessage(start.error)}</div>}
        {items.length > 0 && (
          <ul className="test-nodes" data-testid="test-run-nodes">
            {items.map((n) => (
              <li key={n.node_id} data-node-id={n.node_id} data-status={n.status} data-pinned={n.pinned ? "true" : undefined} className={picked === n.node_id ? "on" : ""}>
                <button className="link-btn mono" onClick={() => setPicked(n.node_id)}>{n.node_id}</button>
                {(n.pinned || pinned.has(n.node_id)) && <span className="pill" title="Pinned output: this node does not execute in test runs">📌 pinned</span>}
                <span className="spacer" />
                <span className="small muted" data-testid="node-status-text">{nodeStatusText(n)}</span>
              </li>
            ))}
          </ul>
        )}
        <details className="pins" data-testid="pins">
          <summary>Pinned outputs ({pinned.size})</summary>
          {(pins.data?.items ?? []).length > 0 && (
            <ul className="test-nodes">
              {(pins.data?.items ?? []).map((p) => (
                <li key={p.node_id} data-node-id={p.node_id}>
                  <span className="mono">{p.node_id}</span>
                  <span className="small muted">{p.from_run ? "from a run" : "typed by hand"}{p.stale ? " · not in the draft any more" : ""}</span>
                  <span className="spacer" />
                  <button className="btn btn-sm btn-ghost" onClick={() => unpin.mutate(p.node_id)} data-testid="unpin-listed">Unpin</button>
                </li>
              ))}
            </ul>
          )}
          {(props.nodeIds ?? []).length > 0 && (
            <div className="pin-by-hand">
              <label className="field-label" htmlFor="pin-node">Pin an output by hand</label>
              <select id="pin-node" className="input" value={handNode} onChange={(e) => setHandNode(e.target.value)} data-testid="pin-node">
                <option value="">Choose a node…</option>
                {(props.nodeIds ?? []).map((id) => <option key={id} value={id}>{id}</option>)}
              </select>
              <textarea aria-label="Pinned output (JSON)" className={`input mono ${handError ? "invalid" : ""}`} rows={4} value={handText} onChange={(e) => setHandText(e.target.value)} data-testid="pin-output-text" />
              {handError && <div className="field-error">{handError}</div>}
              {pinByHand.error && <div className="field-error">{errorMessage(pinByHand.error)}</div>}
              <button className="btn btn-sm" disabled={!handNode || !!handError || pinByHand.isPending} onClick={() => pinByHand.mutate()} data-testid="pin-by-hand">
                Pin by hand
              </button>
            </div>
          )}
        </details>
        {chosen && (
          <div className="test-node-detail" data-testid="test-node-detail">
            <div className="row gap">
              <span className="strong mono">{chosen.node_id}</span>
              <span className="spacer" />
              {pinned.has(chosen.node_id) ? (
                <button className="btn btn-sm" onClick={() => unpin.mutate(chosen.node_id)} data-testid="unpin">Unpin</button>
              ) : (
                <button className="btn btn-sm" disabled={chosen.status !== "SUCCEEDED" || pin.isPending} onClick={() => pin.mutate(chosen.node_id)} data-testid="pin-output">
                  Pin this output
                </button>
              )}
              <button
                className="btn btn-sm"
                disabled={!runId || start.isPending}
                title="Run only this node; its upstream outputs come from this run (or pins)"
                onClick={() => start.mutate({ only: chosen.node_id, from_run: runId! })}
                data-testid="run-one-node"
              >
                Run this node alone
              </button>
            </div>
            {(pin.error || unpin.error) && <div className="field-error">{errorMessage(pin.error ?? unpin.error)}</div>}
            <div className="io-grid">
              <div>
                <div className="muted small">Output</div>
                <OutputViewer testId="node-output" value={chosen.output} fileName={`${chosen.node_id}-output.json`} empty="No output" maxHeight={220} />
              </div>
              <div>
                <div className="muted small">Rendered input</div>
                <OutputViewer testId="node-input" value={chosen.input} fileName={`${chosen.node_id}-input.json`} maxHeight={220} />
              </div>
            </div>
          </div>
        )}
      </div>
    </Drawer>
  );
}
