// The flow editor: palette, canvas, side panel, and the save / validate / publish / run toolbar.
import {
  addEdge,
  applyEdgeChanges,
  applyNodeChanges,
  ReactFlowProvider,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type ReactFlowInstance,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { api, ApiError, errorMessage } from "../lib/api";
import {
  exampleInput,
  fromReactFlow,
  groupIssues,
  LAYOUT,
  nextNodeId,
  overlaps,
  toReactFlow,
  withLayout,
  upstreamOf,
  type CanvasEdge,
  type CanvasNode,
} from "../lib/flowConvert";
import { initialConfig } from "../lib/schemaForm";
import { relTime } from "../lib/format";
import { navigate, paths, setNavigationGuard, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import type { Flow, FlowDefinition, NodeType, Run } from "../types";
import { FlowCanvas } from "../components/FlowCanvas";
import { EdgePanel, NodePanel } from "../components/NodePanel";
import { DefinitionDialog, PublishDialog, RunDialog, VersionsDrawer } from "../components/FlowDialogs";
import { TypeIcon } from "../components/nodeStyle";
import { useToast } from "../components/Toasts";
import { ErrorState, Section, Spinner } from "../components/ui";

type Issues = ReturnType<typeof groupIssues>;
const NO_ISSUES: Issues = groupIssues([]);
const DND_TYPE = "application/x-nexod-node-type";

function Palette({ types, error, onAdd }: { types: NodeType[] | null; error: string | null; onAdd: (type: string) => void }) {
  const [q, setQ] = useState("");
  const shown = (types ?? []).filter((t) => !q || t.type.includes(q.toLowerCase()) || t.description.toLowerCase().includes(q.toLowerCase()));
  return (
    <aside className="palette" aria-label="Node palette">
      <div className="palette-head">
        <div className="palette-title">Nodes</div>
        <input className="input input-sm" placeholder="Search…" value={q} onChange={(e) => setQ(e.target.value)} />
      </div>
      <div className="palette-list">
        {types === null && (error ? <div className="callout callout-error compact">Node types unavailable: {error}</div> : <Spinner />)}
        {shown.map((t) => (
          <div
            key={t.type}
            className="palette-item"
            draggable
            data-testid={`palette-${t.type}`}
            title={`${t.description}\n\nDrag onto the canvas, or click to add.`}
            onDragStart={(e) => {
              e.dataTransfer.setData(DND_TYPE, t.type);
              e.dataTransfer.effectAllowed = "move";
            }}
            onClick={() => onAdd(t.type)}
          >
            <TypeIcon type={t.type} />
            <div className="palette-text">
              <div className="palette-name">{t.type}</div>
              <div className="palette-desc">{t.description.split(/(?<=\.)\s/)[0]}</div>
            </div>
          </div>
        ))}
      </div>
      <div className="palette-tip">Drag to the canvas, or click to insert after the selected node · <kbd>Del</kbd> removes</div>
    </aside>
  );
}

function RecentRuns({ ws, flowId }: { ws: string; flowId: string }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  useEffect(() => {
    api.listRuns(ws, { flow: flowId }).then((p) => setRuns(p.items.slice(0, 6)), () => setRuns([]));
  }, [ws, flowId]);
  return (
    <Section title="Recent runs" right={<a className="link small" href={`#${paths.runs(ws, { flow: flowId })}`}>All runs</a>}>
      {runs === null ? (
        <div className="muted small">Loading…</div>
      ) : runs.length === 0 ? (
        <div className="muted small">No runs yet.</div>
      ) : (
        <ul className="recent-runs">
          {runs.map((r) => (
            <li key={r.id}>
              <a className="recent-run" href={`#${paths.run(ws, r.id)}`}>
                <span className={`dot-sm status-${r.status.toLowerCase()}`} title={r.status} />
                <span className="mono">{r.id}</span>
                <span className="muted">v{r.version ?? "?"}</span>
                <span className="muted">{relTime(r.created_at)}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function Editor({ flowId }: { flowId: string }) {
  const { workspace, nodeTypes, nodeTypesError } = useSession();
  const toast = useToast();
  const editable = canEdit(workspace.role);
  const [flow, setFlow] = useState<Flow | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [nodes, setNodes] = useState<CanvasNode[]>([]);
  const [edges, setEdges] = useState<CanvasEdge[]>([]);
  const [savedJson, setSavedJson] = useState("");
  const [meta, setMeta] = useState({ name: "", description: "" });
  const [selection, setSelection] = useState<{ node?: string; edge?: string } | null>(null);
  const [issues, setIssues] = useState<Issues>(NO_ISSUES);
  const [validity, setValidity] = useState<{ valid: boolean; states?: number; checking?: boolean } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [dialog, setDialog] = useState<null | "run" | "publish" | "versions" | "json">(null);
  const [runVersion, setRunVersion] = useState<number | undefined>(undefined);
  const rf = useRef<ReactFlowInstance<CanvasNode, CanvasEdge> | null>(null);

  const typeMap = useMemo(() => new Map((nodeTypes ?? []).map((t) => [t.type, t])), [nodeTypes]);
  const definition = useMemo(() => fromReactFlow(nodes, edges), [nodes, edges]);
  const defJson = useMemo(() => JSON.stringify(definition), [definition]);
  const dirty = flow !== null && (defJson !== savedJson || meta.name !== flow.name || meta.description !== (flow.description ?? ""));
  useTitle(flow ? `${dirty ? "● " : ""}${meta.name || flow.name}` : "Flow");

  const applyDefinition = useCallback((def: FlowDefinition) => {
    const { nodes: n, edges: e } = toReactFlow(def);
    setNodes(n);
    setEdges(e);
    return JSON.stringify(fromReactFlow(n, e));
  }, []);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const f = await api.getFlow(workspace.id, flowId);
      setFlow(f);
      setMeta({ name: f.name, description: f.description ?? "" });
      // Cramped saved positions are laid out for display; the next save keeps the new positions.
      const def = f.definition ?? { nodes: [], edges: [] };
      const loaded = applyDefinition(overlaps(def) ? withLayout(def) : def);
      setSavedJson(loaded);
      hist.current = { past: [], future: [], last: loaded, restoring: false };
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, [workspace.id, flowId, applyDefinition]);

  useEffect(() => {
    void load();
  }, [load]);

  // Warn before closing the tab with unsaved work.
  useEffect(() => {
    if (!dirty) return;
    const on = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", on);
    return () => window.removeEventListener("beforeunload", on);
  }, [dirty]);

  // Ask before leaving for another page of the console with unsaved work.
  useEffect(() => {
    if (!dirty) return;
    setNavigationGuard(() => window.confirm("This flow has unsaved changes. Leave without saving?"));
    return () => setNavigationGuard(null);
  }, [dirty]);

  // Validate as you build (debounced); only editors, only when something changed.
  useEffect(() => {
    if (!flow || !editable) return;
    if (!nodes.length) {
      setIssues(NO_ISSUES);
      setValidity(null);
      return;
    }
    setValidity((v) => (v ? { ...v, checking: true } : { valid: true, checking: true }));
    const t = window.setTimeout(async () => {
      try {
        const r = await api.validate(workspace.id, JSON.parse(defJson) as FlowDefinition);
        setIssues(NO_ISSUES);
        setValidity({ valid: true, states: r.state_count });
      } catch (e) {
        if (e instanceof ApiError && (e.status === 422 || e.status === 413)) {
          setIssues(groupIssues(e.details ?? [{ code: e.code, message: e.message }]));
          setValidity({ valid: false });
        } else setValidity(null);
      }
    }, 700);
    return () => window.clearTimeout(t);
  }, [defJson, flow, editable, workspace.id, nodes.length]);

  const handleInvalid = (e: unknown, what: string): boolean => {
    if (e instanceof ApiError && (e.status === 422 || e.status === 413)) {
      const g = groupIssues(e.details ?? [{ code: e.code, message: e.message }]);
      setIssues(g);
      setValidity({ valid: false });
      toast.error(`${what}: the flow has ${g.all.length || 1} problem${g.all.length === 1 ? "" : "s"}`, g.all[0]?.message ?? e.message);
      return true;
    }
    return false;
  };

  const save = async (quiet = false): Promise<Flow | null> => {
    if (!flow) return null;
    setBusy("save");
    try {
      const body: { name?: string; description?: string; definition: FlowDefinition } = { definition };
      if (meta.name !== flow.name) body.name = meta.name;
      if (meta.description !== (flow.description ?? "")) body.description = meta.description;
      const f = await api.updateFlow(workspace.id, flow.id, body);
      setFlow({ ...flow, ...f });
      setSavedJson(defJson);
      if (!quiet) toast.success("Draft saved");
      return f;
    } catch (e) {
      if (!handleInvalid(e, "Not saved")) toast.error("Could not save the flow", errorMessage(e));
      return null;
    } finally {
      setBusy(null);
    }
  };

  const validateNow = async () => {
    setBusy("validate");
    try {
      const r = await api.validate(workspace.id, definition);
      setIssues(NO_ISSUES);
      setValidity({ valid: true, states: r.state_count });
      toast.success("The flow is valid", r.state_count !== undefined ? `It compiles to ${r.state_count} Step Functions states.` : undefined);
    } catch (e) {
      if (!handleInvalid(e, "Validation failed")) toast.error("Could not validate", errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const publish = async (description: string) => {
    if (!flow) return;
    if (dirty && !(await save(true))) return;
    setBusy("publish");
    try {
      const v = await api.publish(workspace.id, flow.id, description || undefined);
      toast.success(`Published v${v.version}`, "It is now the live version.");
      setDialog(null);
      const f = await api.getFlow(workspace.id, flow.id);
      setFlow(f);
    } catch (e) {
      if (!handleInvalid(e, "Not published")) toast.error("Could not publish", errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const startRun = async (input: unknown, version?: number) => {
    if (!flow) return;
    try {
      const run = await api.startRun(workspace.id, flow.id, input, version);
      toast.success("Run started");
      navigate(paths.run(workspace.id, run.id));
    } catch (e) {
      toast.error("Could not start the run", errorMessage(e));
    }
  };

  // Undo history of the document: edits settle for 400 ms (a drag is one step), at most 100 steps.
  const hist = useRef({ past: [] as string[], future: [] as string[], last: "", restoring: false });
  useEffect(() => {
    const t = window.setTimeout(() => {
      const h = hist.current;
      if (h.restoring || !h.last) {
        h.restoring = false;
        h.last = defJson;
        return;
      }
      if (defJson === h.last) return;
      h.past.push(h.last);
      if (h.past.length > 100) h.past.shift();
      h.future = [];
      h.last = defJson;
    }, 400);
    return () => window.clearTimeout(t);
  }, [defJson]);
  const restore = (snapshot: string) => {
    hist.current.restoring = true;
    hist.current.last = snapshot;
    applyDefinition(JSON.parse(snapshot) as FlowDefinition);
    setSelection(null);
  };
  const undo = () => {
    const h = hist.current;
    if (defJson !== h.last && h.last) {
      h.future.push(defJson);
      restore(h.last);
      return;
    }
    const prev = h.past.pop();
    if (prev === undefined) return;
    h.future.push(defJson);
    restore(prev);
  };
  const redo = () => {
    const h = hist.current;
    const next = h.future.pop();
    if (next === undefined) return;
    h.past.push(defJson);
    restore(next);
  };

  // Ctrl/Cmd+S saves; Ctrl/Cmd+Z undoes and Ctrl/Cmd+Shift+Z (or Ctrl+Y) redoes outside text fields.
  const saveRef = useRef(save);
  saveRef.current = save;
  const undoRef = useRef({ undo, redo });
  undoRef.current = { undo, redo };
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "s") {
        e.preventDefault();
        if (editable) void saveRef.current();
        return;
      }
      const inField = (e.target as HTMLElement | null)?.closest?.("input, textarea, select, [contenteditable]");
      if (!editable || !mod || inField) return;
      if (key === "z" && !e.shiftKey) {
        e.preventDefault();
        undoRef.current.undo();
      } else if ((key === "z" && e.shiftKey) || key === "y") {
        e.preventDefault();
        undoRef.current.redo();
      }
    };
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, [editable]);

  const onNodesChange = useCallback((changes: NodeChange<CanvasNode>[]) => setNodes((n) => applyNodeChanges(changes, n)), []);
  const onEdgesChange = useCallback((changes: EdgeChange<CanvasEdge>[]) => setEdges((e) => applyEdgeChanges(changes, e)), []);
  const onConnect = useCallback((c: Connection) => {
    if (c.source === c.target) return;
    setEdges((es) => {
      const id = `${c.source}->${c.target}`;
      if (es.some((e) => e.source === c.source && e.target === c.target)) return es;
      const condition = c.sourceHandle === "true" || c.sourceHandle === "false" ? c.sourceHandle : undefined;
      return addEdge<CanvasEdge>({ ...c, id, data: { condition } }, es);
    });
  }, []);

  const addNode = (type: string, at?: { x: number; y: number }, after?: string) => {
    const nt = typeMap.get(type);
    let ns = nodes;
    const id = nextNodeId(type, ns.map((n) => n.id));
    let position = at;
    const prev = after ? ns.find((n) => n.id === after) : undefined;
    if (!position && prev && type !== "input") {
      // Clicked in the palette with a node selected. If it has exactly one plain outgoing edge, insert the new
      // node on that edge (shifting what follows to the right); otherwise append it after the selected node.
      const out = edges.filter((e) => e.source === prev.id);
      const single = out.length === 1 && !out[0].data?.condition ? out[0] : undefined;
      if (single) {
        const shiftFrom = prev.position.x + LAYOUT.dx / 2;
        ns = ns.map((n) => (n.position.x > shiftFrom ? { ...n, position: { ...n.position, x: n.position.x + LAYOUT.dx } } : n));
        position = { x: prev.position.x + LAYOUT.dx, y: prev.position.y };
        setEdges((es) => [
          ...es.filter((e) => e.id !== single.id),
          { id: `${prev.id}->${id}`, source: prev.id, target: id, data: {} },
          { id: `${id}->${single.target}`, source: id, target: single.target, data: {} },
        ]);
      } else {
        const column = ns.filter((n) => Math.abs(n.position.x - (prev.position.x + LAYOUT.dx)) < 40 && n.position.y >= prev.position.y - 20);
        position = { x: prev.position.x + LAYOUT.dx, y: prev.position.y + column.length * LAYOUT.dy };
        setEdges((es) => addEdge<CanvasEdge>({ id: `${prev.id}->${id}`, source: prev.id, target: id, data: {} }, es));
      }
    }
    if (!position) {
      const inst = rf.current;
      const r = document.querySelector(".canvas")?.getBoundingClientRect();
      const c = inst && r ? inst.screenToFlowPosition({ x: r.left + r.width / 2 - 100, y: r.top + r.height / 2 - 30 }) : { x: 0, y: 0 };
      position = { x: c.x + (ns.length % 5) * 14, y: c.y + (ns.length % 5) * 14 };
    }
    const node: CanvasNode = {
      id,
      type: "nexod",
      position,
      selected: true,
      data: { node: { type, config: nt ? initialConfig(nt.config_schema) : {} } },
    };
    setNodes([...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), node]);
    setSelection({ node: id });
  };

  const onDrop = (e: DragEvent) => {
    const type = e.dataTransfer.getData(DND_TYPE);
    if (!type || !editable || !rf.current) return;
    e.preventDefault();
    const p = rf.current.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addNode(type, { x: p.x - 100, y: p.y - 28 });
  };

  const selectedNode = selection?.node ? nodes.find((n) => n.id === selection.node) : undefined;
  const selectedEdge = selection?.edge ? edges.find((e) => e.id === selection.edge) : undefined;

  const renameNode = (from: string, to: string) => {
    const rewrite = (v: unknown): unknown => JSON.parse(JSON.stringify(v).split(`nodes.${from}.`).join(`nodes.${to}.`));
    setNodes((ns) => ns.map((n) => (n.id === from ? { ...n, id: to } : { ...n, data: { ...n.data, node: { ...n.data.node, config: rewrite(n.data.node.config) as Record<string, unknown> } } })));
    setEdges((es) =>
      es.map((e) => {
        if (e.source !== from && e.target !== from) return e;
        const source = e.source === from ? to : e.source;
        const target = e.target === from ? to : e.target;
        return { ...e, source, target, id: e.data?.originalId ?? `${source}->${target}` };
      }),
    );
    setSelection({ node: to });
  };

  const viewNodes = useMemo(
    () => nodes.map((n) => (issues.byNode[n.id] || n.data.issues ? { ...n, data: { ...n.data, issues: issues.byNode[n.id] } } : n)),
    [nodes, issues],
  );
  const viewEdges = useMemo(
    () =>
      edges.map((e) => {
        const bad = issues.byEdge[e.id];
        const cond = e.data?.condition;
        const fromHandle = e.sourceHandle === "true" || e.sourceHandle === "false";
        return {
          ...e,
          className: bad ? "edge-invalid" : cond ? "edge-conditional" : undefined,
          label: cond && !fromHandle ? cond : undefined,
        };
      }),
    [edges, issues],
  );

  if (loadError)
    return (
      <div className="page">
        <ErrorState title="Could not open the flow" message={loadError} onRetry={() => void load()} />
        <div className="center"><a className="btn btn-ghost" href={`#${paths.flows(workspace.id)}`}>← Back to flows</a></div>
      </div>
    );
  if (!flow) return <div className="page-center"><Spinner label="Loading flow…" /></div>;

  const nodeIssues = selectedNode ? issues.all.filter((i) => i.node === selectedNode.id) : [];
  const totalIssues = issues.all.length;

  return (
    <div className="editor">
      <div className="toolbar">
        <div className="toolbar-left">
          <a className="crumb-link" href={`#${paths.flows(workspace.id)}`}>Flows</a>
          <span className="crumb-sep">/</span>
          <span className="toolbar-title" data-testid="flow-title">{meta.name || "Untitled"}</span>
          {flow.live_version ? <span className="pill pill-live">v{flow.live_version} live</span> : <span className="pill">draft only</span>}
          {editable && (
            <span className={`save-state ${dirty ? "dirty" : ""}`}>{dirty ? "Unsaved changes" : `Saved ${relTime(flow.updated_at)}`}</span>
          )}
          {validity && editable && (
            <button
              className={`valid-state ${validity.checking ? "checking" : validity.valid ? "ok" : "bad"}`}
              onClick={() => setSelection(null)}
              data-testid="validity"
              title="Validated by the API as you edit"
            >
              {validity.checking ? "Checking…" : validity.valid ? `✓ Valid${validity.states ? ` · ${validity.states} states` : ""}` : `${totalIssues} problem${totalIssues === 1 ? "" : "s"}`}
            </button>
          )}
        </div>
        <div className="toolbar-right">
          <a className="btn btn-ghost" href={`#${paths.runs(workspace.id, { flow: flow.id })}`}>Runs</a>
          <button className="btn btn-ghost" onClick={() => setDialog("json")} data-testid="json" title="View or paste the flow document">
            {"{ }"} JSON
          </button>
          <button className="btn btn-ghost" onClick={() => setDialog("versions")} data-testid="versions">
            Versions{flow.latest_version ? ` (${flow.latest_version})` : ""}
          </button>
          {editable && (
            <>
              <button className="btn btn-ghost btn-icon" title="Undo (Ctrl+Z)" aria-label="Undo" onClick={undo} data-testid="undo">↶</button>
              <button className="btn btn-ghost btn-icon" title="Redo (Ctrl+Shift+Z)" aria-label="Redo" onClick={redo} data-testid="redo">↷</button>
              <button
                className="btn btn-ghost"
                title="Arrange the nodes left to right by dependency"
                onClick={() => {
                  applyDefinition(withLayout(definition));
                  window.setTimeout(() => rf.current?.fitView({ padding: 0.25, maxZoom: 1.1, duration: 250 }), 50);
                }}
              >
                Tidy up
              </button>
              <span className="toolbar-sep" />
              <button className="btn" onClick={() => void validateNow()} disabled={!!busy} data-testid="validate">Validate</button>
              <button className="btn" onClick={() => void save()} disabled={!!busy || !dirty} data-testid="save">{busy === "save" ? "Saving…" : "Save"}</button>
              <button className="btn" onClick={() => setDialog("publish")} disabled={!!busy} data-testid="publish">Publish</button>
              <button className="btn btn-primary" onClick={() => { setRunVersion(undefined); setDialog("run"); }} disabled={!!busy} data-testid="run">
                ▶ Run
              </button>
            </>
          )}
        </div>
      </div>
      {!editable && <div className="readonly-bar">Read-only — you are a <b>{workspace.role}</b> in {workspace.name}.</div>}
      <div className="editor-body">
        {editable && (
          <Palette
            types={nodeTypes}
            error={nodeTypesError}
            onAdd={(t) => {
              const sel = selectedNode;
              const canFollow = sel && sel.data.node.type !== "output" && sel.data.node.type !== "condition";
              addNode(t, undefined, canFollow ? sel.id : undefined);
            }}
          />
        )}
        <FlowCanvas
          nodes={viewNodes}
          edges={viewEdges}
          editable={editable}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={onConnect}
          onSelect={setSelection}
          onInit={(i) => (rf.current = i)}
          onDrop={onDrop}
        />
        {nodes.length === 0 && (
          <div className="canvas-hint">
            <div className="empty-title">This flow is empty</div>
            <div className="muted">{editable ? "Drag an input node from the palette to start, or paste a document with { } JSON." : "Nothing to show yet."}</div>
          </div>
        )}
        <aside className="inspector">
          {selectedNode ? (
            <NodePanel
              key={selectedNode.id}
              id={selectedNode.id}
              body={selectedNode.data.node}
              nodeType={typeMap.get(selectedNode.data.node.type)}
              upstream={upstreamOf(selectedNode.id, definition.edges)}
              issues={nodeIssues}
              readOnly={!editable}
              taken={(id) => nodes.some((n) => n.id === id)}
              onChange={(body) => setNodes((ns) => ns.map((n) => (n.id === selectedNode.id ? { ...n, data: { ...n.data, node: body } } : n)))}
              onRename={(to) => renameNode(selectedNode.id, to)}
              onDelete={() => {
                void rf.current?.deleteElements({ nodes: [{ id: selectedNode.id }] });
                setSelection(null);
              }}
            />
          ) : selectedEdge ? (
            <EdgePanel
              key={selectedEdge.id}
              from={selectedEdge.source}
              to={selectedEdge.target}
              sourceType={nodes.find((n) => n.id === selectedEdge.source)?.data.node.type}
              condition={selectedEdge.data?.condition}
              issues={issues.byEdge[selectedEdge.id] ?? []}
              readOnly={!editable}
              onChange={(condition) =>
                setEdges((es) =>
                  es.map((e) => {
                    if (e.id !== selectedEdge.id) return e;
                    const handle = condition === "true" || condition === "false" ? condition : null;
                    const srcType = nodes.find((n) => n.id === e.source)?.data.node.type;
                    return { ...e, sourceHandle: srcType === "condition" ? handle : e.sourceHandle, data: { ...e.data, condition } };
                  }),
                )
              }
              onDelete={() => {
                setEdges((es) => es.filter((e) => e.id !== selectedEdge.id));
                setSelection(null);
              }}
            />
          ) : (
            <div className="side-panel">
              <Section title="Flow">
                <div className="field">
                  <label className="field-label" htmlFor="flow-name-edit">Name</label>
                  <input id="flow-name-edit" className="input" value={meta.name} readOnly={!editable} onChange={(e) => setMeta({ ...meta, name: e.target.value })} />
                </div>
                <div className="field">
                  <label className="field-label" htmlFor="flow-desc-edit">Description</label>
                  <textarea id="flow-desc-edit" className="input" rows={3} value={meta.description} readOnly={!editable} onChange={(e) => setMeta({ ...meta, description: e.target.value })} />
                </div>
                <div className="stats">
                  <div><span className="stat-n">{nodes.length}</span><span className="stat-l">nodes</span></div>
                  <div><span className="stat-n">{edges.length}</span><span className="stat-l">edges</span></div>
                  <div><span className="stat-n">{flow.live_version ? `v${flow.live_version}` : "—"}</span><span className="stat-l">live</span></div>
                </div>
              </Section>
              <Section title={`Problems${totalIssues ? ` (${totalIssues})` : ""}`}>
                {totalIssues === 0 ? (
                  <div className="muted small">{editable ? "No problems found." : "Validation runs for members and admins."}</div>
                ) : (
                  <ul className="problems" data-testid="problems">
                    {issues.all.map((i, k) => (
                      <li key={k}>
                        <button
                          className="problem"
                          onClick={() => {
                            if (i.node && nodes.some((n) => n.id === i.node)) setSelection({ node: i.node });
                            else if (i.edge && edges.some((e) => e.id === i.edge)) setSelection({ edge: i.edge });
                          }}
                        >
                          <span className="problem-code">{i.code}</span>
                          <span>{i.message}</span>
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </Section>
              <RecentRuns ws={workspace.id} flowId={flow.id} />
              <div className="panel-section muted small">Select a node or an edge to {editable ? "edit" : "inspect"} it.</div>
            </div>
          )}
        </aside>
      </div>
      {dialog === "run" && (
        <RunDialog flow={flow} initialInput={exampleInput(definition)} dirty={dirty} initialVersion={runVersion} onClose={() => setDialog(null)} onStart={startRun} />
      )}
      {dialog === "json" && (
        <DefinitionDialog
          definition={definition}
          editable={editable}
          onClose={() => setDialog(null)}
          onApply={(def) => {
            applyDefinition(overlaps(def) || def.nodes.some((n) => !n.position) ? withLayout(def) : def);
            setSelection(null);
            setDialog(null);
            window.setTimeout(() => rf.current?.fitView({ padding: 0.25, maxZoom: 1.1, duration: 250 }), 50);
          }}
        />
      )}
      {dialog === "publish" && <PublishDialog flow={flow} dirty={dirty} onClose={() => setDialog(null)} onPublish={publish} />}
      {dialog === "versions" && (
        <VersionsDrawer
          ws={workspace.id}
          flow={flow}
          editable={editable}
          onClose={() => setDialog(null)}
          onChanged={() => void api.getFlow(workspace.id, flow.id).then(setFlow, () => undefined)}
          onLoadDraft={(def, n) => {
            applyDefinition(def);
            setDialog(null);
            toast.info(`Loaded v${n} into the draft`, "Save to keep it, or reload to discard.");
          }}
          onRunVersion={(n) => {
            setRunVersion(n);
            setDialog("run");
          }}
        />
      )}
    </div>
  );
}

export function FlowEditor({ flowId }: { flowId: string }) {
  return (
    <ReactFlowProvider>
      <Editor flowId={flowId} />
    </ReactFlowProvider>
  );
}
