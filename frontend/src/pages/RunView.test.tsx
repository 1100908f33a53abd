import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { RunView } from "./RunView";
import { makeQueryClient } from "../lib/query";
import { FakeApi, Providers, stubBrowserLayout } from "../test/fakeApi";
import type { FlowDefinition, NodeRun, Run } from "../types";

// The run view against an in-memory API behind `fetch`: the run, its nodes, the version's graph, and a live event
// stream. The clock is fixed so relative times read the same on every machine.
const NOW = Date.parse("2026-11-27T10:00:00Z");
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();
const BASE = "/v1/workspaces/ws-1";

const definition: FlowDefinition = {
  nodes: [
    { id: "input", type: "input", config: {}, position: { x: 0, y: 0 } },
    { id: "fetch", type: "http", config: { url: "https://example.com" }, position: { x: 300, y: 0 } },
    { id: "summarise", type: "llm", config: {}, position: { x: 600, y: 0 } },
    { id: "output", type: "output", config: {}, position: { x: 900, y: 0 } },
  ],
  edges: [
    { from: "input", to: "fetch" },
    { from: "fetch", to: "summarise" },
    { from: "summarise", to: "output" },
  ],
};

function aRun(patch: Partial<Run> = {}): Run {
  return {
    id: "9b6c1f0e-0000-4000-8000-000000000001",
    number: 42,
    label: "nightly import",
    flow_id: "f-1",
    flow_name: "Import orders",
    version: 3,
    test: false,
    status: "RUNNING",
    trigger: "api",
    input: { day: "2026-11-26" },
    output: null,
    error: null,
    attempt: 1,
    created_by: "u-1",
    started_by: { kind: "user", id: "u-1" },
    created_at: at(-90),
    started_at: at(-90),
    finished_at: null,
    duration_ms: null,
    active_ms: 61_000,
    cost_usd: 0,
    tokens: 0,
    cost: { llm: 0, compute: 0, orchestration: 0, total: 0 },
    ...patch,
  } as Run;
}

const node = (node_id: string, type: string, status: NodeRun["status"], patch: Partial<NodeRun> = {}): NodeRun =>
  ({ node_id, type, status, attempts: status === "PENDING" ? 0 : 1, executions: status === "PENDING" ? 0 : 1, ...patch }) as NodeRun;

let api: FakeApi;
function serve(run: Run, nodes: NodeRun[]): void {
  api
    .on(`GET ${BASE}/runs/${run.id}`, run)
    .on(`GET ${BASE}/runs/${run.id}/nodes`, { items: nodes })
    .on(`GET ${BASE}/flows/f-1/versions/3`, { flow_id: "f-1", version: 3, definition })
    .on(`GET ${BASE}/flows/f-1`, { id: "f-1", name: "Import orders", live_version: 3, definition })
    .on(`GET ${BASE}/approvals`, { items: [], next_cursor: null });
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW);
  stubBrowserLayout();
  api = new FakeApi();
  vi.stubGlobal("fetch", api.fetch);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const canvasNode = (id: string) => document.querySelector(`.fnode[data-node-id="${id}"]`) as HTMLElement | null;
const timelineRow = (id: string) => within(screen.getByTestId("node-list")).getByText(id).closest("button") as HTMLElement;

describe("RunView", () => {
  it("names the run by its number and label and shows active time beside the elapsed time", async () => {
    // Given a run redriven a day after it failed: a day elapsed, 4.2 s of it executing
    const run = aRun({ status: "SUCCEEDED", started_at: at(-86_500), finished_at: at(-100), duration_ms: 86_400_000, active_ms: 4_200 });
    serve(run, [node("input", "input", "SUCCEEDED"), node("fetch", "http", "SUCCEEDED"), node("summarise", "llm", "SUCCEEDED"), node("output", "output", "SUCCEEDED")]);
    // When the run view opens
    render(<Providers><RunView runId={run.id} /></Providers>);
    // Then the run is called #42 with its label, not its UUID
    await waitFor(() => expect(screen.getByTestId("run-id").textContent).toBe("#42 · nightly import"));
    expect(screen.getByTestId("run-id").getAttribute("title")).toBe(run.id);
    // And the elapsed day and the active seconds both show
    expect(screen.getByTestId("run-elapsed").textContent).toBe("24h 0m");
    expect(screen.getByTestId("run-active").textContent).toBe("4.20 s");
    expect(within(screen.getByTestId("run-status")).getByText("Succeeded")).toBeTruthy();
  });

  it("shows each node's status on the canvas and in the timeline, and a retrying node as RETRYING with its next attempt", async () => {
    // Given a running run whose llm node's first attempt failed and tries again in 12 s
    const run = aRun();
    serve(run, [
      node("input", "input", "SUCCEEDED", { started_at: at(-90), finished_at: at(-89), duration_ms: 1000 }),
      node("fetch", "http", "SUCCEEDED", { started_at: at(-89), finished_at: at(-60), duration_ms: 29_000 }),
      node("summarise", "llm", "RETRYING", { attempts: 1, started_at: at(-60), next_attempt_at: at(12), error: { type: "Timeout", message: "the model did not answer" } }),
      node("output", "output", "PENDING"),
    ]);
    // When the run view opens
    render(<Providers><RunView runId={run.id} /></Providers>);
    // Then each node shows its own status on the canvas
    await waitFor(() => expect(canvasNode("summarise")?.dataset.status).toBe("RETRYING"));
    expect(canvasNode("input")?.dataset.status).toBe("SUCCEEDED");
    expect(canvasNode("fetch")?.dataset.status).toBe("SUCCEEDED");
    expect(canvasNode("output")?.dataset.status).toBe("PENDING");
    expect(within(canvasNode("summarise")!).getByText("Retrying")).toBeTruthy();
    // And the summary counts it as retrying, never as failed
    expect(screen.getByText(/1 retrying/)).toBeTruthy();
    expect(screen.queryByText(/failed/i)).toBeNull();
    // When the retrying node is picked in the timeline
    fireEvent.click(timelineRow("summarise"));
    // Then its panel says RETRYING and when it tries again, and the error is the failed attempt's
    const panel = await screen.findByTestId("node-run-panel");
    expect(within(panel).getByText("Retrying").closest("[data-status]")?.getAttribute("data-status")).toBe("RETRYING");
    expect(within(panel).getByTestId("next-attempt").textContent).toBe("next attempt in 12 s");
    expect(within(panel).getByText("Error of the failed attempt")).toBeTruthy();
    expect(within(panel).getByText("the model did not answer")).toBeTruthy();
  });

  it("moves nodes live from the event stream through the query cache, without reloading them", async () => {
    // Given a running run whose llm node is running
    const run = aRun();
    serve(run, [node("input", "input", "SUCCEEDED"), node("fetch", "http", "SUCCEEDED"), node("summarise", "llm", "RUNNING"), node("output", "output", "PENDING")]);
    const client = makeQueryClient();
    render(<Providers client={client}><RunView runId={run.id} /></Providers>);
    await waitFor(() => expect(canvasNode("summarise")?.dataset.status).toBe("RUNNING"));
    // (the stream is open, and no read is in flight to overwrite what the events change)
    await waitFor(() => expect(api.openStreams).toBe(1));
    await waitFor(() => expect(client.isFetching()).toBe(0));
    const loads = api.requests.filter((r) => r.path.endsWith("/nodes")).length;
    // When the stream says its attempt failed and the next one is due in 30 s
    act(() => api.push([{ type: "node.retrying", run_id: run.id, node_id: "summarise", iteration: 0, data: { attempt: 1, next_attempt_at: at(30), error: { message: "rate limited" } } } as never]));
    // Then the canvas and the timeline show it RETRYING, and its panel the next attempt
    await waitFor(() => expect(canvasNode("summarise")?.dataset.status).toBe("RETRYING"));
    fireEvent.click(timelineRow("summarise"));
    expect(within(await screen.findByTestId("node-run-panel")).getByTestId("next-attempt").textContent).toBe("next attempt in 30 s");
    // When the next attempt starts and succeeds
    act(() => api.push([
      { type: "node.started", run_id: run.id, node_id: "summarise", iteration: 0, data: { attempt: 2 } },
      { type: "node.succeeded", run_id: run.id, node_id: "summarise", iteration: 0, data: {} },
    ] as never));
    // Then it reads succeeded and the retry notice is gone, all without fetching the nodes again
    await waitFor(() => expect(canvasNode("summarise")?.dataset.status).toBe("SUCCEEDED"));
    expect(screen.queryByTestId("next-attempt")).toBeNull();
    expect(api.requests.filter((r) => r.path.endsWith("/nodes")).length).toBe(loads);
  });

  it("shows the load error with a retry when the run cannot be read", async () => {
    // Given a run the API does not know
    render(<Providers><RunView runId="missing" /></Providers>);
    // Then the page says so, and offers a way back
    expect(await screen.findByText("Could not load the run")).toBeTruthy();
    expect(screen.getByText(`GET ${BASE}/runs/missing`)).toBeTruthy();
    expect(screen.getByText("← All runs")).toBeTruthy();
  });
});
