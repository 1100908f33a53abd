// Every edit the flow editor makes to its canvas, as a pure function from one canvas to the next.
// The draft store applies them and records undo history; keeping them free of React and the DOM lets each
// one be tested on plain data.
import { addEdge, type Connection } from "@xyflow/react";
import type { FlowDefinition, FlowNode } from "../types";
import {
  fromReactFlow,
  LAYOUT,
  layout,
  nextNodeId,
  NODE_BOX,
  NODE_ID_RE,
  overlaps,
  sourceHandleFor,
  toReactFlow,
  withLayout,
  type CanvasEdge,
  type CanvasNode,
  type IssueGroups,
  type NodeData,
} from "./flowConvert";

/** What the editor draws: React Flow's nodes and edges. */
export interface Canvas {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}
export type Point = { x: number; y: number };
/** A node as the side panel edits it: everything but its id and position. */
export type NodeBody = NodeData["node"];

/** How far pasted and duplicated nodes move from where they were copied, one row down at a time. */
export const PASTE_STEP: Point = { x: 40, y: LAYOUT.dy };

/** A document as the canvas draws it; cramped or missing positions are laid out so no node hides another. */
export function fromDocument(def: FlowDefinition): Canvas {
  const needsLayout = overlaps(def) || def.nodes.some((n) => !n.position);
  return toReactFlow(needsLayout ? withLayout(def) : def);
}

function only<T extends { selected?: boolean }>(items: T[], selected: (item: T) => boolean): T[] {
  return items.map((it) => {
    const want = selected(it);
    return !!it.selected === want ? it : { ...it, selected: want };
  });
}

/** The canvas with exactly the given nodes selected (and no edge). */
export function selectNodes(canvas: Canvas, ids: Iterable<string>): Canvas {
  const set = new Set(ids);
  return { nodes: only(canvas.nodes, (n) => set.has(n.id)), edges: only(canvas.edges, () => false) };
}

/** Whether a new node may be wired after `node`: outputs end a flow, conditions need a true/false branch. */
function canFollow(node: CanvasNode): boolean {
  return node.data.node.type !== "output" && node.data.node.type !== "condition";
}

export interface NewNode {
  type: string;
  config: Record<string, unknown>;
  /** Where it was dropped; wins over `after`. */
  at?: Point;
  /** The selected node: the new node is wired after it (see `addNode`). */
  after?: string;
  /** The middle of the visible canvas, for a node that is neither dropped nor wired after another. */
  center: Point;
}

/**
 * Adds a node of `type` with the smallest free id and selects it.
 *
 * Clicked in the palette with a node selected that can be followed: if that node has exactly one plain
 * outgoing edge the new node is inserted on that edge (what follows shifts one column right), otherwise it
 * is appended after the node, below anything already in the next column. Input nodes are never wired.
 */
export function addNode(canvas: Canvas, spec: NewNode): { canvas: Canvas; id: string } {
  let { nodes, edges } = canvas;
  const id = nextNodeId(spec.type, nodes.map((n) => n.id));
  const prev = spec.after ? nodes.find((n) => n.id === spec.after) : undefined;
  let position = spec.at;
  if (!position && prev && canFollow(prev) && spec.type !== "input") {
    const out = edges.filter((e) => e.source === prev.id);
    const single = out.length === 1 && !out[0].data?.condition ? out[0] : undefined;
    if (single) {
      const shiftFrom = prev.position.x + LAYOUT.dx / 2;
      nodes = nodes.map((n) => (n.position.x > shiftFrom ? { ...n, position: { ...n.position, x: n.position.x + LAYOUT.dx } } : n));
      position = { x: prev.position.x + LAYOUT.dx, y: prev.position.y };
      edges = [
        ...edges.filter((e) => e.id !== single.id),
        { id: `${prev.id}->${id}`, source: prev.id, target: id, data: {} },
        { id: `${id}->${single.target}`, source: id, target: single.target, data: {} },
      ];
    } else {
      const column = nodes.filter((n) => Math.abs(n.position.x - (prev.position.x + LAYOUT.dx)) < 40 && n.position.y >= prev.position.y - 20);
      position = { x: prev.position.x + LAYOUT.dx, y: prev.position.y + column.length * LAYOUT.dy };
      edges = addEdge<CanvasEdge>({ id: `${prev.id}->${id}`, source: prev.id, target: id, data: {} }, edges);
    }
  }
  // Successive clicks without a selection fan out a little instead of stacking exactly.
  position ??= { x: spec.center.x + (nodes.length % 5) * 14, y: spec.center.y + (nodes.length % 5) * 14 };
  const node: CanvasNode = { id, type: "nexod", position, data: { node: { type: spec.type, config: spec.config } } };
  return { canvas: selectNodes({ nodes: [...nodes, node], edges }, [id]), id };
}

/**
 * Wires `source` to `target` as the user dragged it. A condition's true/false handle becomes the edge's
 * condition. Self-loops and a second edge between the same two nodes are refused (the canvas is returned as is).
 */
export function connect(canvas: Canvas, c: Connection): Canvas {
  if (!c.source || !c.target || c.source === c.target) return canvas;
  if (canvas.edges.some((e) => e.source === c.source && e.target === c.target)) return canvas;
  const condition = c.sourceHandle === "true" || c.sourceHandle === "false" ? c.sourceHandle : undefined;
  const edge: CanvasEdge = { ...c, id: `${c.source}->${c.target}`, data: { condition } };
  return { ...canvas, edges: addEdge<CanvasEdge>(edge, canvas.edges) };
}

/** Removes nodes and every edge that touches them. */
export function removeNodes(canvas: Canvas, ids: Iterable<string>): Canvas {
  const gone = new Set(ids);
  return {
    nodes: canvas.nodes.filter((n) => !gone.has(n.id)),
    edges: canvas.edges.filter((e) => !gone.has(e.source) && !gone.has(e.target)),
  };
}

export function removeEdge(canvas: Canvas, id: string): Canvas {
  return { ...canvas, edges: canvas.edges.filter((e) => e.id !== id) };
}

/** Replaces what the side panel edits of one node (type, name, config, retry, timeout, error policy). */
export function updateNode(canvas: Canvas, id: string, body: NodeBody): Canvas {
  return { ...canvas, nodes: canvas.nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, node: body } } : n)) };
}

/** Sets or clears an edge's condition; after a condition node, "true"/"false" also move it to that handle. */
export function setEdgeCondition(canvas: Canvas, id: string, condition: string | undefined): Canvas {
  const typeOf = (nodeId: string) => canvas.nodes.find((n) => n.id === nodeId)?.data.node.type;
  return {
    ...canvas,
    edges: canvas.edges.map((e) => {
      if (e.id !== id) return e;
      const sourceType = typeOf(e.source);
      const sourceHandle = sourceType === "condition" ? sourceHandleFor(sourceType, condition) : e.sourceHandle;
      return { ...e, sourceHandle, data: { ...e.data, condition } };
    }),
  };
}

/** `value` with every template reference `nodes.<from>` (as in `{{ nodes.from.output }}`) pointing at `to`. */
export function renameReferences<T>(value: T, renames: ReadonlyMap<string, string>): T {
  if (renames.size === 0) return value;
  const alternatives = [...renames.keys()].map((k) => k.replace(/[^A-Za-z0-9_]/g, "\\$&")).join("|");
  // An id is whole only when no id character or dot touches it, so renaming `a` leaves `nodes.ab` and `mynodes.a`.
  const re = new RegExp(`(?<![\\w.])nodes\\.(${alternatives})(?!\\w)`, "g");
  const rewrite = (v: unknown): unknown => {
    if (typeof v === "string") return v.replace(re, (_m, id: string) => `nodes.${renames.get(id) ?? id}`);
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
    return v;
  };
  return rewrite(value) as T;
}

/**
 * Renames a node: its edges follow it and every template that reads `nodes.<from>` reads `nodes.<to>`.
 * An invalid or taken id leaves the canvas unchanged.
 */
export function renameNode(canvas: Canvas, from: string, to: string): Canvas {
  if (from === to || !NODE_ID_RE.test(to) || canvas.nodes.some((n) => n.id === to)) return canvas;
  if (!canvas.nodes.some((n) => n.id === from)) return canvas;
  const renames = new Map([[from, to]]);
  return {
    nodes: canvas.nodes.map((n) => {
      const config = renameReferences(n.data.node.config, renames);
      return { ...n, id: n.id === from ? to : n.id, data: { ...n.data, node: { ...n.data.node, config } } };
    }),
    edges: canvas.edges.map((e) => {
      if (e.source !== from && e.target !== from) return e;
      const source = e.source === from ? to : e.source;
      const target = e.target === from ? to : e.target;
      return { ...e, source, target, id: e.data?.originalId ?? `${source}->${target}` };
    }),
  };
}

/** "Tidy up": every node placed left to right by dependency; nothing else changes. */
export function tidy(canvas: Canvas, positions?: Record<string, Point>): Canvas {
  const pos = positions ?? layout(fromReactFlow(canvas.nodes, canvas.edges));
  return { ...canvas, nodes: canvas.nodes.map((n) => ({ ...n, position: pos[n.id] ?? n.position })) };
}

/** The selected part of the canvas as a flow document: the nodes and the edges between them. */
export function copyNodes(canvas: Canvas, ids: Iterable<string>): FlowDefinition {
  const set = new Set(ids);
  const doc = fromReactFlow(
    canvas.nodes.filter((n) => set.has(n.id)),
    canvas.edges.filter((e) => set.has(e.source) && set.has(e.target)),
  );
  return doc;
}

/** An id like `id` that is not taken: `transform_1` becomes `transform_2`, `summarise` becomes `summarise_1`. */
function freeIdLike(id: string, taken: Set<string>): string {
  if (!taken.has(id)) return id;
  return nextNodeId(id.replace(/_\d+$/, "") || "node", taken);
}

/**
 * Adds a flow document (copied nodes, or JSON from the clipboard) to the canvas and selects what it added.
 * Ids already on the canvas are renamed (templates inside the pasted nodes follow), the nodes move down
 * (see `freeOffset`) and only edges between pasted nodes are kept.
 */
export function pasteDocument(canvas: Canvas, doc: FlowDefinition): { canvas: Canvas; ids: string[] } {
  const taken = new Set(canvas.nodes.map((n) => n.id));
  const renames = new Map<string, string>();
  for (const n of doc.nodes) {
    const id = freeIdLike(n.id, taken);
    taken.add(id);
    renames.set(n.id, id);
  }
  const placed = doc.nodes.some((n) => !n.position) ? withLayout(doc) : doc;
  const offset = freeOffset(canvas, placed.nodes.map((n) => n.position ?? { x: 0, y: 0 }));
  const changed = new Map([...renames].filter(([a, b]) => a !== b));
  const nodes: FlowNode[] = placed.nodes.map((n) => ({
    ...n,
    id: renames.get(n.id) ?? n.id,
    config: renameReferences(n.config ?? {}, changed),
    position: { x: (n.position?.x ?? 0) + offset.x, y: (n.position?.y ?? 0) + offset.y },
  }));
  const edgeIds = new Set(canvas.edges.map((e) => e.data?.originalId ?? e.id));
  const edges = placed.edges
    .filter((e) => renames.has(e.from) && renames.has(e.to))
    .map(({ id, ...e }) => {
      const out = { ...e, from: renames.get(e.from) ?? e.from, to: renames.get(e.to) ?? e.to };
      // An edge's own id only names it for the validator; two edges with one id would be a new error.
      return id && !edgeIds.has(id) ? { ...out, id } : out;
    });
  const added = toReactFlow({ nodes, edges });
  const ids = nodes.map((n) => n.id);
  return { canvas: selectNodes({ nodes: [...canvas.nodes, ...added.nodes], edges: [...canvas.edges, ...added.edges] }, ids), ids };
}

/**
 * The first offset, one `PASTE_STEP` after another, at which no pasted node would cover a node already on the
 * canvas: a copy is never hidden under its original, and a saved flow never loads as "cramped" and re-laid out.
 */
export function freeOffset(canvas: Canvas, positions: Point[]): Point {
  const covers = (a: Point, b: Point) => Math.abs(a.x - b.x) < NODE_BOX.w && Math.abs(a.y - b.y) < NODE_BOX.h;
  for (let k = 1; k < 100; k++) {
    const offset = { x: PASTE_STEP.x, y: k * PASTE_STEP.y };
    const moved = positions.map((p) => ({ x: p.x + offset.x, y: p.y + offset.y }));
    if (!moved.some((p) => canvas.nodes.some((n) => covers(p, n.position)))) return offset;
  }
  return PASTE_STEP;
}

/** Copies of the given nodes (and the edges between them) next to the originals, selected. */
export function duplicateNodes(canvas: Canvas, ids: Iterable<string>): { canvas: Canvas; ids: string[] } {
  return pasteDocument(canvas, copyNodes(canvas, ids));
}

/**
 * The canvas as drawn: nodes carry the validator's issues, invalid edges are marked, and a condition that is
 * not shown by a true/false handle is written on its edge.
 */
export function withIssues(canvas: Canvas, issues: Pick<IssueGroups, "byNode" | "byEdge">): Canvas {
  return {
    nodes: canvas.nodes.map((n) => (issues.byNode[n.id] || n.data.issues ? { ...n, data: { ...n.data, issues: issues.byNode[n.id] } } : n)),
    edges: canvas.edges.map((e) => {
      const cond = e.data?.condition;
      const fromHandle = e.sourceHandle === "true" || e.sourceHandle === "false";
      return {
        ...e,
        className: issues.byEdge[e.id] ? "edge-invalid" : cond ? "edge-conditional" : undefined,
        label: cond && !fromHandle ? cond : undefined,
      };
    }),
  };
}

type Parsed = { doc: FlowDefinition; error?: undefined } | { doc?: undefined; error: string };

/** Text (the JSON dialog, the clipboard) read as a flow document, or the reason it is not one. */
export function parseDocument(text: string): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `Invalid JSON: ${(e as Error).message}` };
  }
  const d = v as { nodes?: unknown; edges?: unknown } | null;
  if (!d || typeof d !== "object" || !Array.isArray(d.nodes) || (d.edges !== undefined && !Array.isArray(d.edges)))
    return { error: 'A flow is an object {"nodes": [...], "edges": [...]}.' };
  const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object";
  if (d.nodes.some((n) => !isObj(n) || typeof n.id !== "string" || typeof n.type !== "string"))
    return { error: 'Every node needs a string "id" and "type".' };
  const edges: unknown[] = d.edges ?? [];
  if (edges.some((e) => !isObj(e) || typeof e.from !== "string" || typeof e.to !== "string"))
    return { error: 'Every edge needs string "from" and "to".' };
  return { doc: { nodes: d.nodes as FlowDefinition["nodes"], edges: edges as FlowDefinition["edges"] } };
}
