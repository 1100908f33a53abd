// Agents where flows use them: the `agent` and `crew` node configs the editor's forms change (pure edits that
// keep a crew's references whole), the `agent.step` run events grouped per agent for the run view, and the
// per-agent usage an agent node's output carries. No CodeMirror here: the flow editor and run view load this.

/** What a new agent starts from: valid, and short enough to read at a glance. */
export const NEW_AGENT_SPEC = {
  name: "New agent",
  role: "Research assistant",
  goal: "Answer the question in the task, citing your sources.",
  backstory: "You are careful and brief. You say so when you do not know.",
};

/** `live` (whatever version is live when the node runs) or a pinned version number. */
export type VersionRef = "live" | number;

export interface AgentNodeConfig {
  agent?: string;
  version?: VersionRef;
  task?: string;
  expected_output?: string;
  [key: string]: unknown;
}

export interface CrewMember {
  key: string;
  agent: string;
  version: VersionRef;
}

export interface CrewTask {
  id: string;
  agent?: string | null;
  description: string;
  expected_output?: string;
  context?: string[];
}

export interface CrewConfig {
  agents?: CrewMember[];
  tasks?: CrewTask[];
  process?: "sequential" | "hierarchical";
  manager_model?: string | null;
  [key: string]: unknown;
}

/** A select's value for a version reference, and back. */
export function versionValue(v: unknown): string {
  return typeof v === "number" ? String(v) : "live";
}
export function parseVersion(value: string): VersionRef {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : "live";
}

/** The versions a node may name for an agent: `live`, then every published version, newest first. */
export function versionChoices(latest: number | null | undefined): VersionRef[] {
  const out: VersionRef[] = ["live"];
  for (let n = latest ?? 0; n >= 1; n--) out.push(n);
  return out;
}

const KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;

/** Whether a crew member key or task id is well formed: lower case letters, digits and _, from a letter. */
export function validKey(key: string): boolean {
  return KEY_RE.test(key);
}

/** A key made from a name (`Fact checker` → `fact_checker`), unique among `taken`. */
export function keyFor(name: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let base = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^[^a-z]+/, "")
    .replace(/_+$/, "")
    .slice(0, 56);
  if (!base) base = "agent";
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
}

const members = (c: CrewConfig) => c.agents ?? [];
const tasks = (c: CrewConfig) => c.tasks ?? [];

/** The crew with one more member: the agent under a key made from its name, at its live version. */
export function addMember(c: CrewConfig, agent: { id: string; name: string }): CrewConfig {
  const key = keyFor(agent.name, members(c).map((m) => m.key));
  return { ...c, agents: [...members(c), { key, agent: agent.id, version: "live" }] };
}

/** The crew with a member's key changed, the tasks that named the old key naming the new one. */
export function renameMember(c: CrewConfig, from: string, to: string): CrewConfig {
  return {
    ...c,
    agents: members(c).map((m) => (m.key === from ? { ...m, key: to } : m)),
    tasks: tasks(c).map((t) => (t.agent === from ? { ...t, agent: to } : t)),
  };
}

/** The crew without a member; its tasks pass to the first member left (none left: nobody). */
export function removeMember(c: CrewConfig, key: string): CrewConfig {
  const left = members(c).filter((m) => m.key !== key);
  const heir = left[0]?.key ?? null;
  return { ...c, agents: left, tasks: tasks(c).map((t) => (t.agent === key ? { ...t, agent: heir } : t)) };
}

/** The crew with a new last task, done by the first member, reading the task before it. */
export function addTask(c: CrewConfig): CrewConfig {
  const ids = tasks(c).map((t) => t.id);
  const id = keyFor(`task_${ids.length + 1}`, ids);
  const before = ids[ids.length - 1];
  const task: CrewTask = {
    id,
    agent: c.process === "hierarchical" ? null : (members(c)[0]?.key ?? null),
    description: "",
    expected_output: "A complete answer.",
    context: before ? [before] : [],
  };
  return { ...c, tasks: [...tasks(c), task] };
}

/** The crew with a task's id changed, the tasks that read it reading the new id. */
export function renameTask(c: CrewConfig, from: string, to: string): CrewConfig {
  return {
    ...c,
    tasks: tasks(c).map((t) => ({
      ...t,
      id: t.id === from ? to : t.id,
      context: (t.context ?? []).map((x) => (x === from ? to : x)),
    })),
  };
}

/** The crew without a task; no later task reads it any more. */
export function removeTask(c: CrewConfig, id: string): CrewConfig {
  return {
    ...c,
    tasks: tasks(c)
      .filter((t) => t.id !== id)
      .map((t) => ({ ...t, context: (t.context ?? []).filter((x) => x !== id) })),
  };
}

/** The crew with a task moved one place up or down; context that would read a later task is dropped. */
export function moveTask(c: CrewConfig, id: string, by: -1 | 1): CrewConfig {
  const list = [...tasks(c)];
  const i = list.findIndex((t) => t.id === id);
  const j = i + by;
  if (i < 0 || j < 0 || j >= list.length) return c;
  [list[i], list[j]] = [list[j], list[i]];
  const seen = new Set<string>();
  const fixed = list.map((t) => {
    const ok = { ...t, context: (t.context ?? []).filter((x) => seen.has(x)) };
    seen.add(t.id);
    return ok;
  });
  return { ...c, tasks: fixed };
}

/** The crew with its process set: a sequential crew has no manager and names who does each task. */
export function setProcess(c: CrewConfig, process: "sequential" | "hierarchical"): CrewConfig {
  if (process === "hierarchical") return { ...c, process };
  const { manager_model: _m, ...rest } = c;
  const first = members(c)[0]?.key ?? null;
  return { ...rest, process, tasks: tasks(c).map((t) => (t.agent ? t : { ...t, agent: first })) };
}

/** What the API would refuse in a crew, said before saving: keys and ids, who does each task, context order. */
export function crewProblems(c: CrewConfig): string[] {
  const out: string[] = [];
  const keys = members(c).map((m) => m.key);
  if (!keys.length) out.push("A crew needs at least one agent.");
  if (!tasks(c).length) out.push("A crew needs at least one task.");
  keys.forEach((k, i) => {
    if (!validKey(k)) out.push(`Agent ${i + 1}: the key “${k}” must be lower case letters, digits and _, from a letter.`);
    else if (keys.indexOf(k) !== i) out.push(`Agent ${i + 1}: the key “${k}” is used twice.`);
  });
  members(c).forEach((m, i) => {
    if (!m.agent) out.push(`Agent ${i + 1}: pick an agent.`);
  });
  const seen: string[] = [];
  tasks(c).forEach((t, i) => {
    const name = `Task ${i + 1}`;
    if (!validKey(t.id)) out.push(`${name}: the id “${t.id}” must be lower case letters, digits and _, from a letter.`);
    else if (seen.includes(t.id)) out.push(`${name}: the id “${t.id}” is used twice.`);
    if (!t.description.trim()) out.push(`${name}: describe the task.`);
    if (t.agent && !keys.includes(t.agent)) out.push(`${name}: “${t.agent}” is not an agent of this crew.`);
    if (!t.agent && c.process !== "hierarchical") out.push(`${name}: a sequential crew's task names the agent who does it.`);
    for (const x of t.context ?? []) if (!seen.includes(x)) out.push(`${name}: “${x}” is not an earlier task.`);
    seen.push(t.id);
  });
  return out;
}

/** The newest `count` node runs of an agent (by start; not yet started ones first: they are the newest). */
export function latestRuns<T extends { started_at: string | null }>(runs: readonly T[], count: number): T[] {
  const at = (r: T) => (r.started_at ? Date.parse(r.started_at) : Infinity);
  return [...runs].sort((a, b) => at(b) - at(a)).slice(0, count);
}

// ---- Run view: agent steps and usage ----

export type StepKind = "thought" | "tool_call" | "tool_result" | "final_answer";

/** One `agent.step` event's data (the runner's progress), with the event's cursor and time. */
export interface AgentStep {
  cursor: string;
  at: string;
  agent: string;
  step: StepKind | string;
  thought?: string;
  tool?: string;
  tool_input?: unknown;
  result?: unknown;
  output?: unknown;
  task?: string;
}

export interface AgentTimeline {
  agent: string;
  steps: AgentStep[];
}

interface StepEvent {
  cursor: string;
  type: string;
  node_id?: string | null;
  iteration?: number | null;
  data?: unknown;
  created_at: string;
}

/** One node's `agent.step` events (of one iteration) as a timeline per agent, agents in the order they first
 * acted, steps in event order; an event seen twice (a stream replaying what a page held) counts once. */
export function groupAgentSteps(events: readonly StepEvent[], nodeId: string, iteration = 0): AgentTimeline[] {
  const seen = new Set<string>();
  const byAgent = new Map<string, AgentStep[]>();
  for (const e of events) {
    if (e.type !== "agent.step" || e.node_id !== nodeId || (e.iteration ?? 0) !== iteration || seen.has(e.cursor)) continue;
    seen.add(e.cursor);
    const d = (e.data && typeof e.data === "object" ? e.data : {}) as Record<string, unknown>;
    const agent = typeof d.agent === "string" && d.agent ? d.agent : "agent";
    const step: AgentStep = {
      cursor: e.cursor,
      at: e.created_at,
      agent,
      step: typeof d.step === "string" ? d.step : "thought",
      ...(typeof d.thought === "string" ? { thought: d.thought } : {}),
      ...(typeof d.tool === "string" ? { tool: d.tool } : {}),
      // The runner names a tool's arguments `tool_input` (a thought that picks a tool) or `args` (the call).
      ...(d.tool_input !== undefined ? { tool_input: d.tool_input } : d.args !== undefined ? { tool_input: d.args } : {}),
      ...(d.result !== undefined ? { result: d.result } : {}),
      ...(d.output !== undefined ? { output: d.output } : {}),
      ...(typeof d.task === "string" ? { task: d.task } : {}),
    };
    byAgent.set(agent, [...(byAgent.get(agent) ?? []), step]);
  }
  return [...byAgent].map(([agent, steps]) => ({ agent, steps }));
}

/** A step's one-line gist: the thought, the tool and its arguments, or the answer (shortened to `max`). */
export function stepGist(s: AgentStep, max = 160): string {
  const text = (v: unknown) => (typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v));
  let out: string;
  if (s.step === "tool_call") out = `${s.tool ?? "tool"}(${text(s.tool_input)})`;
  else if (s.step === "tool_result") out = `${s.tool ? `${s.tool} → ` : ""}${text(s.result)}`;
  else if (s.step === "final_answer") out = text(s.output);
  else out = s.thought || (s.tool ? `→ ${s.tool}(${text(s.tool_input)})` : "");
  out = out.replace(/\s+/g, " ").trim();
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

export interface AgentUsageRow {
  agent: string;
  calls: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
}

/** The per-agent usage an agent or crew node's output carries (`usage.agents.<name>`), with a total row. */
export function agentUsage(output: unknown): { rows: AgentUsageRow[]; total: AgentUsageRow } | null {
  const agents = (output as { usage?: { agents?: unknown } } | null | undefined)?.usage?.agents;
  if (!agents || typeof agents !== "object") return null;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const rows = Object.entries(agents as Record<string, Record<string, unknown> | null>).map(([agent, u]) => ({
    agent,
    calls: n(u?.calls),
    tokens_in: n(u?.tokens_in),
    tokens_out: n(u?.tokens_out),
    cost_usd: n(u?.cost_usd),
  }));
  if (!rows.length) return null;
  const total = rows.reduce(
    (t, r) => ({ ...t, calls: t.calls + r.calls, tokens_in: t.tokens_in + r.tokens_in, tokens_out: t.tokens_out + r.tokens_out, cost_usd: t.cost_usd + r.cost_usd }),
    { agent: "total", calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 },
  );
  return { rows, total };
}
