import { describe, expect, it } from "vitest";
import {
  addNode,
  connect,
  copyNodes,
  duplicateNodes,
  fromDocument,
  parseDocument,
  pasteDocument,
  removeEdge,
  removeNodes,
  renameNode,
  renameReferences,
  selectNodes,
  setEdgeCondition,
  tidy,
  updateNode,
  withIssues,
  type Canvas,
} from "./canvasOps";
import { fromReactFlow, LAYOUT, overlaps, toReactFlow } from "./flowConvert";
import type { FlowDefinition } from "../types";

const CENTER = { x: 500, y: 300 };

/** input -> summarise -> output, laid out in one row. */
function line(): Canvas {
  return toReactFlow({
    nodes: [
      { id: "input", type: "input", config: {}, position: { x: 0, y: 0 } },
      { id: "summarise", type: "llm", config: { prompt: "{{ input.text }}" }, position: { x: 270, y: 0 } },
      { id: "output", type: "output", config: { value: "{{ nodes.summarise.output.text }}" }, position: { x: 540, y: 0 } },
    ],
    edges: [
      { from: "input", to: "summarise" },
      { from: "summarise", to: "output" },
    ],
  });
}

/** A branching flow: check -true-> yes, check -false-> no. */
function branch(): Canvas {
  return toReactFlow({
    nodes: [
      { id: "check", type: "condition", config: { expression: "input.ok" }, position: { x: 0, y: 0 } },
      { id: "yes", type: "transform", config: { expression: "'y'" }, position: { x: 270, y: 0 } },
      { id: "no", type: "transform", config: { expression: "'n'" }, position: { x: 270, y: 120 } },
    ],
    edges: [
      { from: "check", to: "yes", condition: "true" },
      { from: "check", to: "no", condition: "false" },
    ],
  });
}

const edgeIds = (c: Canvas) => c.edges.map((e) => e.id).sort();
const pos = (c: Canvas, id: string) => c.nodes.find((n) => n.id === id)?.position;
const doc = (c: Canvas): FlowDefinition => fromReactFlow(c.nodes, c.edges);

describe("addNode", () => {
  it("inserts a node on the single plain edge leaving the selected node and shifts what follows", () => {
    // Given input -> summarise -> output with input selected
    const before = line();
    // When a transform is added after input
    const { canvas, id } = addNode(before, { type: "transform", config: { expression: "" }, after: "input", center: CENTER });
    // Then it sits between input and summarise, wired in, selected alone, and the rest moved one column right
    expect(id).toBe("transform_1");
    expect(edgeIds(canvas)).toEqual(["input->transform_1", "summarise->output", "transform_1->summarise"]);
    expect(pos(canvas, "transform_1")).toEqual({ x: LAYOUT.dx, y: 0 });
    expect(pos(canvas, "summarise")).toEqual({ x: 270 + LAYOUT.dx, y: 0 });
    expect(pos(canvas, "output")).toEqual({ x: 540 + LAYOUT.dx, y: 0 });
    expect(canvas.nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["transform_1"]);
    expect(canvas.nodes.find((n) => n.id === id)?.data.node).toEqual({ type: "transform", config: { expression: "" } });
    // And the canvas it came from is untouched
    expect(edgeIds(before)).toEqual(["input->summarise", "summarise->output"]);
  });

  it("appends below the next column when the selected node already fans out", () => {
    // Given a transform `yes` feeding two nodes
    const fan = connect(connect(branch(), { source: "yes", target: "no", sourceHandle: null, targetHandle: null }), {
      source: "yes",
      target: "check",
      sourceHandle: null,
      targetHandle: null,
    });
    // When an http node is added after it
    const { canvas, id } = addNode(fan, { type: "http", config: {}, after: "yes", center: CENTER });
    // Then it is wired from `yes` and placed in the next column, below what is there
    expect(canvas.edges.some((e) => e.source === "yes" && e.target === id)).toBe(true);
    expect(pos(canvas, id)).toEqual({ x: 270 + LAYOUT.dx, y: 0 });
  });

  it("does not wire after an output or a condition, nor wire an input", () => {
    // When a node is added with an output, then a condition selected, and an input with a plain node selected
    const afterOutput = addNode(line(), { type: "transform", config: {}, after: "output", center: CENTER });
    const afterCondition = addNode(branch(), { type: "transform", config: {}, after: "check", center: CENTER });
    const input = addNode(line(), { type: "input", config: {}, after: "summarise", center: CENTER });
    // Then none of them gets an edge, and each lands near the middle of the view
    expect(afterOutput.canvas.edges).toHaveLength(2);
    expect(afterCondition.canvas.edges).toHaveLength(2);
    expect(input.canvas.edges).toHaveLength(2);
    expect(input.id).toBe("input_1");
    expect(pos(afterOutput.canvas, afterOutput.id)).toEqual({ x: CENTER.x + 3 * 14, y: CENTER.y + 3 * 14 });
  });

  it("places a dropped node where it was dropped, without wiring it", () => {
    const { canvas, id } = addNode(line(), { type: "wait", config: {}, at: { x: 10, y: 20 }, after: "input", center: CENTER });
    expect(pos(canvas, id)).toEqual({ x: 10, y: 20 });
    expect(canvas.edges).toHaveLength(2);
  });
});

describe("connect", () => {
  it("adds an edge, and a condition's handle becomes the edge's condition", () => {
    // Given the branching flow / When check's false handle is dragged to yes
    const c = connect(branch(), { source: "check", target: "yes", sourceHandle: "false", targetHandle: null });
    // Then the existing check->yes edge stops a second one; and a new pair is wired with its condition
    expect(c.edges).toHaveLength(2);
    const wired = connect(branch(), { source: "no", target: "yes", sourceHandle: null, targetHandle: null });
    expect(doc(wired).edges).toContainEqual({ from: "no", to: "yes" });
    const fromHandle = connect(removeEdge(branch(), "check->yes"), { source: "check", target: "yes", sourceHandle: "false", targetHandle: null });
    expect(doc(fromHandle).edges).toContainEqual({ from: "check", to: "yes", condition: "false" });
  });

  it("refuses a node wired to itself", () => {
    const before = line();
    expect(connect(before, { source: "input", target: "input", sourceHandle: null, targetHandle: null })).toBe(before);
  });
});

describe("removing", () => {
  it("removes nodes with every edge that touches them", () => {
    // When summarise is deleted / Then input and output remain, unwired
    const c = removeNodes(line(), ["summarise"]);
    expect(c.nodes.map((n) => n.id)).toEqual(["input", "output"]);
    expect(c.edges).toEqual([]);
  });

  it("removes one edge and keeps its nodes", () => {
    const c = removeEdge(line(), "input->summarise");
    expect(edgeIds(c)).toEqual(["summarise->output"]);
    expect(c.nodes).toHaveLength(3);
  });
});

describe("editing", () => {
  it("replaces a node's body", () => {
    const c = updateNode(line(), "summarise", { type: "llm", name: "Summarise", config: { prompt: "Hi" } });
    expect(doc(c).nodes[1]).toMatchObject({ id: "summarise", name: "Summarise", config: { prompt: "Hi" } });
  });

  it("moves an edge out of a condition to the handle its new condition names", () => {
    // Given check -true-> yes / When its condition becomes "false", then an expression
    const toFalse = setEdgeCondition(branch(), "check->yes", "false");
    const toExpr = setEdgeCondition(branch(), "check->yes", "input.n > 2");
    // Then it leaves from the false handle, and an expression leaves from no handle
    expect(toFalse.edges.find((e) => e.id === "check->yes")?.sourceHandle).toBe("false");
    expect(toExpr.edges.find((e) => e.id === "check->yes")?.sourceHandle).toBeNull();
    expect(doc(toExpr).edges[0]).toEqual({ from: "check", to: "yes", condition: "input.n > 2" });
  });
});

describe("renameNode", () => {
  it("renames the node, its edges and every template that reads it", () => {
    // Given output reads nodes.summarise / When summarise is renamed to brief
    const c = renameNode(line(), "summarise", "brief");
    // Then edges follow and the template reads nodes.brief
    expect(edgeIds(c)).toEqual(["brief->output", "input->brief"]);
    expect(c.nodes.find((n) => n.id === "output")?.data.node.config).toEqual({ value: "{{ nodes.brief.output.text }}" });
  });

  it("leaves the canvas as it is for a taken or invalid id", () => {
    const before = line();
    expect(renameNode(before, "summarise", "output")).toBe(before);
    expect(renameNode(before, "summarise", "1st")).toBe(before);
    expect(renameNode(before, "nobody", "x")).toBe(before);
  });

  it("rewrites whole ids only", () => {
    // Given references to a, ab and something else's `nodes.a`
    const value = { t: "{{ nodes.a.output }} {{ nodes.ab.output }} {{ input.nodes.a }} {{nodes.a}}", list: ["nodes.a.output"] };
    // When a is renamed to z / Then only the references to a change
    expect(renameReferences(value, new Map([["a", "z"]]))).toEqual({
      t: "{{ nodes.z.output }} {{ nodes.ab.output }} {{ input.nodes.a }} {{nodes.z}}",
      list: ["nodes.z.output"],
    });
  });
});

describe("tidy", () => {
  it("lays the nodes out by dependency and keeps everything else", () => {
    // Given a line whose nodes were dragged into a heap
    const heap: Canvas = { ...line(), nodes: line().nodes.map((n) => ({ ...n, position: { x: 5, y: 5 }, selected: n.id === "output" })) };
    // When tidied / Then they are one column apart and output is still selected
    const c = tidy(heap);
    expect(c.nodes.map((n) => n.position.x)).toEqual([0, LAYOUT.dx, 2 * LAYOUT.dx]);
    expect(c.nodes.find((n) => n.id === "output")?.selected).toBe(true);
    expect(c.edges).toBe(heap.edges);
  });
});

describe("copy, paste and duplicate", () => {
  it("copies the selected nodes with the edges between them only", () => {
    const copied = copyNodes(line(), ["summarise", "output"]);
    expect(copied.nodes.map((n) => n.id)).toEqual(["summarise", "output"]);
    expect(copied.edges).toEqual([{ from: "summarise", to: "output" }]);
  });

  it("duplicates nodes beside the originals under free ids, templates following the new ids", () => {
    // Given summarise -> output / When both are duplicated
    const { canvas, ids } = duplicateNodes(line(), ["summarise", "output"]);
    // Then the copies get free ids, are offset, wired together and selected alone
    expect(ids).toEqual(["summarise_1", "output_1"]);
    expect(edgeIds(canvas)).toContain("summarise_1->output_1");
    expect(pos(canvas, "summarise_1")).toEqual({ x: 310, y: LAYOUT.dy });
    expect(canvas.nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(ids);
    // And the copied output reads the copied summarise, the original output the original
    const config = (id: string) => canvas.nodes.find((n) => n.id === id)?.data.node.config;
    expect(config("output_1")).toEqual({ value: "{{ nodes.summarise_1.output.text }}" });
    expect(config("output")).toEqual({ value: "{{ nodes.summarise.output.text }}" });
  });

  it("moves a copy down until it covers no node, so a second copy does not hide the first", () => {
    // Given summarise duplicated once / When duplicated again
    const once = duplicateNodes(line(), ["summarise"]).canvas;
    const twice = duplicateNodes(once, ["summarise"]).canvas;
    // Then the copies sit one row and two rows below it, and no two nodes overlap
    expect(pos(twice, "summarise_1")).toEqual({ x: 310, y: LAYOUT.dy });
    expect(pos(twice, "summarise_2")).toEqual({ x: 310, y: 2 * LAYOUT.dy });
    expect(overlaps(doc(twice))).toBe(false);
  });

  it("numbers copies of numbered ids onward", () => {
    const c = toReactFlow({ nodes: [{ id: "transform_1", type: "transform", config: {}, position: { x: 0, y: 0 } }], edges: [] });
    expect(duplicateNodes(c, ["transform_1"]).ids).toEqual(["transform_2"]);
  });

  it("pastes a document from elsewhere, laying out nodes without positions and keeping free ids", () => {
    // Given JSON from the clipboard with new ids, no positions, and an edge to a node it does not contain
    const pasted: FlowDefinition = {
      nodes: [
        { id: "fetch", type: "http", config: { url: "https://example.com" } },
        { id: "shape", type: "transform", config: { expression: "nodes.fetch.output" } },
      ],
      edges: [
        { id: "e1", from: "fetch", to: "shape" },
        { from: "shape", to: "elsewhere" },
      ],
    };
    // When it is pasted into the line
    const { canvas, ids } = pasteDocument(line(), pasted);
    // Then the nodes keep their ids, are placed apart, and only the inner edge (with its id) comes along
    expect(ids).toEqual(["fetch", "shape"]);
    expect(pos(canvas, "fetch")).not.toEqual(pos(canvas, "shape"));
    expect(doc(canvas).edges).toContainEqual({ id: "e1", from: "fetch", to: "shape" });
    expect(canvas.edges).toHaveLength(3);
  });
});

describe("fromDocument", () => {
  it("lays out a document whose nodes overlap or lack positions, and keeps good positions", () => {
    const heap: FlowDefinition = {
      nodes: [
        { id: "a", type: "input", config: {}, position: { x: 0, y: 0 } },
        { id: "b", type: "output", config: {}, position: { x: 10, y: 0 } },
      ],
      edges: [{ from: "a", to: "b" }],
    };
    expect(fromDocument(heap).nodes.map((n) => n.position)).toEqual([{ x: 0, y: 0 }, { x: LAYOUT.dx, y: 0 }]);
    const spaced = { ...heap, nodes: [heap.nodes[0], { ...heap.nodes[1], position: { x: 900, y: 400 } }] };
    expect(fromDocument(spaced).nodes[1].position).toEqual({ x: 900, y: 400 });
  });
});

describe("selectNodes", () => {
  it("selects exactly the given nodes and no edge, reusing unchanged objects", () => {
    const before = line();
    const c = selectNodes(before, ["output"]);
    expect(c.nodes.map((n) => !!n.selected)).toEqual([false, false, true]);
    expect(c.nodes[0]).toBe(before.nodes[0]);
  });
});

describe("parseDocument", () => {
  it("reads a flow document and names what is wrong with anything else", () => {
    expect(parseDocument('{"nodes": [{"id": "a", "type": "input"}]}').doc).toEqual({ nodes: [{ id: "a", type: "input" }], edges: [] });
    expect(parseDocument("{nope").error).toMatch(/^Invalid JSON/);
    expect(parseDocument("[]").error).toBe('A flow is an object {"nodes": [...], "edges": [...]}.');
    expect(parseDocument('{"nodes": [{"id": 1, "type": "x"}]}').error).toBe('Every node needs a string "id" and "type".');
    expect(parseDocument('{"nodes": [], "edges": [{"from": "a"}]}').error).toBe('Every edge needs string "from" and "to".');
  });
});

describe("withIssues", () => {
  it("puts the validator's issues on their nodes and edges and labels expression conditions", () => {
    // Given a branch whose yes node and check->no edge have issues, and an expression on check->yes
    const c = setEdgeCondition(branch(), "check->yes", "input.n > 2");
    // When drawn with the issues
    const drawn = withIssues(c, { byNode: { yes: ["bad expression"] }, byEdge: { "check->no": ["duplicate"] } });
    // Then yes carries its issue, the bad edge is marked, and the expression is written on its edge
    expect(drawn.nodes.find((n) => n.id === "yes")?.data.issues).toEqual(["bad expression"]);
    expect(drawn.nodes.find((n) => n.id === "no")?.data.issues).toBeUndefined();
    const edge = (id: string) => drawn.edges.find((e) => e.id === id);
    expect(edge("check->no")?.className).toBe("edge-invalid");
    expect(edge("check->yes")).toMatchObject({ className: "edge-conditional", label: "input.n > 2" });
    // And a fixed node loses its old issues
    expect(withIssues(drawn, { byNode: {}, byEdge: {} }).nodes.find((n) => n.id === "yes")?.data.issues).toBeUndefined();
  });
});
