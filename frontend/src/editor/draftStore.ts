// The flow editor's draft: canvas, name and description, selection, and undo/redo of the canvas.
// A zustand store (one per open editor) whose actions apply the pure canvas operations; zundo records the
// canvas (only the document: selection and measured sizes are not steps) and groups a burst of edits, such
// as a drag or typing in a field, into one undo step.
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange } from "@xyflow/react";
import { temporal, type TemporalState } from "zundo";
import { createStore, type StoreApi } from "zustand/vanilla";
import * as ops from "../lib/canvasOps";
import type { Canvas, NewNode, NodeBody } from "../lib/canvasOps";
import { fromReactFlow, type CanvasEdge, type CanvasNode } from "../lib/flowConvert";
import type { FlowDefinition } from "../types";

export type Selection = { node?: string; edge?: string } | null;
export interface FlowMeta {
  name: string;
  description: string;
}

export interface DraftState extends Canvas {
  meta: FlowMeta;
  /** What the side panel shows; React Flow's own `selected` flags say what is highlighted. */
  selection: Selection;
}

export interface DraftActions {
  /** A freshly loaded flow: replaces everything and forgets the undo history. */
  reset(canvas: Canvas, meta: FlowMeta): void;
  /** A whole document applied by the user (JSON dialog, a version loaded into the draft): one undo step. */
  replace(def: FlowDefinition): void;
  onNodesChange(changes: NodeChange<CanvasNode>[]): void;
  onEdgesChange(changes: EdgeChange<CanvasEdge>[]): void;
  connect(c: Connection): void;
  addNode(spec: NewNode): string;
  removeNode(id: string): void;
  removeEdge(id: string): void;
  updateNode(id: string, body: NodeBody): void;
  setEdgeCondition(id: string, condition: string | undefined): void;
  renameNode(from: string, to: string): void;
  /** Places every node: at the given positions (an auto-layout's), else by flowConvert.layout. */
  tidy(positions?: Record<string, { x: number; y: number }>): void;
  /** The selected nodes as a flow document (for the clipboard), or null when nothing is selected. */
  copySelection(): FlowDefinition | null;
  paste(doc: FlowDefinition): void;
  duplicateSelection(): void;
  select(selection: Selection): void;
  setMeta(meta: Partial<FlowMeta>): void;
  undo(): void;
  redo(): void;
}

export type Draft = DraftState & DraftActions;
export type DraftStore = StoreApi<Draft> & { temporal: StoreApi<TemporalState<Canvas>> };

/** Edits closer together than this are one undo step (a drag, typing in a config field). */
export const STEP_WINDOW_MS = 400;
export const HISTORY_LIMIT = 100;

/**
 * Decides which changes start an undo step: a change within `windowMs` of the previous one continues the
 * step; `cut` makes the next change start a new one (discrete edits such as adding a node are always steps).
 */
export function createStepClock(windowMs: number, now: () => number) {
  let last = Number.NEGATIVE_INFINITY;
  return {
    startsStep(): boolean {
      const t = now();
      const fresh = t - last > windowMs;
      last = t;
      return fresh;
    },
    cut(): void {
      last = Number.NEGATIVE_INFINITY;
    },
  };
}

function unselected<T extends { selected?: boolean; dragging?: boolean }>(item: T): T {
  if (!item.selected && !item.dragging) return item;
  const { selected: _s, dragging: _d, ...rest } = item;
  return rest as T;
}

/** What undo restores: the canvas without highlight or drag state, so undo never re-selects anything. */
function snapshot(s: Canvas): Canvas {
  return { nodes: s.nodes.map(unselected), edges: s.edges.map(unselected) };
}

function documentKey(c: Partial<Canvas>): string {
  return JSON.stringify(fromReactFlow(c.nodes ?? [], c.edges ?? []));
}

function selectedIds(s: Draft): string[] {
  const flagged = s.nodes.filter((n) => n.selected).map((n) => n.id);
  return flagged.length ? flagged : s.selection?.node ? [s.selection.node] : [];
}

export function createDraftStore(options: { now?: () => number; windowMs?: number } = {}): DraftStore {
  const steps = createStepClock(options.windowMs ?? STEP_WINDOW_MS, options.now ?? (() => Date.now()));
  // The creator's own `store` argument types `temporal` as unknown; the built store knows its type.
  const history = () => draft.temporal.getState();
  const draft: DraftStore = createStore<Draft>()(
    temporal(
      (set, get) => {
        /** A discrete edit: always its own undo step, and never merged with what follows. */
        const edit = (next: Partial<DraftState>) => {
          steps.cut();
          set(next);
          steps.cut();
        };
        const focus = (canvas: Canvas, ids: string[]) => edit({ ...canvas, selection: ids.length === 1 ? { node: ids[0] } : null });
        return {
          nodes: [],
          edges: [],
          meta: { name: "", description: "" },
          selection: null,
          reset(canvas, meta) {
            set({ ...canvas, meta, selection: null });
            history().clear();
            steps.cut();
          },
          replace(def) {
            edit({ ...ops.fromDocument(def), selection: null });
          },
          onNodesChange(changes) {
            set({ nodes: applyNodeChanges(changes, get().nodes) });
          },
          onEdgesChange(changes) {
            set({ edges: applyEdgeChanges(changes, get().edges) });
          },
          connect(c) {
            const next = ops.connect(get(), c);
            if (next !== get()) edit({ edges: next.edges });
          },
          addNode(spec) {
            const { canvas, id } = ops.addNode(get(), spec);
            edit({ ...canvas, selection: { node: id } });
            return id;
          },
          removeNode(id) {
            edit({ ...ops.removeNodes(get(), [id]), selection: null });
          },
          removeEdge(id) {
            edit({ ...ops.removeEdge(get(), id), selection: null });
          },
          updateNode(id, body) {
            set(ops.updateNode(get(), id, body));
          },
          setEdgeCondition(id, condition) {
            set(ops.setEdgeCondition(get(), id, condition));
          },
          renameNode(from, to) {
            const next = ops.renameNode(get(), from, to);
            if (next !== get()) edit({ ...next, selection: { node: to } });
          },
          tidy(positions) {
            edit(ops.tidy(get(), positions));
          },
          copySelection() {
            const ids = selectedIds(get());
            return ids.length ? ops.copyNodes(get(), ids) : null;
          },
          paste(doc) {
            if (!doc.nodes.length) return;
            const { canvas, ids } = ops.pasteDocument(get(), doc);
            focus(canvas, ids);
          },
          duplicateSelection() {
            const ids = selectedIds(get());
            if (!ids.length) return;
            const added = ops.duplicateNodes(get(), ids);
            focus(added.canvas, added.ids);
          },
          select(selection) {
            set({ selection });
          },
          setMeta(meta) {
            set({ meta: { ...get().meta, ...meta } });
          },
          undo() {
            steps.cut();
            history().undo();
            set({ selection: null });
          },
          redo() {
            steps.cut();
            history().redo();
            set({ selection: null });
          },
        };
      },
      {
        partialize: (s): Canvas => snapshot(s),
        equality: (past, current) => documentKey(past) === documentKey(current),
        limit: HISTORY_LIMIT,
        handleSet: (record) => (pastState, replace) => {
          if (steps.startsStep()) record(pastState, replace);
        },
      },
    ),
  );
  return draft;
}
