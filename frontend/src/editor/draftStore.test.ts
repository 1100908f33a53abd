import { describe, expect, it } from "vitest";
import { createDraftStore, HISTORY_LIMIT, STEP_WINDOW_MS } from "./draftStore";
import { fromDocument } from "../lib/canvasOps";
import { fromReactFlow } from "../lib/flowConvert";
import type { FlowDefinition } from "../types";

const FLOW: FlowDefinition = {
  nodes: [
    { id: "input", type: "input", config: {}, position: { x: 0, y: 0 } },
    { id: "output", type: "output", config: {}, position: { x: 540, y: 0 } },
  ],
  edges: [{ from: "input", to: "output" }],
};
const CENTER = { x: 0, y: 300 };

/** A store with a clock the test moves, holding FLOW as just loaded. */
function loaded() {
  let t = 1_000;
  const store = createDraftStore({ now: () => t });
  store.getState().reset(fromDocument(FLOW), { name: "Flow", description: "" });
  const later = (ms: number) => (t += ms);
  const doc = () => fromReactFlow(store.getState().nodes, store.getState().edges);
  const steps = () => store.temporal.getState().pastStates.length;
  return { store, later, doc, steps, draft: () => store.getState() };
}

const moveInput = (x: number) => ({ id: "input", type: "position" as const, position: { x, y: 0 }, dragging: true });

describe("draft store undo history", () => {
  it("starts a loaded flow with nothing to undo", () => {
    const { draft, steps, doc } = loaded();
    draft().undo();
    expect(steps()).toBe(0);
    expect(doc()).toEqual(FLOW);
  });

  it("undoes and redoes adding a node, edges included", () => {
    // Given the loaded flow with input clicked (highlighted by React Flow, shown in the side panel)
    const { draft, doc } = loaded();
    draft().onNodesChange([{ id: "input", type: "select", selected: true }]);
    draft().select({ node: "input" });
    // When a transform is inserted after input, then undone
    draft().addNode({ type: "transform", config: {}, after: "input", center: CENTER });
    const withTransform = doc();
    expect(withTransform.edges.map((e) => `${e.from}->${e.to}`)).toEqual(["input->transform_1", "transform_1->output"]);
    draft().undo();
    // Then the flow is as loaded, with nothing selected
    expect(doc()).toEqual(FLOW);
    expect(draft().selection).toBeNull();
    expect(draft().nodes.some((n) => n.selected)).toBe(false);
    // When redone / Then the transform is back
    draft().redo();
    expect(doc()).toEqual(withTransform);
  });

  it("makes a whole drag one step", () => {
    // Given the loaded flow / When input is dragged through many positions, a frame apart
    const { draft, later, steps, doc } = loaded();
    for (let x = 1; x <= 30; x++) {
      draft().onNodesChange([moveInput(x * 5)]);
      later(16);
    }
    // Then one undo puts it back where it started
    expect(steps()).toBe(1);
    draft().undo();
    expect(doc().nodes[0].position).toEqual({ x: 0, y: 0 });
  });

  it("makes edits separated by a pause separate steps", () => {
    // Given typing in input's config, a pause, then more typing
    const { draft, later, steps } = loaded();
    draft().updateNode("input", { type: "input", config: { example: { a: 1 } } });
    later(100);
    draft().updateNode("input", { type: "input", config: { example: { a: 12 } } });
    later(STEP_WINDOW_MS + 1);
    draft().updateNode("input", { type: "input", config: { example: { a: 123 } } });
    // Then the first burst is one step and the later edit another
    expect(steps()).toBe(2);
    draft().undo();
    expect(draft().nodes[0].data.node.config).toEqual({ example: { a: 12 } });
  });

  it("keeps discrete edits apart even when they come quickly", () => {
    // Given two nodes added in the same instant
    const { draft, doc } = loaded();
    draft().addNode({ type: "wait", config: {}, center: CENTER });
    draft().addNode({ type: "http", config: {}, center: CENTER });
    // When undone once / Then only the second is gone
    draft().undo();
    expect(doc().nodes.map((n) => n.id)).toEqual(["input", "output", "wait_1"]);
  });

  it("does not record selection, measuring, or the name and description", () => {
    const { draft, steps } = loaded();
    draft().onNodesChange([{ id: "input", type: "select", selected: true }]);
    draft().onNodesChange([{ id: "output", type: "dimensions", dimensions: { width: 208, height: 60 } }]);
    draft().setMeta({ name: "Renamed" });
    draft().select({ edge: "input->output" });
    expect(steps()).toBe(0);
    expect(draft().meta).toEqual({ name: "Renamed", description: "" });
  });

  it("forgets the redo branch after a new edit", () => {
    const { draft, store } = loaded();
    draft().addNode({ type: "wait", config: {}, center: CENTER });
    draft().undo();
    draft().addNode({ type: "http", config: {}, center: CENTER });
    expect(store.temporal.getState().futureStates).toHaveLength(0);
  });

  it(`keeps at most ${HISTORY_LIMIT} steps`, () => {
    const { draft, steps } = loaded();
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) draft().addNode({ type: "wait", config: {}, center: CENTER });
    expect(steps()).toBe(HISTORY_LIMIT);
  });

  it("records a pasted JSON document as one step and undoes it", () => {
    // Given the JSON dialog's document replacing the canvas
    const { draft, doc } = loaded();
    draft().replace({ nodes: [{ id: "only", type: "input", config: {} }], edges: [] });
    expect(doc().nodes.map((n) => n.id)).toEqual(["only"]);
    // When undone / Then the loaded flow is back
    draft().undo();
    expect(doc()).toEqual(FLOW);
  });
});

describe("draft store edits", () => {
  it("duplicates the selected node and selects the copy", () => {
    const { draft } = loaded();
    draft().select({ node: "output" });
    draft().duplicateSelection();
    expect(draft().selection).toEqual({ node: "output_1" });
    expect(draft().nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["output_1"]);
  });

  it("copies the nodes React Flow has selected, and pastes them under new ids", () => {
    // Given both nodes box-selected
    const { draft, doc } = loaded();
    draft().onNodesChange(["input", "output"].map((id) => ({ id, type: "select" as const, selected: true })));
    // When copied and pasted
    const copied = draft().copySelection();
    expect(copied?.nodes.map((n) => n.id)).toEqual(["input", "output"]);
    draft().paste(copied!);
    // Then the copies are wired like the originals
    expect(doc().edges.map((e) => `${e.from}->${e.to}`)).toEqual(["input->output", "input_1->output_1"]);
  });

  it("renames a node and keeps it selected; a taken id changes nothing", () => {
    const { draft, steps } = loaded();
    draft().renameNode("input", "start");
    expect(draft().selection).toEqual({ node: "start" });
    draft().renameNode("start", "output");
    expect(steps()).toBe(1);
  });
});
