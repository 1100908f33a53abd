// Auto-layout with dagre (a maintained layered-graph layout, lazily loaded with the first "Tidy up"): left to
// right, spacing sized so labels stay readable at the fit-to-view minimum zoom. Condition nodes' two outputs
// and fan-ins get dagre's crossing minimisation instead of the simple longest-path layers of flowConvert.layout.
import type { FlowDefinition } from "../types";
import { LAYOUT, NODE_BOX } from "./flowConvert";

/** Positions (top-left corners) for every node of the document. */
export async function dagreLayout(def: FlowDefinition): Promise<Record<string, { x: number; y: number }>> {
  const dagre = await import("@dagrejs/dagre");
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: LAYOUT.dy - NODE_BOX.h + 24, ranksep: LAYOUT.dx - 208, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(def.nodes.map((n) => n.id));
  for (const n of def.nodes) g.setNode(n.id, { width: 208, height: 64 });
  for (const e of def.edges) if (ids.has(e.from) && ids.has(e.to)) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const out: Record<string, { x: number; y: number }> = {};
  for (const n of def.nodes) {
    const p = g.node(n.id) as { x: number; y: number; width: number; height: number };
    out[n.id] = { x: Math.round(p.x - p.width / 2), y: Math.round(p.y - p.height / 2) };
  }
  return out;
}
