// TanStack Query keys, in one place so an invalidation matches the queries it means. A key starts with what it
// names and the workspace; invalidating a prefix (e.g. `["runs", ws]`) reaches every filter of that list.

/** The runs list's filters: a key per combination (status, flow, test runs instead of runs). */
export interface RunsFilter {
  status: string;
  flow: string;
  test: boolean;
}

export const keys = {
  me: ["me"] as const,
  nodeTypes: ["node-types"] as const,
  templates: ["templates"] as const,
  workspace: (ws: string) => ["workspace", ws] as const,

  flows: (ws: string) => ["flows", ws] as const,
  /** The first page of flows, for pickers (the runs list's flow filter). */
  flowOptions: (ws: string) => ["flows", ws, "options"] as const,
  flow: (ws: string, flow: string) => ["flow", ws, flow] as const,
  pins: (ws: string, flow: string) => ["pins", ws, flow] as const,
  diff: (ws: string, flow: string, from: number | "draft", to: number | "draft") => ["diff", ws, flow, from, to] as const,
  /** The graph a run view draws: the run's version, else the flow's current draft (with a note saying so). */
  runGraph: (ws: string, flow: string, version: number | null) => ["run-graph", ws, flow, version] as const,

  agents: (ws: string) => ["agents", ws] as const,
  agent: (ws: string, agent: string) => ["agent", ws, agent] as const,
  agentVersions: (ws: string, agent: string) => ["agent-versions", ws, agent] as const,
  agentVersion: (ws: string, agent: string, version: number) => ["agent-version", ws, agent, version] as const,
  agentRuns: (ws: string, agent: string) => ["agent-runs", ws, agent] as const,
  /** The dashboard's last few runs of an agent; its run count is in the key so a new run refetches them. */

  /** Approvals the caller may decide; invalidating `approvals(ws)` reaches every filter. */
  approvals: (ws: string, filter?: { status: string; flow: string }) => ["approvals", ws, ...(filter ? [filter] : [])] as const,
  approval: (ws: string, id: string) => ["approval", ws, id] as const,
  /** An approval's run and nodes, read again when the approval's status changes. */
  approvalContext: (ws: string, run: string, status: string) => ["approval-context", ws, run, status] as const,

  credentialTypes: ["credential-types"] as const,
  credentials: (ws: string) => ["credentials", ws] as const,
  knowledgeBases: (ws: string) => ["knowledge-bases", ws] as const,
  documents: (ws: string, kb: string) => ["documents", ws, kb] as const,
  budget: (ws: string) => ["budget", ws] as const,
  usage: (ws: string, range: { from: string; to: string; tz: string; stackBy: string }) => ["usage", ws, range] as const,
  llmSettings: (ws: string) => ["llm-settings", ws] as const,
  members: (ws: string) => ["members", ws] as const,
  audit: (ws: string, action: string) => ["audit", ws, action] as const,

  allRuns: (ws: string) => ["runs", ws] as const,
  runs: (ws: string, filter: RunsFilter) => ["runs", ws, filter] as const,
  run: (ws: string, run: string) => ["run", ws, run] as const,
  nodeRuns: (ws: string, run: string) => ["node-runs", ws, run] as const,
  testRun: (ws: string, run: string | null) => ["test-run", ws, run] as const,
  testRunNodes: (ws: string, run: string | null) => ["test-run-nodes", ws, run] as const,
  /** The flow's newest run with node outputs: what the editor's completions and previews read. */
  lastRun: (ws: string, flow: string) => ["last-run", ws, flow] as const,
  /** A field's value rendered by the server against a run (the expression field's live preview). */
  preview: (ws: string, flow: string, node: string, mode: string, json: boolean, run: string | null, text: string) =>
    ["preview", ws, flow, node, mode, json, run, text] as const,
};
