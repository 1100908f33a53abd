import { describe, expect, it } from "vitest";
import {
  edgeKey,
  exampleInput,
  fromReactFlow,
  groupIssues,
  layout,
  nextNodeId,
  overlaps,
  withLayout,
  toReactFlow,
  upstreamOf,
} from "./flowConvert";
import type { FlowDefinition } from "../types";

const flow: FlowDefinition = {
  nodes: [
    { id: "input", type: "input", config: { example: { name: "world" } }, position: { x: 0, y: 0 } },
    { id: "check", type: "condition", config: { expression: "input.ok" } },
    { id: "llm_1", type: "llm", name: "Summarise", config: { prompt: "Hi {{ input.name }}" }, on_error: "continue" },
    { id: "fallback", type: "transform", config: { expression: "'no'" }, retry: { max_attempts: 3, interval_seconds: 1, backoff_rate: 2 } },
    { id: "output", type: "output", config: {} },
  ],
  edges: [
    { from: "input", to: "check" },
    { from: "check", to: "llm_1", condition: "true" },
    { from: "check", to: "fallback", condition: "false" },
    { id: "e_out", from: "llm_1", to: "output", condition: "output.text != ''" },
    { from: "fallback", to: "output" },
  ],
};

describe("toReactFlow / fromReactFlow", () => {
  it("round-trips a flow document, keeping conditions, ids and node settings", () => {
    // Given a flow converted to the canvas
    const { nodes, edges } = toReactFlow(flow);
    // When it is converted back
    const back = fromReactFlow(nodes, edges);
    // Then everything but the added positions is unchanged
    const strip = (d: FlowDefinition) => ({ ...d, nodes: d.nodes.map(({ position: _p, ...n }) => n) });
    expect(strip(back)).toEqual(strip(flow));
    expect(back.nodes.every((n) => n.position)).toBe(true);
    expect(back.nodes[0].position).toEqual({ x: 0, y: 0 });
  });

  it("maps true/false conditions after a condition node to its handles", () => {
    const { edges } = toReactFlow(flow);
    const byId = Object.fromEntries(edges.map((e) => [e.id, e]));
    expect(byId["check->llm_1"].sourceHandle).toBe("true");
    expect(byId["check->fallback"].sourceHandle).toBe("false");
    expect(byId["e_out"].sourceHandle).toBeNull();
    expect(byId["e_out"].label).toBe("output.text != ''");
  });

  it("turns an edge drawn from a condition handle into a condition", () => {
    const { nodes } = toReactFlow(flow);
    const def = fromReactFlow(nodes, [{ id: "x", source: "check", target: "output", sourceHandle: "false" }]);
    expect(def.edges).toEqual([{ from: "check", to: "output", condition: "false" }]);
  });
});

describe("edgeKey", () => {
  it("names an edge like the validator does", () => {
    expect(edgeKey({ from: "a", to: "b" })).toBe("a->b");
    expect(edgeKey({ id: "e1", from: "a", to: "b" })).toBe("e1");
  });
});

describe("nextNodeId", () => {
  it("picks the smallest free <type>_<n>", () => {
    expect(nextNodeId("http", [])).toBe("http_1");
    expect(nextNodeId("http", ["http_1", "http_3"])).toBe("http_2");
  });
  it("sanitises types that are not valid ids", () => {
    expect(nextNodeId("crew-ai", [])).toBe("crew_ai_1");
    expect(nextNodeId("3d", [])).toBe("n_3d_1");
  });
});

describe("upstreamOf", () => {
  it("lists every ancestor, nearest first", () => {
    expect(upstreamOf("output", flow.edges)).toEqual(["llm_1", "fallback", "check", "input"]);
    expect(upstreamOf("input", flow.edges)).toEqual([]);
  });
  it("terminates on cycles", () => {
    expect(upstreamOf("a", [{ from: "a", to: "b" }, { from: "b", to: "a" }])).toEqual(["b"]);
  });
});

describe("layout", () => {
  it("places nodes left to right by depth", () => {
    const pos = layout(flow);
    expect(pos.input.x).toBe(0);
    expect(pos.check.x).toBeGreaterThan(pos.input.x);
    expect(pos.llm_1.x).toBe(pos.fallback.x);
    expect(pos.llm_1.y).not.toBe(pos.fallback.y);
    expect(pos.output.x).toBeGreaterThan(pos.llm_1.x);
  });
  it("survives a cycle", () => {
    const pos = layout({ nodes: [{ id: "a", type: "x", config: {} }, { id: "b", type: "x", config: {} }], edges: [{ from: "a", to: "b" }, { from: "b", to: "a" }] });
    expect(Object.keys(pos).sort()).toEqual(["a", "b"]);
  });
});

describe("groupIssues", () => {
  it("groups a 422's details by node and edge", () => {
    const g = groupIssues([
      { code: "invalid_config", message: "node 'llm_1' config.prompt: Field required", node: "llm_1", field: "config.prompt" },
      { code: "dangling_edge", message: "edge 'a->b' points to node 'b' which does not exist", edge: "a->b" },
      { code: "cycle", message: "cycle: a -> c -> a" },
    ]);
    expect(g.byNode.llm_1).toHaveLength(1);
    expect(g.byEdge["a->b"]).toHaveLength(1);
    expect(g.general).toEqual(["cycle: a -> c -> a"]);
    expect(g.all).toHaveLength(3);
  });
  it("ignores details that are not a list", () => {
    expect(groupIssues(null).all).toEqual([]);
  });
});

describe("exampleInput", () => {
  it("prefills the run input from the input node", () => {
    expect(exampleInput(flow)).toEqual({ name: "world" });
    expect(exampleInput({ nodes: [], edges: [] })).toEqual({});
  });
});

describe("overlaps / withLayout", () => {
  it("detects cramped positions and lays them out apart", () => {
    const cramped: FlowDefinition = {
      nodes: [
        { id: "a", type: "input", config: {}, position: { x: 0, y: 0 } },
        { id: "b", type: "output", config: {}, position: { x: 150, y: 10 } },
      ],
      edges: [{ from: "a", to: "b" }],
    };
    expect(overlaps(cramped)).toBe(true);
    const tidy = withLayout(cramped);
    expect(overlaps(tidy)).toBe(false);
    expect(tidy.nodes[1].position!.x).toBeGreaterThan(tidy.nodes[0].position!.x);
  });
});
