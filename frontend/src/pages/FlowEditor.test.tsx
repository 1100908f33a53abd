import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { FlowEditor } from "./FlowEditor";
import { FakeApi, json, Providers, stubBrowserLayout } from "../test/fakeApi";
import catalog from "../lib/fixtures/node-types.json";
import type { Flow, FlowDefinition, NodeType } from "../types";

// The flow editor page against an in-memory API behind `fetch`: the flow, the server's live validation, save
// and publish. The page runs through its real hooks (draft store, live validation, actions) and React Flow.
const BASE = "/v1/workspaces/ws-1";
const nodeTypes = (catalog as unknown as { items: NodeType[] }).items;

const definition: FlowDefinition = {
  nodes: [
    { id: "start", type: "input", config: {}, position: { x: 0, y: 0 } },
    { id: "fetch", type: "http", config: { url: "https://example.com" }, position: { x: 300, y: 0 } },
    { id: "merge", type: "transform", config: { expression: "nodes.fetch_fourth.output" }, position: { x: 600, y: 0 } },
    { id: "result", type: "output", config: {}, position: { x: 900, y: 0 } },
  ],
  edges: [
    { from: "start", to: "fetch" },
    { from: "fetch", to: "merge" },
    { from: "merge", to: "result" },
  ],
};
const problem = {
  code: "invalid_expression",
  message: "node 'merge' config.expression reads node 'fetch_fourth' which does not exist",
  node: "merge",
  field: "config.expression",
};

function aFlow(patch: Partial<Flow> = {}): Flow {
  return {
    id: "f-1",
    name: "Compare cities",
    description: "",
    definition,
    live_version: 1,
    latest_version: 1,
    created_at: "2026-11-27T10:00:00Z",
    updated_at: "2026-11-27T10:00:00Z",
    valid: false,
    problems: [problem],
    ...patch,
  } as Flow;
}

let api: FakeApi;
beforeEach(() => {
  stubBrowserLayout();
  api = new FakeApi()
    .on(`GET ${BASE}/flows/f-1`, aFlow())
    .on(`POST ${BASE}/flows/validate`, () => json(422, { error: { code: "invalid_flow", message: problem.message, details: [problem] } }))
    .on(`GET ${BASE}/flows/f-1/runs`, { items: [], next_cursor: null })
    .on(`GET ${BASE}/flows/f-1/triggers`, { items: [] });
  vi.stubGlobal("fetch", api.fetch);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const canvasNode = (id: string) => document.querySelector(`.fnode[data-node-id="${id}"]`) as HTMLElement | null;

describe("FlowEditor", () => {
  it("shows the server's problem on the node it names, and the toolbar counts it", async () => {
    // Given a saved draft whose merge node reads a node that does not exist
    // When the editor opens
    render(<Providers nodeTypes={nodeTypes}><FlowEditor flowId="f-1" /></Providers>);
    // Then the merge node is marked with the problem, the others are not
    await waitFor(() => expect(canvasNode("merge")?.classList.contains("has-issues")).toBe(true));
    expect(canvasNode("merge")?.getAttribute("title")).toContain("fetch_fourth");
    expect(canvasNode("fetch")?.classList.contains("has-issues")).toBe(false);
    // And the toolbar says how many problems the draft has
    await waitFor(() => expect(screen.getByTestId("validity").textContent).toMatch(/1 problem/));
  });

  it("publishing a flow identical to its live version says nothing new was published", async () => {
    // Given a valid draft identical to live v1
    api
      .on(`GET ${BASE}/flows/f-1`, aFlow({ valid: true, problems: [] }))
      .on(`POST ${BASE}/flows/validate`, { valid: true, state_count: 4 })
      .on(`POST ${BASE}/flows/f-1/versions`, { flow_id: "f-1", version: 1, definition, unchanged: true, created_at: "2026-11-27T10:00:00Z" });
    render(<Providers nodeTypes={nodeTypes}><FlowEditor flowId="f-1" /></Providers>);
    await waitFor(() => expect(canvasNode("merge")).toBeTruthy());
    // When it is published
    fireEvent.click(screen.getByTestId("publish"));
    fireEvent.click(await screen.findByTestId("confirm-publish"));
    // Then the API was asked once, and the editor says v1 stays live rather than "Published v1"
    await waitFor(() => expect(screen.getByTestId("toast-info").textContent).toContain("Nothing new to publish"));
    expect(screen.getByTestId("toast-info").textContent).toContain("v1 is live");
    expect(screen.queryByText(/Published v1/)).toBeNull();
    expect(api.requests.filter((r) => r.method === "POST" && r.path.endsWith("/versions"))).toHaveLength(1);
  });
});
