import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { RunsList } from "./RunsList";
import { useRoute } from "../lib/router";
import { makeQueryClient } from "../lib/query";
import { FakeApi, Providers } from "../test/fakeApi";
import type { Run } from "../types";

// The runs list against an in-memory API behind `fetch` (runs filtered as the API filters them, a live event
// stream), under the console's hash router so filters go through the URL as they do in the app.
const BASE = "/v1/workspaces/ws-1";

function aRun(n: number, patch: Partial<Run> = {}): Run {
  return {
    id: `00000000-0000-4000-8000-00000000000${n}`,
    number: n,
    label: null,
    flow_id: "f-1",
    flow_name: "Import orders",
    version: 2,
    test: false,
    status: "SUCCEEDED",
    trigger: "api",
    input: {},
    output: null,
    error: null,
    attempt: 1,
    created_by: "u-1",
    started_by: { kind: "user", id: "u-1" },
    created_at: "2026-11-27T09:00:00Z",
    started_at: "2026-11-27T09:00:00Z",
    finished_at: "2026-11-27T09:00:02Z",
    duration_ms: 2000,
    active_ms: 2000,
    cost_usd: 0,
    tokens: 10,
    cost: { llm: 0, compute: 0, orchestration: 0, total: 0 },
    ...patch,
  } as Run;
}

let api: FakeApi;
let runs: Run[];
beforeEach(() => {
  window.location.hash = "#/w/ws-1/runs";
  runs = [aRun(7, { label: "backfill", status: "RUNNING", finished_at: null, duration_ms: null }), aRun(6), aRun(5, { test: true })];
  api = new FakeApi()
    .on(`GET ${BASE}/flows`, { items: [{ id: "f-1", name: "Import orders" }], next_cursor: null })
    // As the API answers: test runs only when asked for (`test=true`), and then only them.
    .on(`GET ${BASE}/runs`, (url: URL) => ({
      items: runs.filter((r) => r.test === (url.searchParams.get("test") === "true")).filter((r) => !url.searchParams.get("status") || r.status === url.searchParams.get("status")),
      next_cursor: null,
    }));
  vi.stubGlobal("fetch", api.fetch);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function Routed() {
  const { query } = useRoute();
  return <RunsList query={query} />;
}

const rows = () => screen.queryAllByTestId("run-row");
const names = () => rows().map((r) => within(r).getAllByRole("link")[0].textContent);

describe("RunsList", () => {
  it("names runs by number and label, and leaves test runs out unless asked for", async () => {
    // Given two runs (one labelled) and a test run of a draft
    render(<Providers><Routed /></Providers>);
    // Then the runs are listed by number and label, without the test run
    await waitFor(() => expect(names()).toEqual(["#7 · backfill", "#6"]));
    expect(api.requests.find((r) => r.path === `${BASE}/runs`)?.query.get("test")).toBeNull();
    expect(rows()[0].dataset.runId).toBe(runs[0].id);
    // When the test runs are asked for
    fireEvent.click(screen.getByTestId("show-test-runs"));
    // Then the URL says so, the API is asked for test runs, and only they are listed
    expect(window.location.hash).toBe("#/w/ws-1/runs?test=1");
    await waitFor(() => expect(names()).toEqual(["Test #5"]));
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Test runs");
    expect(api.requests.filter((r) => r.path === `${BASE}/runs`).slice(-1)[0]?.query.get("test")).toBe("true");
  });

  it("follows the event stream: a status changes in place, a new run reloads the list", async () => {
    const client = makeQueryClient();
    render(<Providers client={client}><Routed /></Providers>);
    await waitFor(() => expect(names()).toEqual(["#7 · backfill", "#6"]));
    // (the stream is open, and no read is in flight to overwrite what the events change)
    await waitFor(() => expect(api.openStreams).toBe(1));
    await waitFor(() => expect(client.isFetching()).toBe(0));
    // When the running run succeeds
    act(() => api.push([{ type: "run.succeeded", run_id: runs[0].id, data: {} } as never]));
    // Then its row says so at once (from the event, in the query cache)
    await waitFor(() => expect(rows()[0].querySelector("[data-status]")?.getAttribute("data-status")).toBe("SUCCEEDED"));
    // When a run the list does not show yet starts
    runs = [aRun(8, { status: "RUNNING", finished_at: null, duration_ms: null }), ...runs];
    act(() => api.push([{ type: "run.started", run_id: runs[0].id, data: {} } as never]));
    // Then the list reloads and shows it first
    await waitFor(() => expect(names()).toEqual(["#8", "#7 · backfill", "#6"]));
  });

  it("says when there are no runs, and when the filters match none", async () => {
    runs = [];
    render(<Providers><Routed /></Providers>);
    expect(await screen.findByText("No runs yet")).toBeTruthy();
    fireEvent.click(screen.getByTestId("status-filter-FAILED"));
    expect(await screen.findByText("No runs match these filters")).toBeTruthy();
    expect(api.requests.filter((r) => r.path === `${BASE}/runs`).slice(-1)[0]?.query.get("status")).toBe("FAILED");
  });
});
