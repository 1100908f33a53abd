// The live event stream: Server-Sent Events where the server streams them (the local server), else a long
// poll of the same route (API Gateway answers JSON). Pure parts (SSE parsing, applying events to a run and its
// nodes) are exported for tests; `followEvents` does the I/O.
import { getToken } from "./auth";
import type { EventPage, NodeRun, Run, RunEvent } from "../types";

/** Split SSE text into complete events' `data` JSON and the incomplete rest (events end with a blank line). */
export function parseSse(buffer: string): { events: RunEvent[]; rest: string } {
  const events: RunEvent[] = [];
  const normalised = buffer.replace(/\r\n/g, "\n");
  const frames = normalised.split("\n\n");
  const rest = frames.pop() ?? "";
  for (const frame of frames) {
    const data = frame
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).replace(/^ /, ""))
      .join("\n");
    if (!data) continue; // a comment (keep-alive) or `retry:`
    try {
      events.push(JSON.parse(data) as RunEvent);
    } catch {
      // not an event of ours: skip it
    }
  }
  return { events, rest };
}

const NODE_STATUS: Record<string, NodeRun["status"]> = {
  "node.started": "RUNNING",
  "node.retrying": "RETRYING", // the attempt failed; the next one is due at `next_attempt_at`
  "node.succeeded": "SUCCEEDED",
  "node.failed": "FAILED",
  "node.skipped": "SKIPPED",
};
const RUN_STATUS: Record<string, Run["status"]> = {
  "run.queued": "QUEUED",
  "run.started": "RUNNING",
  "run.succeeded": "SUCCEEDED",
  "run.failed": "FAILED",
  "run.cancelled": "CANCELLED",
};

/** A run and its nodes after `events` (only iteration 0 is drawn; other iterations are left to a refresh). */
export function applyRunEvents(run: Run, nodes: NodeRun[], events: RunEvent[]): { run: Run; nodes: NodeRun[] } {
  let nextRun = run;
  let nextNodes = nodes;
  for (const e of events) {
    if (e.run_id !== run.id) continue;
    const runStatus = RUN_STATUS[e.type];
    if (runStatus) {
      const data = (e.data ?? {}) as Record<string, unknown>;
      nextRun = {
        ...nextRun,
        status: runStatus,
        ...(data.cost ? { cost: data.cost as Run["cost"] } : {}),
        ...(data.error ? { error: data.error } : {}),
      };
      continue;
    }
    const nodeStatus = NODE_STATUS[e.type];
    if (!nodeStatus || !e.node_id || (e.iteration ?? 0) !== 0) continue;
    const data = (e.data ?? {}) as Record<string, unknown>;
    const patch: Partial<NodeRun> = { status: nodeStatus };
    if (typeof data.attempt === "number") patch.attempts = data.attempt;
    if ((nodeStatus === "FAILED" || nodeStatus === "RETRYING") && data.error) patch.error = data.error;
    if (nodeStatus === "RETRYING" && typeof data.next_attempt_at === "string") patch.next_attempt_at = data.next_attempt_at;
    if (nodeStatus === "RUNNING" || nodeStatus === "SUCCEEDED") patch.next_attempt_at = null;
    const found = nextNodes.some((n) => n.node_id === e.node_id);
    nextNodes = found
      ? nextNodes.map((n) => (n.node_id === e.node_id ? { ...n, ...patch } : n))
      : [...nextNodes, { node_id: e.node_id, attempts: 0, executions: 0, ...patch } as NodeRun];
  }
  return { run: nextRun, nodes: nextNodes };
}

/** Runs of a list after workspace events: statuses updated in place; `unknown` when a run is not listed. */
export function applyListEvents(runs: Run[], events: RunEvent[]): { runs: Run[]; unknown: boolean } {
  let unknown = false;
  let next = runs;
  for (const e of events) {
    const status = RUN_STATUS[e.type];
    if (!status || !e.run_id) continue;
    if (!next.some((r) => r.id === e.run_id)) {
      unknown = true;
      continue;
    }
    const data = (e.data ?? {}) as Record<string, unknown>;
    next = next.map((r) => (r.id === e.run_id ? { ...r, status, ...(data.cost ? { cost: data.cost as Run["cost"] } : {}) } : r));
  }
  return { runs: next, unknown };
}

const LONG_POLL_SECONDS = 20;

/** Follow `path` (an events route) from `after`, calling `onEvents` with each batch until `signal` aborts.
 * Tries Server-Sent Events first; a JSON answer means the transport cannot stream: long-poll instead. */
export async function followEvents(
  path: string,
  after: string,
  onEvents: (events: RunEvent[]) => void,
  signal: AbortSignal,
  onError?: (message: string | null) => void,
): Promise<void> {
  let cursor = after;
  let streaming = true;
  let backoff = 500;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = {};
      const token = getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (streaming) {
        headers.Accept = "text/event-stream";
        headers["Last-Event-ID"] = cursor;
        const res = await fetch(path, { headers, signal });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream") || !res.body) {
          streaming = false; // API Gateway: JSON only
          const page = (await res.json()) as EventPage;
          if (page.items.length) onEvents(page.items);
          cursor = page.cursor;
          continue;
        }
        onError?.(null);
        backoff = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          if (parsed.events.length) {
            cursor = parsed.events[parsed.events.length - 1].cursor;
            onEvents(parsed.events);
          }
        }
      } else {
        headers.Accept = "application/json";
        const sep = path.includes("?") ? "&" : "?";
        const url = `${path}${sep}after=${encodeURIComponent(cursor)}&wait=${LONG_POLL_SECONDS}`;
        const res = await fetch(url, { headers, signal });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const page = (await res.json()) as EventPage;
        onError?.(null);
        backoff = 500;
        if (page.items.length) onEvents(page.items);
        cursor = page.cursor;
      }
    } catch (e) {
      if (signal.aborted) return;
      onError?.((e as Error).message);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  }
}

/** The cursor to follow from now: the end of what the stream already holds. */
export async function latestCursor(path: string): Promise<string> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let cursor = "0";
  for (let i = 0; i < 100; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await fetch(`${path}${sep}after=${encodeURIComponent(cursor)}&limit=500`, { headers });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const page = (await res.json()) as EventPage;
    if (!page.items.length) return page.cursor;
    cursor = page.cursor;
  }
  return cursor;
}
