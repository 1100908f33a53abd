// The flow editor page: toolbar, palette, canvas, side panel and dialogs. The draft and its undo history live
// in a store (editor/draftStore.ts) whose edits are the pure functions of lib/canvasOps.ts; loading and saving,
// live validation, API actions and the keyboard are hooks in editor/.
import { ReactFlowProvider, type ReactFlowInstance } from "@xyflow/react";
import { useCallback, useMemo, useRef, useState, type DragEvent, type ReactNode } from "react";
import { useStore } from "zustand";
import { api } from "../lib/api";
import { withIssues, type Point } from "../lib/canvasOps";
import { dagreLayout } from "../lib/autoLayout";
import { exampleInput, fromReactFlow, upstreamOf, type CanvasEdge, type CanvasNode, type IssueGroups } from "../lib/flowConvert";
import { initialConfig } from "../lib/schemaForm";
import { paths, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import type { FlowDefinition, FlowWarning, NodeType } from "../types";
import type { DraftStore } from "../editor/draftStore";
import { ExpressionScopeContext, useScope } from "../editor/expressionScope";
import { useEditorShortcuts } from "../editor/useEditorShortcuts";
import { useFlowActions } from "../editor/useFlowActions";
import { useFlowDraft } from "../editor/useFlowDraft";
import { useLiveValidation } from "../editor/useLiveValidation";
import { useUnsavedGuard } from "../editor/useUnsavedGuard";
import { EditorToolbar, type EditorDialog } from "../components/EditorToolbar";
import { FIT_VIEW, FlowCanvas } from "../components/FlowCanvas";
import { DefinitionDialog, PublishDialog, RunDialog, VersionsDrawer } from "../components/FlowDialogs";
import { FlowOverview } from "../components/FlowOverview";
import { EdgePanel, NodePanel } from "../components/NodePanel";
import { DND_TYPE, Palette } from "../components/Palette";
import { ShortcutSheet, useShortcutSheetKey } from "../components/ShortcutSheet";
import { TestRunPanel } from "../components/TestRunPanel";
import { useToast } from "../components/Toasts";
import { ErrorState, Spinner } from "../components/ui";

/** What a node's expression and template fields complete and preview against (the flow's last run). */
function NodeScope(props: { ws: string; flowId: string; nodeId: string; upstream: string[]; definition: FlowDefinition; typeOf: (type: string) => NodeType | undefined; preview: boolean; edge?: boolean; children: ReactNode }) {
  const scope = useScope(props);
  return <ExpressionScopeContext.Provider value={scope}>{props.children}</ExpressionScopeContext.Provider>;
}

/** The side panel: the selected node or edge, else the flow itself. */
function Inspector(props: {
  ws: string;
  flowId: string;
  store: DraftStore;
  definition: FlowDefinition;
  overview: ReactNode;
  issues: IssueGroups;
  typeOf: (type: string) => NodeType | undefined;
  editable: boolean;
}) {
  const { store, issues, editable } = props;
  const nodes = useStore(store, (s) => s.nodes);
  const edges = useStore(store, (s) => s.edges);
  const selection = useStore(store, (s) => s.selection);
  const draft = store.getState();
  const node = selection?.node ? nodes.find((n) => n.id === selection.node) : undefined;
  const edge = selection?.edge ? edges.find((e) => e.id === selection.edge) : undefined;
  const upstream = node ? upstreamOf(node.id, props.definition.edges) : [];
  if (node)
    return (
      <NodeScope key={node.id} ws={props.ws} flowId={props.flowId} nodeId={node.id} upstream={upstream} definition={props.definition} typeOf={props.typeOf} preview={editable}>
      <NodePanel
        key={node.id}
        id={node.id}
        body={node.data.node}
        nodeType={props.typeOf(node.data.node.type)}
        upstream={upstream}
        issues={issues.all.filter((i) => i.node === node.id)}
        readOnly={!editable}
        taken={(id) => nodes.some((n) => n.id === id)}
        onChange={(body) => draft.updateNode(node.id, body)}
        onRename={(to) => draft.renameNode(node.id, to)}
        onDelete={() => draft.removeNode(node.id)}
      />
      </NodeScope>
    );
  if (edge)
    return (
      <NodeScope key={edge.id} ws={props.ws} flowId={props.flowId} nodeId={edge.source} upstream={upstreamOf(edge.source, props.definition.edges)} definition={props.definition} typeOf={props.typeOf} preview={editable} edge>
      <EdgePanel
        key={edge.id}
        from={edge.source}
        to={edge.target}
        sourceType={nodes.find((n) => n.id === edge.source)?.data.node.type}
        condition={edge.data?.condition}
        issues={issues.byEdge[edge.id] ?? []}
        readOnly={!editable}
        onChange={(condition) => draft.setEdgeCondition(edge.id, condition)}
        onDelete={() => draft.removeEdge(edge.id)}
      />
      </NodeScope>
    );
  return props.overview;
}

/** Non-blocking notes from the last save, e.g. a `{{ secrets.NAME }}` the workspace has no credential for. */
function SaveWarnings({ ws, warnings, onDismiss }: { ws: string; warnings: FlowWarning[]; onDismiss: () => void }) {
  return (
    <div className="callout callout-warn save-warnings" role="alert" data-testid="save-warnings">
      <div className="row">
        <b>Saved, but runs will fail:</b>
        <div className="spacer" />
        <button className="icon-btn" aria-label="Dismiss warnings" onClick={onDismiss}>×</button>
      </div>
      <ul>
        {warnings.map((w, i) => (
          <li key={i} data-testid="save-warning" data-code={w.code}>
            {w.message}
            {w.code === "missing_credential" && w.credential && (
              <>
                {" "}
                <a className="link" href={`#${paths.credentials(ws)}`}>Create {w.credential} in Credentials</a>
              </>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Editor({ flowId }: { flowId: string }) {
  const { workspace, nodeTypes, nodeTypesError } = useSession();
  const ws = workspace.id;
  const toast = useToast();
  const editable = canEdit(workspace.role);
  const draft = useFlowDraft(ws, flowId);
  const { store, flow, definition } = draft;
  const nodes = useStore(store, (s) => s.nodes);
  const edges = useStore(store, (s) => s.edges);
  const meta = useStore(store, (s) => s.meta);
  const canUndo = useStore(store.temporal, (h) => h.pastStates.length > 0);
  const canRedo = useStore(store.temporal, (h) => h.futureStates.length > 0);
  const edit = store.getState(); // the actions; they never change
  const validation = useLiveValidation(ws, draft.defJson, flow !== null && editable);
  const actions = useFlowActions(ws, draft, validation);
  const [dialog, setDialog] = useState<EditorDialog | null>(null);
  useShortcutSheetKey(useCallback(() => setDialog((d) => d ?? "shortcuts"), []));
  const [runVersion, setRunVersion] = useState<number | undefined>(undefined);
  const rf = useRef<ReactFlowInstance<CanvasNode, CanvasEdge> | null>(null);

  useTitle(flow ? `${draft.dirty ? "● " : ""}${meta.name || flow.name}` : "Flow");
  useUnsavedGuard(draft.dirty);
  useEditorShortcuts({
    editable,
    save: () => void actions.save(),
    undo: edit.undo,
    redo: edit.redo,
    duplicate: edit.duplicateSelection,
    copy: edit.copySelection,
    paste: edit.paste,
  });

  const typeMap = useMemo(() => new Map((nodeTypes ?? []).map((t) => [t.type, t])), [nodeTypes]);
  const view = useMemo(() => withIssues({ nodes, edges }, validation.issues), [nodes, edges, validation.issues]);

  const fitSoon = () => window.setTimeout(() => rf.current?.fitView({ ...FIT_VIEW, duration: 250 }), 50);
  /** Where a node lands that is neither dropped nor wired after another: the middle of the visible canvas. */
  const viewCenter = (): Point => {
    const r = document.querySelector(".canvas")?.getBoundingClientRect();
    return rf.current && r ? rf.current.screenToFlowPosition({ x: r.left + r.width / 2 - 100, y: r.top + r.height / 2 - 30 }) : { x: 0, y: 0 };
  };
  const addNode = (type: string, at?: Point) => {
    const nt = typeMap.get(type);
    const config = nt ? initialConfig(nt.config_schema) : {};
    edit.addNode({ type, config, at, after: store.getState().selection?.node, center: viewCenter() });
  };
  const onDrop = (e: DragEvent) => {
    const type = e.dataTransfer.getData(DND_TYPE);
    if (!type || !editable || !rf.current) return;
    e.preventDefault();
    const p = rf.current.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addNode(type, { x: p.x - 100, y: p.y - 28 });
  };

  if (draft.loadError)
    return (
      <div className="page">
        <ErrorState title="Could not open the flow" message={draft.loadError} onRetry={() => void draft.load()} />
        <div className="center"><a className="btn btn-ghost" href={`#${paths.flows(ws)}`}>← Back to flows</a></div>
      </div>
    );
  if (!flow) return <div className="page-center"><Spinner label="Loading flow…" /></div>;

  return (
    <div className="editor">
      <EditorToolbar
        ws={ws}
        flow={flow}
        title={meta.name}
        editable={editable}
        dirty={draft.dirty}
        validity={validation.validity}
        problems={validation.issues.all.length}
        busy={actions.busy}
        canUndo={canUndo}
        canRedo={canRedo}
        onShowProblems={() => edit.select(null)}
        onOpen={(d) => {
          if (d === "run") setRunVersion(undefined);
          setDialog(d);
        }}
        onUndo={edit.undo}
        onRedo={edit.redo}
        onTidy={() => {
          const { nodes: n, edges: e } = store.getState();
          dagreLayout(fromReactFlow(n, e))
            .then((pos) => edit.tidy(pos))
            .catch(() => edit.tidy()) // the layout chunk could not load: the built-in layered layout
            .finally(fitSoon);
        }}
        onValidate={() => void actions.validate()}
        onSave={() => void actions.save()}
      />
      {actions.warnings.length > 0 && <SaveWarnings ws={ws} warnings={actions.warnings} onDismiss={actions.dismissWarnings} />}
      {!editable && <div className="readonly-bar">Read-only — you are a <b>{workspace.role}</b> in {workspace.name}.</div>}
      <div className="editor-body">
        {editable && <Palette types={nodeTypes} error={nodeTypesError} onAdd={(t) => addNode(t)} />}
        <FlowCanvas
          nodes={view.nodes}
          edges={view.edges}
          editable={editable}
          onNodesChange={edit.onNodesChange}
          onEdgesChange={edit.onEdgesChange}
          onConnect={edit.connect}
          onSelect={edit.select}
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
          <Inspector
            ws={ws}
            flowId={flowId}
            store={store}
            definition={definition}
            issues={validation.issues}
            typeOf={(t) => typeMap.get(t)}
            editable={editable}
            overview={
              <FlowOverview
                ws={ws}
                flow={flow}
                meta={meta}
                counts={{ nodes: nodes.length, edges: edges.length }}
                issues={validation.issues}
                editable={editable}
                onMeta={edit.setMeta}
                onPick={(where) => {
                  if (where.node && nodes.some((n) => n.id === where.node)) edit.select({ node: where.node });
                  else if (where.edge && edges.some((e) => e.id === where.edge)) edit.select({ edge: where.edge });
                }}
              />
            }
          />
        </aside>
      </div>
      {dialog === "run" && (
        <RunDialog flow={flow} initialInput={exampleInput(definition)} dirty={draft.dirty} initialVersion={runVersion} onClose={() => setDialog(null)} onStart={actions.startRun} />
      )}
      {dialog === "shortcuts" && <ShortcutSheet onClose={() => setDialog(null)} />}
      {dialog === "test-run" && (
        <TestRunPanel
          ws={ws}
          flowId={flow.id}
          initialInput={exampleInput(definition)}
          saveFirst={async () => !draft.dirty || !!(await actions.save(true))}
          onClose={() => setDialog(null)}
          nodeIds={definition.nodes.filter((n) => n.type !== "input").map((n) => n.id)}
        />
      )}
      {dialog === "json" && (
        <DefinitionDialog
          definition={definition}
          editable={editable}
          name={meta.name}
          onClose={() => setDialog(null)}
          onApply={(def) => {
            edit.replace(def);
            setDialog(null);
            fitSoon();
          }}
        />
      )}
      {dialog === "publish" && (
        <PublishDialog
          flow={flow}
          dirty={draft.dirty}
          onClose={() => setDialog(null)}
          onPublish={async (description) => {
            if (await actions.publish(description)) setDialog(null);
          }}
        />
      )}
      {dialog === "versions" && (
        <VersionsDrawer
          ws={ws}
          flow={flow}
          editable={editable}
          onClose={() => setDialog(null)}
          onChanged={() => void api.getFlow(ws, flow.id).then(draft.setFlow, () => undefined)}
          onLoadDraft={(def, n) => {
            edit.replace(def);
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
