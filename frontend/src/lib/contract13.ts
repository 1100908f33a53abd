// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
// HAND-WRITTEN TYPES of issue 13's API contract (drafts, test runs, pins, run numbers, version diffs, templates),
// written from /work/briefs/s18/contract13.md while the backend branches `buildapi` and `runsapi` are built.
// TO BE REPLACED by the generated types (`npm run gen:api` → api-schema.d.ts, then `Schemas["..."]` in types.ts)
// once those branches are merged: delete the interfaces here and re-export the generated ones under the same
// names. The functions below keep their signatures.
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
import { request } from "./api";
import { groupIssues, type IssueGroups } from "./flowConvert";
import type { Flow, FlowDefinition, NodeRun, NodeRunList, Run } from "../types";

/** One validation problem; each names its node, edge or config field where it has one. */
export interface Problem {
  code: string;
  message: string;
  node?: string | null;
  edge?: string | null;
  field?: string | null;
}

/** `Flow` as a draft save answers it: always saved, valid or not. */
export type DraftFlow = Flow & { valid?: boolean; problems?: Problem[] };

/** `Run` with issue 13's fields (test runs, numbers, labels, active time). */
export type Run13 = Run & {
  test?: boolean;
  number?: number | null;
  label?: string | null;
  active_ms?: number | null;
};

/** `NodeRun` with issue 13's fields (pinned outputs, RETRYING's next attempt). */
export type NodeRun13 = Omit<NodeRun, "status"> & {
  status: NodeRun["status"] | "RETRYING";
  pinned?: boolean;
  next_attempt_at?: string | null;
};

export interface Pin {
  node_id: string;
  output: unknown;
  from_run?: string | null;
  pinned_by: string;
  pinned_at: string;
}

export interface TestRunRequest {
  input?: unknown;
  use_pins?: boolean;
  /** Runs that node alone; its upstream outputs come from `from_run` or pins. */
  only?: string;
  from_run?: string;
  label?: string;
}

export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface VersionDiff {
  from: number | "draft";
  to: number | "draft";
  nodes: {
    added: FlowDefinition["nodes"];
    removed: FlowDefinition["nodes"];
    changed: { id: string; type: string; fields: FieldChange[] }[];
  };
  edges: { added: FlowDefinition["edges"]; removed: FlowDefinition["edges"] };
  settings: FieldChange[];
}

export interface TemplateSummary {
  id: string;
  name: string;
  description: string;
  category: string;
  node_types: string[];
}
export type Template = TemplateSummary & { definition: FlowDefinition; readme: string };

const ws = (w: string) => `/v1/workspaces/${encodeURIComponent(w)}`;
const enc = encodeURIComponent;

export const api13 = {
  startTestRun: (w: string, flow: string, body: TestRunRequest) =>
    request<Run13>("POST", `${ws(w)}/flows/${enc(flow)}/test-runs`, body),
  getRun: (w: string, run: string) => request<Run13>("GET", `${ws(w)}/runs/${enc(run)}`),
  runNodes: (w: string, run: string) =>
    request<NodeRunList>("GET", `${ws(w)}/runs/${enc(run)}/nodes`) as Promise<{ items: NodeRun13[] }>,
  listPins: (w: string, flow: string) => request<{ items: Pin[] }>("GET", `${ws(w)}/flows/${enc(flow)}/pins`),
  pin: (w: string, flow: string, node: string, body: { output: unknown } | { from_run: string }) =>
    request<Pin>("PUT", `${ws(w)}/flows/${enc(flow)}/pins/${enc(node)}`, body),
  unpin: (w: string, flow: string, node: string) =>
    request<unknown>("DELETE", `${ws(w)}/flows/${enc(flow)}/pins/${enc(node)}`),
  labelRun: (w: string, run: string, label: string | null) =>
    request<Run13>("PATCH", `${ws(w)}/runs/${enc(run)}`, { label }),
  diff: (w: string, flow: string, a: number | "draft", b: number | "draft") =>
    request<VersionDiff>("GET", `${ws(w)}/flows/${enc(flow)}/versions/${a}/diff/${b}`),
  templates: () => request<{ items: TemplateSummary[] }>("GET", "/v1/templates"),
  template: (id: string) => request<Template>("GET", `/v1/templates/${enc(id)}`),
};

/** The problems a saved draft carries, grouped by node and edge like a 422's (null when the server sent none). */
export function savedProblems(flow: DraftFlow): IssueGroups | null {
  if (!flow.problems) return null;
  return groupIssues(flow.problems);
}

/** How a run is named to people: `#42 · label`, `#42`, or (before run numbers) the first 8 characters of its id. */
export function runName(run: Pick<Run13, "id" | "number" | "label" | "test">): string {
  const base = run.number != null ? `#${run.number}` : run.id.slice(0, 8);
  const named = run.label ? `${base} · ${run.label}` : base;
  return run.test ? `Test ${named}` : named;
}

/** What a node run's status line says; a retry pending shows when it tries again. */
export function nodeStatusText(nr: Pick<NodeRun13, "status"> & Partial<Pick<NodeRun13, "pinned" | "executions" | "next_attempt_at">>, now = Date.now()): string {
  if (nr.pinned) return `Pinned · ${nr.executions ?? 0} executions`;
  if (nr.status === "RETRYING" && nr.next_attempt_at) {
    const s = Math.max(0, Math.round((Date.parse(nr.next_attempt_at) - now) / 1000));
    return `Retrying in ${s}s`;
  }
  return nr.status.charAt(0) + nr.status.slice(1).toLowerCase();
}

/** Whether an error means this server does not have issue 13's API yet (the backend branches not merged). */
export function notAvailable(e: unknown): boolean {
  const status = (e as { status?: unknown } | null)?.status;
  return status === 404 || status === 405;
}
