import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { TestRunPanel } from "./TestRunPanel";
import { makeQueryClient } from "../lib/query";
import type { NodeRun13, Pin, Run13 } from "../lib/contract13";

// A small in-memory server of the issue 13 contract (test runs, pins), behind `fetch`: the panel is driven through
// its real API client and TanStack Query.
class ContractServer {
  pins = new Map<string, Pin>();
  runs = new Map<string, { run: Run13; nodes: NodeRun13[] }>();
  requests: { method: string; path: string; body: unknown }[] = [];
  available = true;

  fetch = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const method = init.method ?? "GET";
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    this.requests.push({ method, path, body });
    const json = (status: number, data: unknown) => new Response(data === undefined ? "" : JSON.stringify(data), { status });
    if (!this.available) return json(404, { error: { code: "not_found", message: "no such route", details: null } });
    const base = "/v1/workspaces/ws-1";
    if (method === "GET" && path === `${base}/flows/f-1/pins`) return json(200, { items: [...this.pins.values()] });
    const pin = new RegExp(`^${base}/flows/f-1/pins/([^/]+)$`).exec(path);
    if (pin && method === "PUT") {
      const output = "output" in body ? body.output : this.runs.get(body.from_run)!.nodes.find((n) => n.node_id === pin[1])!.output;
      const p: Pin = { node_id: pin[1], output, from_run: body.from_run ?? null, pinned_by: "u", pinned_at: "2026-11-26T00:00:00Z", stale: false };
      this.pins.set(pin[1], p);
      return json(200, p);
    }
    if (method === "POST" && path === `${base}/flows/f-1/test-runs`) {
      const id = `run-${this.runs.size + 1}`;
      const ids = body.only ? [body.only] : ["input", "http", "output"];
      const nodes = ids.map((node_id) => {
        const pinned = body.use_pins !== false && this.pins.has(node_id);
        return {
          node_id,
          type: node_id,
          status: "SUCCEEDED",
          pinned,
          executions: pinned ? 0 : 1,
          attempts: pinned ? 0 : 1,
          input: { q: 1 },
          output: pinned ? this.pins.get(node_id)!.output : { from: node_id, run: id },
        } as unknown as NodeRun13;
      });
      const run = { id, number: this.runs.size + 1, test: true, status: "SUCCEEDED", active_ms: 120 } as unknown as Run13;
      this.runs.set(id, { run, nodes });
      return json(202, run);
    }
    const r = new RegExp(`^${base}/runs/([^/]+)(/nodes)?$`).exec(path);
    if (r && method === "GET") {
      const found = this.runs.get(r[1])!;
      return json(200, r[2] ? { items: found.nodes } : found.run);
    }
    return json(404, { error: { code: "not_found", message: path, details: null } });
  };
}

let server: ContractServer;
beforeEach(() => {
  server = new ContractServer();
  vi.stubGlobal("fetch", server.fetch);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderPanel(saveFirst = async () => true) {
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <TestRunPanel ws="ws-1" flowId="f-1" initialInput={{ q: 1 }} saveFirst={saveFirst} onClose={() => undefined} nodeIds={["http", "output"]} />
    </QueryClientProvider>,
  );
}

const nodeRow = (id: string) => screen.getByTestId("test-run-nodes").querySelector(`[data-node-id="${id}"]`) as HTMLElement;

describe("TestRunPanel (editor)", () => {
  it("test-runs the draft, pins the http node's output, and the next test run does not execute it", async () => {
    // Given the panel over a saved draft
    const saveFirst = vi.fn(async () => true);
    renderPanel(saveFirst);
    // When the draft is test-run
    fireEvent.click(screen.getByTestId("start-test-run"));
    // Then it was saved first, the run is named by its number, and each node shows its status
    await waitFor(() => expect(screen.getByTestId("test-run-name").textContent).toBe("Test #1"));
    expect(saveFirst).toHaveBeenCalledOnce();
    await waitFor(() => expect(nodeRow("http").dataset.status).toBe("SUCCEEDED"));
    expect(server.requests.find((r) => r.path.endsWith("/test-runs"))?.body).toEqual({ input: { q: 1 }, use_pins: true });
    // When the http node's output is pinned from that run
    fireEvent.click(within(nodeRow("http")).getByText("http"));
    fireEvent.click(screen.getByTestId("pin-output"));
    await waitFor(() => expect(within(nodeRow("http")).getByText(/pinned/)).toBeTruthy());
    expect(server.pins.get("http")?.from_run).toBe("run-1");
    // And the draft is test-run again
    fireEvent.click(screen.getByTestId("start-test-run"));
    // Then the pinned node did not execute: its counter says so
    await waitFor(() => expect(screen.getByTestId("test-run-name").textContent).toBe("Test #2"));
    await waitFor(() => expect(within(nodeRow("http")).getByTestId("node-status-text").textContent).toBe("Pinned · 0 executions"));
    expect(within(nodeRow("output")).getByTestId("node-status-text").textContent).toBe("Succeeded");
  });

  it("runs one node alone with its upstream outputs from the run shown", async () => {
    renderPanel();
    fireEvent.click(screen.getByTestId("start-test-run"));
    await waitFor(() => expect(nodeRow("output")).toBeTruthy());
    // When the output node is run alone
    fireEvent.click(within(nodeRow("output")).getByText("output"));
    fireEvent.click(screen.getByTestId("run-one-node"));
    // Then the API is asked for that node only, from the first run, and only it is listed
    await waitFor(() => expect(screen.getByTestId("test-run-name").textContent).toBe("Test #2"));
    expect(server.requests.filter((r) => r.path.endsWith("/test-runs")).slice(-1)[0]?.body).toEqual({ input: { q: 1 }, use_pins: true, only: "output", from_run: "run-1" });
    await waitFor(() => expect(screen.getByTestId("test-run-nodes").querySelectorAll("li")).toHaveLength(1));
  });

  it("pins an output typed by hand, and the next test run uses it instead of executing the node", async () => {
    // Given the panel over a draft that never ran
    renderPanel();
    // When the http node's output is typed by hand and pinned
    fireEvent.change(screen.getByTestId("pin-node"), { target: { value: "http" } });
    fireEvent.change(screen.getByTestId("pin-output-text"), { target: { value: '{"status": 200, "body": {"ok": true}}' } });
    fireEvent.click(screen.getByTestId("pin-by-hand"));
    // Then the API is sent that output, and the pin is listed as typed by hand
    await waitFor(() => expect(within(screen.getByTestId("pins")).getByText("typed by hand")).toBeTruthy());
    expect(server.requests.find((r) => r.method === "PUT")?.body).toEqual({ output: { status: 200, body: { ok: true } } });
    // When the draft is test-run
    fireEvent.click(screen.getByTestId("start-test-run"));
    // Then the http node did not execute and its output is the one typed
    await waitFor(() => expect(nodeRow("http").dataset.pinned).toBe("true"));
    expect(within(nodeRow("http")).getByTestId("node-status-text").textContent).toBe("Pinned · 0 executions");
  });

  it("refuses to pin text that is not JSON, saying why", async () => {
    renderPanel();
    fireEvent.change(screen.getByTestId("pin-node"), { target: { value: "http" } });
    fireEvent.change(screen.getByTestId("pin-output-text"), { target: { value: "{not json" } });
    expect((screen.getByTestId("pin-by-hand") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/JSON/)).toBeTruthy();
  });

  it("says why when the pins cannot be loaded, and still offers a test run", async () => {
    server.available = false;
    renderPanel();
    await waitFor(() => expect(screen.getByText(/Pins could not be loaded/)).toBeTruthy());
    expect((screen.getByTestId("start-test-run") as HTMLButtonElement).disabled).toBe(false);
  });
});
