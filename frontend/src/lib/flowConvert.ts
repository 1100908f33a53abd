// Conversion between the Nexod flow document and React Flow's nodes and edges, plus id and layout helpers.
import type { Edge, Node } from "@xyflow/react";
import type { FlowDefinition, FlowEdge, FlowNode } from "../types";

export const NODE_ID_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** What a canvas node carries: the flow node without id and position (React Flow holds those). */
export type NodeData = {
  node: Omit<FlowNode, "id" | "position">;
  // Set by the pages, never saved:
  issues?: string[];
  status?: string;
  durationMs?: number | null;
  readOnly?: boolean;
};
export type EdgeData = { condition?: string; originalId?: string; issues?: string[] };

export type CanvasNode = Node<NodeData, "nexod">;
export type CanvasEdge = Edge<EdgeData>;

/** The key the validator uses to name an edge: its id, else "from->to". */
export function edgeKey(e: FlowEdge): string {
  return e.id || `${e.from}->${e.to}`;
}

/** The source handle an edge leaves from: condition nodes have a "true" and a "false" handle. */
export function sourceHandleFor(sourceType: string | undefined, condition: string | undefined): string | null {
  if (sourceType === "condition" && (condition === "true" || condition === "false")) return condition;
  return null;
}

export function toReactFlow(def: FlowDefinition): { nodes: CanvasNode[]; edges: CanvasEdge[] } {
  const positions = layout(def);
  const types = new Map(def.nodes.map((n) => [n.id, n.type]));
  const nodes: CanvasNode[] = def.nodes.map((n) => {
    const { id, position, ...rest } = n;
    return {
      id,
      type: "nexod",
      position: position ? { x: position.x, y: position.y } : positions[id],
      data: { node: { ...rest, config: rest.config ?? {} } },
    };
  });
  const seen = new Set<string>();
  const edges: CanvasEdge[] = def.edges.map((e, i) => {
    let id = edgeKey(e);
    if (seen.has(id)) id = `${id}#${i}`; // duplicates are a validation error; keep both visible
    seen.add(id);
    return {
      id,
      source: e.from,
      target: e.to,
      sourceHandle: sourceHandleFor(types.get(e.from), e.condition),
      data: { condition: e.condition, originalId: e.id },
      label: e.condition && !sourceHandleFor(types.get(e.from), e.condition) ? e.condition : undefined,
    };
  });
  return { nodes, edges };
}

function roundPos(v: number): number {
  return Math.round(v * 10) / 10;
}

export function fromReactFlow(nodes: CanvasNode[], edges: CanvasEdge[]): FlowDefinition {
  return {
    nodes: nodes.map((n) => {
      const out: FlowNode = { id: n.id, ...n.data.node, config: n.data.node.config ?? {} };
      // Drop empty optional keys so saved documents stay minimal.
      if (!out.name) delete out.name;
      if (out.retry === undefined) delete out.retry;
      if (out.timeout_seconds === undefined || out.timeout_seconds === null) delete out.timeout_seconds;
      if (out.on_error === undefined) delete out.on_error;
      out.position = { x: roundPos(n.position.x), y: roundPos(n.position.y) };
      return out;
    }),
    edges: edges.map((e) => {
      const out: FlowEdge = { from: e.source, to: e.target };
      if (e.data?.originalId) out.id = e.data.originalId;
      const cond = e.data?.condition ?? (e.sourceHandle === "true" || e.sourceHandle === "false" ? e.sourceHandle : undefined);
      if (cond) out.condition = cond;
      return out;
    }),
  };
}

/** The smallest free id `<type>_<n>` (type sanitised to the id alphabet). */
export function nextNodeId(type: string, existing: Iterable<string>): string {
  const taken = new Set(existing);
  let base = type.replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z_]/.test(base)) base = `n_${base}`;
  base = base.slice(0, 56);
  for (let i = 1; ; i++) {
    const id = `${base}_${i}`;
    if (!taken.has(id)) return id;
  }
}

/** Every node upstream of `id` (its ancestors), nearest first. */
export function upstreamOf(id: string, edges: { from: string; to: string }[]): string[] {
  const parents = new Map<string, string[]>();
  for (const e of edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
  const out: string[] = [];
  const seen = new Set([id]);
  let frontier = [id];
  while (frontier.length) {
    const next: string[] = [];
    for (const n of frontier)
      for (const p of parents.get(n) ?? [])
        if (!seen.has(p)) {
          seen.add(p);
          out.push(p);
          next.push(p);
        }
    frontier = next;
  }
  return out;
}

export const LAYOUT = { dx: 270, dy: 120 };
export const NODE_BOX = { w: 240, h: 76 }; // a node (208 x ~60) plus room for the edge between

/** Whether any two saved positions would draw nodes on top of each other. */
export function overlaps(def: FlowDefinition): boolean {
  const ps = def.nodes.map((n) => n.position).filter((p): p is { x: number; y: number } => !!p);
  for (let i = 0; i < ps.length; i++)
    for (let j = i + 1; j < ps.length; j++)
      if (Math.abs(ps[i].x - ps[j].x) < NODE_BOX.w && Math.abs(ps[i].y - ps[j].y) < NODE_BOX.h) return true;
  return false;
}

/** The same document with every node placed by `layout` (for "Tidy up" and cramped saved positions). */
export function withLayout(def: FlowDefinition): FlowDefinition {
  const pos = layout(def);
  return { ...def, nodes: def.nodes.map((n) => ({ ...n, position: pos[n.id] })) };
}

/**
 * Left-to-right layered positions: x by longest path from a root, y by order within the layer.
 * Nodes on a cycle (invalid, but drawable) land in the layer after their deepest placed parent.
 */
export function layout(def: FlowDefinition): Record<string, { x: number; y: number }> {
  const ids = def.nodes.map((n) => n.id);
  const idset = new Set(ids);
  const parents = new Map<string, string[]>(ids.map((i) => [i, []]));
  for (const e of def.edges) if (idset.has(e.from) && idset.has(e.to)) parents.get(e.to)!.push(e.from);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const ps = parents.get(id) ?? [];
    const d = ps.length ? Math.max(...ps.map(depthOf)) + 1 : 0;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const layers = new Map<number, string[]>();
  for (const id of ids) {
    const d = depthOf(id);
    layers.set(d, [...(layers.get(d) ?? []), id]);
  }
  const out: Record<string, { x: number; y: number }> = {};
  const tallest = Math.max(1, ...[...layers.values()].map((l) => l.length));
  for (const [d, layer] of layers) {
    const offset = ((tallest - layer.length) * LAYOUT.dy) / 2;
    layer.forEach((id, i) => {
      out[id] = { x: d * LAYOUT.dx, y: offset + i * LAYOUT.dy };
    });
  }
  return out;
}

/** A new flow's starting document: input wired to output. */
export function starterDefinition(): FlowDefinition {
  return {
    nodes: [
      { id: "input", type: "input", config: { example: {} }, position: { x: 0, y: 0 } },
      { id: "output", type: "output", config: {}, position: { x: LAYOUT.dx * 2, y: 0 } },
    ],
    edges: [{ from: "input", to: "output" }],
  };
}

export type IssueGroups = ReturnType<typeof groupIssues>;

/** Issues of a 422 response grouped by the node and the edge they name. */
export function groupIssues(details: unknown): {
  byNode: Record<string, string[]>;
  byEdge: Record<string, string[]>;
  general: string[];
  all: { code: string; message: string; node?: string; edge?: string; field?: string }[];
} {
  const byNode: Record<string, string[]> = {};
  const byEdge: Record<string, string[]> = {};
  const general: string[] = [];
  const all: { code: string; message: string; node?: string; edge?: string; field?: string }[] = [];
  if (!Array.isArray(details)) return { byNode, byEdge, general, all };
  for (const raw of details) {
    if (!raw || typeof raw !== "object") continue;
    const d = raw as { code?: unknown; message?: unknown; node?: unknown; edge?: unknown; field?: unknown };
    const issue = {
      code: String(d.code ?? "invalid"),
      message: String(d.message ?? d.code ?? "invalid"),
      node: typeof d.node === "string" ? d.node : undefined,
      edge: typeof d.edge === "string" ? d.edge : undefined,
      field: typeof d.field === "string" ? d.field : undefined,
    };
    all.push(issue);
    if (issue.node) (byNode[issue.node] ??= []).push(issue.message);
    if (issue.edge) (byEdge[issue.edge] ??= []).push(issue.message);
    if (!issue.node && !issue.edge) general.push(issue.message);
  }
  return { byNode, byEdge, general, all };
}

/** The run input the console proposes: the input node's `config.example`, else {}. */
export function exampleInput(def: FlowDefinition | undefined | null): unknown {
  const input = def?.nodes.find((n) => n.type === "input");
  const ex = input?.config?.example;
  return ex && typeof ex === "object" ? ex : {};
}
