import { describe, expect, it } from "vitest";
import { applyListEvents, applyRunEvents, parseSse } from "./events";
import type { NodeRun, Run, RunEvent } from "../types";

const ev = (type: string, extra: Partial<RunEvent> = {}): RunEvent => ({
  cursor: `1-${Math.random()}`,
  type,
  run_id: "r1",
  node_id: null,
  iteration: null,
  data: {},
  created_at: "2026-11-26T12:00:00Z",
  ...extra,
});

describe("parseSse", () => {
  it("returns complete events and keeps an incomplete one for the next chunk", () => {
    const a = JSON.stringify(ev("run.queued"));
    const b = JSON.stringify(ev("run.started"));
    const { events, rest } = parseSse(`retry: 1000\n\n: keep-alive\n\nid: 1-1\nevent: run.queued\ndata: ${a}\n\nid: 1-2\ndata: ${b.slice(0, 5)}`);
    expect(events.map((e) => e.type)).toEqual(["run.queued"]);
    expect(parseSse(rest + b.slice(5) + "\n\n").events.map((e) => e.type)).toEqual(["run.started"]);
  });
  it("accepts CRLF line ends", () => {
    expect(parseSse(`data: ${JSON.stringify(ev("run.failed"))}\r\n\r\n`).events).toHaveLength(1);
  });
});

describe("applyRunEvents", () => {
  const run = { id: "r1", status: "RUNNING", cost: { llm: 0, compute: 0, orchestration: 0, total: 0 } } as Run;
  const nodes = [{ node_id: "a", status: "PENDING", attempts: 0, executions: 0 }] as NodeRun[];
  it("moves nodes and the run through their statuses, with attempts, errors and the final cost", () => {
    const cost = { llm: 0.1, compute: 0, orchestration: 0, total: 0.1 };
    const out = applyRunEvents(run, nodes, [
      ev("node.started", { node_id: "a", iteration: 0, data: { attempt: 1 } }),
      ev("node.failed", { node_id: "a", iteration: 0, data: { error: { message: "x" } } }),
      ev("node.retrying", { node_id: "a", iteration: 0, data: { attempt: 2 } }),
      ev("node.succeeded", { node_id: "b", iteration: 0 }),
      ev("run.succeeded", { data: { status: "SUCCEEDED", cost } }),
    ]);
    expect(out.nodes.map((n) => [n.node_id, n.status, n.attempts])).toEqual([
      ["a", "RETRYING", 2],
      ["b", "SUCCEEDED", 0],
    ]);
    expect(out.nodes[0].error).toEqual({ message: "x" });
    expect([out.run.status, out.run.cost]).toEqual(["SUCCEEDED", cost]);
  });
  it("shows a node whose attempt failed as RETRYING with its next attempt time until the next attempt starts", () => {
    // Given a node whose first attempt failed and whose retry policy has retries left
    const due = "2026-11-27T01:00:05+00:00";
    const failed = applyRunEvents(run, nodes, [
      ev("node.started", { node_id: "a", iteration: 0, data: { attempt: 1 } }),
      ev("node.retrying", { node_id: "a", iteration: 0, data: { error: { message: "503" }, next_attempt_at: due } }),
    ]);
    // Then it reads RETRYING with when it tries again, not FAILED
    expect([failed.nodes[0].status, failed.nodes[0].next_attempt_at, failed.nodes[0].error]).toEqual([
      "RETRYING",
      due,
      { message: "503" },
    ]);
    // When the next attempt starts / Then it is RUNNING and no longer waiting for a time
    const again = applyRunEvents(run, failed.nodes, [ev("node.started", { node_id: "a", iteration: 0, data: { attempt: 2 } })]);
    expect([again.nodes[0].status, again.nodes[0].next_attempt_at, again.nodes[0].attempts]).toEqual(["RUNNING", null, 2]);
  });
  it("ignores other runs' events and map iterations", () => {
    const out = applyRunEvents(run, nodes, [
      ev("node.started", { run_id: "r2", node_id: "a", iteration: 0 }),
      ev("node.started", { node_id: "a", iteration: 3 }),
    ]);
    expect(out.nodes).toEqual(nodes);
  });
});

describe("applyListEvents", () => {
  it("updates listed runs and says when a run is not listed yet", () => {
    const runs = [{ id: "r1", status: "RUNNING" }] as Run[];
    const out = applyListEvents(runs, [ev("run.succeeded"), ev("run.queued", { run_id: "r9" }), ev("node.started")]);
    expect(out.runs[0].status).toBe("SUCCEEDED");
    expect(out.unknown).toBe(true);
  });
});
