// Issue 13's API (drafts, test runs, pins, run numbers, version diffs, templates): the generated types of
// /v1/openapi.json (api-schema.d.ts), named for the console, and the calls the builder's loop makes.
import { request } from "./api";
import type { components } from "./api-schema";
import { groupIssues, type IssueGroups } from "./flowConvert";
import type { Flow, FlowDefinition, NodeRun, Run } from "../types";

type Schemas = components["schemas"];

/** One validation problem; each names its node, edge or config field where it has one. */
export type Problem = Schemas["FlowProblem"];
/** `Flow` as a draft save answers it: always saved, valid or not, with its problems. */
export type DraftFlow = Flow;
/** A run, with its number, label, active time and whether it is a test run of the draft. */
export type Run13 = Run;
/** A node run, with `pinned` and RETRYING's `next_attempt_at`. */
export type NodeRun13 = NodeRun;
export type Pin = Schemas["PinItem"];
export type TestRunRequest = Partial<Schemas["TestRunCreate"]>;
export type FieldChange = Schemas["FieldChange"];
/** A structured diff; its added and removed nodes and edges are flow definition parts. */
export type VersionDiff = Omit<Schemas["VersionDiff"], "nodes" | "edges"> & {
  nodes: Omit<Schemas["VersionDiff"]["nodes"], "added" | "removed"> & {
    added: FlowDefinition["nodes"];
    removed: FlowDefinition["nodes"];
  };
  edges: { added: FlowDefinition["edges"]; removed: FlowDefinition["edges"] };
};
export type TemplateSummary = Schemas["TemplateSummary"];
/** `POST …/flows/{flow}/preview`: a field rendered against a run of the flow (the editor's live preview). */
export type PreviewRequest = Schemas["PreviewRequest"];
export type Preview = Schemas["Preview"];
export type Template = Omit<Schemas["Template"], "definition"> & { definition: FlowDefinition };

const ws = (w: string) => `/v1/workspaces/${encodeURIComponent(w)}`;
const enc = encodeURIComponent;

export const api13 = {
  startTestRun: (w: string, flow: string, body: TestRunRequest) =>
    request<Run13>("POST", `${ws(w)}/flows/${enc(flow)}/test-runs`, body),
  getRun: (w: string, run: string) => request<Run13>("GET", `${ws(w)}/runs/${enc(run)}`),
  runNodes: (w: string, run: string) =>
    request<{ items: NodeRun13[] }>("GET", `${ws(w)}/runs/${enc(run)}/nodes`),
  listPins: (w: string, flow: string) => request<{ items: Pin[] }>("GET", `${ws(w)}/flows/${enc(flow)}/pins`),
  pin: (w: string, flow: string, node: string, body: { output: unknown } | { from_run: string }) =>
    request<Pin>("PUT", `${ws(w)}/flows/${enc(flow)}/pins/${enc(node)}`, body),
  unpin: (w: string, flow: string, node: string) =>
    request<unknown>("DELETE", `${ws(w)}/flows/${enc(flow)}/pins/${enc(node)}`),
  labelRun: (w: string, run: string, label: string | null) =>
    request<Run13>("PATCH", `${ws(w)}/runs/${enc(run)}`, { label }),
  diff: (w: string, flow: string, a: number | "draft", b: number | "draft") =>
    request<VersionDiff>("GET", `${ws(w)}/flows/${enc(flow)}/versions/${a}/diff/${b}`),
  /** The flow's newest runs: published-version runs, or (`test`) test runs of the draft. */
  recentRuns: (w: string, flow: string, test: boolean, limit = 5) =>
    request<{ items: Run13[] }>("GET", `${ws(w)}/runs?flow=${enc(flow)}&limit=${limit}${test ? "&test=true" : ""}`),
  preview: (w: string, flow: string, body: PreviewRequest) =>
    request<Preview>("POST", `${ws(w)}/flows/${enc(flow)}/preview`, body),
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
