import { describe, expect, it } from "vitest";
import { nodeStatusText, runName, savedProblems, type DraftFlow } from "./contract13";

describe("issue 13 helpers", () => {
  it("names a run by its number and label, and falls back to the id before run numbers exist", () => {
    expect(runName({ id: "0d9c6c1e-aaaa", number: 42, label: null, test: false })).toBe("#42");
    expect(runName({ id: "0d9c6c1e-aaaa", number: 42, label: "nightly", test: false })).toBe("#42 · nightly");
    expect(runName({ id: "0d9c6c1e-aaaa", number: 3, label: null, test: true })).toBe("Test #3");
  });

  it("says when a retrying node tries again, and that a pinned node did not execute", () => {
    const now = Date.parse("2026-11-26T10:00:00Z");
    expect(nodeStatusText({ status: "RETRYING", next_attempt_at: "2026-11-26T10:00:30Z" }, now)).toBe("Retrying in 30s");
    expect(nodeStatusText({ status: "SUCCEEDED", pinned: true, executions: 0 })).toBe("Pinned · 0 executions");
    expect(nodeStatusText({ status: "FAILED" })).toBe("Failed");
  });

  it("groups a saved draft's problems by the node and edge they name", () => {
    const flow = { problems: [{ code: "missing_field", message: "url is required", node: "http", field: "url" }, { code: "cycle", message: "a cycle", edge: "a->b" }] } as unknown as DraftFlow;
    const g = savedProblems(flow)!;
    expect(g.all).toHaveLength(2);
    expect(Object.keys(g.byNode)).toEqual(["http"]);
    expect(savedProblems({} as DraftFlow)).toBeNull();
  });
});
