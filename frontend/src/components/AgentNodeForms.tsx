// The config forms of the `agent` and `crew` nodes: agents are picked from the workspace's agents by name, at
// `live` or a pinned version; a crew's members and tasks are edited as lists (renaming a member or task keeps
// the tasks that refer to it). Fields these forms do not own (e.g. heartbeat_seconds) stay with SchemaForm.
import { useEffect, useState, type ComponentType } from "react";
import {
  addMember,
  addTask,
  crewProblems,
  moveTask,
  parseVersion,
  removeMember,
  removeTask,
  renameMember,
  renameTask,
  setProcess,
  validKey,
  versionChoices,
  versionValue,
  type AgentNodeConfig,
  type CrewConfig,
  type CrewMember,
  type CrewTask,
} from "../lib/agentNodes";
import { api, errorMessage } from "../lib/api";
import type { AgentSummary, JsonSchema } from "../types";
import { ExpressionField } from "./ExpressionField";
import { SchemaForm } from "./SchemaForm";

type Config = Record<string, unknown>;

/** What NodePanel gives a node kind's config form (SchemaForm's props, and the workspace). */
export interface ConfigFormProps {
  workspaceId: string;
  schema: JsonSchema;
  templated: string[];
  config: Config;
  readOnly: boolean;
  fieldIssues?: Record<string, string[]>;
  suggestions?: Record<string, string[]>;
  onChange: (config: Config) => void;
}

const MAX_AGENT_PAGES = 10;
const cache = new Map<string, Promise<AgentSummary[]>>();

async function fetchAgents(workspaceId: string): Promise<AgentSummary[]> {
  const out: AgentSummary[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < MAX_AGENT_PAGES; i++) {
    const page = await api.listAgents(workspaceId, cursor);
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The workspace's agents (fetched once per workspace while the editor is open; a failure is retried next time). */
export function useWorkspaceAgents(workspaceId: string): { agents: AgentSummary[] | null; error: string | null } {
  const [agents, setAgents] = useState<AgentSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let pending = cache.get(workspaceId);
    if (!pending) {
      pending = fetchAgents(workspaceId);
      cache.set(workspaceId, pending);
      pending.catch(() => cache.delete(workspaceId));
    }
    pending.then(
      (a) => live && setAgents(a),
      (e) => live && setError(errorMessage(e)),
    );
    return () => {
      live = false;
    };
  }, [workspaceId]);
  return { agents, error };
}

/** The schema without the fields a custom form edits itself (so SchemaForm shows only the rest). */
export function withoutFields(schema: JsonSchema, names: string[]): JsonSchema {
  const props = { ...((schema.properties as Record<string, unknown> | undefined) ?? {}) };
  for (const n of names) delete props[n];
  const required = Array.isArray(schema.required) ? (schema.required as string[]).filter((r) => !names.includes(r)) : undefined;
  return { ...schema, properties: props, ...(required ? { required } : {}) } as JsonSchema;
}

function pick(config: Config, names: string[]): { own: Config; rest: Config } {
  const own: Config = {};
  const rest: Config = {};
  for (const [k, v] of Object.entries(config)) (names.includes(k) ? own : rest)[k] = v;
  return { own, rest };
}

/** SchemaForm for the fields a custom form leaves to it (nothing when there are none). */
function RestForm({ schema, own, ...props }: { schema: JsonSchema; own: string[] } & Omit<Parameters<typeof SchemaForm>[0], "schema">) {
  const rest = withoutFields(schema, own);
  if (!Object.keys((rest.properties as Record<string, unknown> | undefined) ?? {}).length) return null;
  return <SchemaForm schema={rest} {...props} />;
}

function AgentSelect({
  agents,
  value,
  readOnly,
  testid,
  label,
  onChange,
}: {
  agents: AgentSummary[] | null;
  value: string | undefined;
  readOnly: boolean;
  testid: string;
  label: string;
  onChange: (id: string) => void;
}) {
  const known = agents?.some((a) => a.id === value);
  return (
    <select className="input" aria-label={label} data-testid={testid} value={value ?? ""} disabled={readOnly || agents === null} onChange={(e) => onChange(e.target.value)}>
      <option value="" disabled>{agents === null ? "Loading agents…" : agents.length ? "Pick an agent…" : "No agents in this workspace"}</option>
      {value && agents && !known && <option value={value}>Unknown agent ({value.slice(0, 8)}…)</option>}
      {(agents ?? []).map((a) => (
        <option key={a.id} value={a.id}>{a.name}</option>
      ))}
    </select>
  );
}

function VersionSelect({
  agent,
  value,
  readOnly,
  testid,
  onChange,
}: {
  agent: AgentSummary | undefined;
  value: unknown;
  readOnly: boolean;
  testid: string;
  onChange: (v: "live" | number) => void;
}) {
  const choices = versionChoices(agent?.latest_version);
  const current = versionValue(value);
  if (!choices.some((c) => String(c) === current)) choices.push(parseVersion(current));
  return (
    <select className="input" aria-label="Version" data-testid={testid} value={current} disabled={readOnly} onChange={(e) => onChange(parseVersion(e.target.value))}>
      {choices.map((c) => (
        <option key={String(c)} value={String(c)}>
          {c === "live" ? (agent?.live_version ? `live (now v${agent.live_version})` : "live (none published yet)") : `v${c}${agent?.live_version === c ? " · live" : ""}`}
        </option>
      ))}
    </select>
  );
}

function Issues({ messages }: { messages: string[] | undefined }) {
  return messages?.length ? <>{messages.map((m, i) => <div key={i} className="field-error">{m}</div>)}</> : null;
}

export function AgentNodeForm({ workspaceId, schema, templated, config, readOnly, fieldIssues, suggestions, onChange }: ConfigFormProps) {
  const { agents, error } = useWorkspaceAgents(workspaceId);
  const own = ["agent", "version"];
  const { own: mine, rest } = pick(config, own);
  const c = mine as AgentNodeConfig;
  const chosen = agents?.find((a) => a.id === c.agent);
  const set = (patch: Partial<AgentNodeConfig>) => onChange({ ...config, ...patch });
  return (
    <div className="agent-form" data-testid="agent-node-form">
      <div className="field">
        <label className="field-label">Agent<span className="req">*</span></label>
        <div className="row gap">
          <AgentSelect agents={agents} value={c.agent} readOnly={readOnly} testid="agent-pick" label="Agent" onChange={(id) => set({ agent: id })} />
          <VersionSelect agent={chosen} value={c.version} readOnly={readOnly} testid="agent-version-pick" onChange={(v) => set({ version: v })} />
        </div>
        {error && <div className="field-error">Could not list the agents: {error}</div>}
        {chosen && <div className="field-help">Model <code>{chosen.model}</code>. <a href={`#/w/${workspaceId}/agents/${chosen.id}`} target="_blank" rel="noreferrer">Open its spec</a></div>}
        <Issues messages={[...(fieldIssues?.agent ?? []), ...(fieldIssues?.version ?? [])]} />
      </div>
      <RestForm
        schema={schema}
        own={own}
        templated={templated}
        config={rest}
        readOnly={readOnly}
        fieldIssues={fieldIssues}
        suggestions={suggestions}
        idPrefix="agent-"
        onChange={(next) => onChange({ ...next, ...mine })}
      />
    </div>
  );
}

/** A key or id input that commits on blur or Enter when the new value is well formed and free. */
function KeyInput({ value, taken, readOnly, label, testid, onCommit }: { value: string; taken: string[]; readOnly: boolean; label: string; testid: string; onCommit: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const error = text === value ? null : !validKey(text) ? "lower case letters, digits and _, from a letter" : taken.includes(text) ? "already used" : null;
  const commit = () => {
    if (text !== value && !error) onCommit(text);
    else if (error) setText(value);
  };
  return (
    <span className="key-input">
      <input
        className={`input input-sm mono ${error ? "invalid" : ""}`}
        aria-label={label}
        data-testid={testid}
        value={text}
        readOnly={readOnly}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === "Enter" && commit()}
      />
      {error && <span className="field-error small">{error}</span>}
    </span>
  );
}

function MemberRow({ m, i, c, agents, readOnly, onChange }: { m: CrewMember; i: number; c: CrewConfig; agents: AgentSummary[] | null; readOnly: boolean; onChange: (c: CrewConfig) => void }) {
  const members = c.agents ?? [];
  const update = (patch: Partial<CrewMember>) => onChange({ ...c, agents: members.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  return (
    <div className="crew-member" data-testid="crew-member" data-key={m.key}>
      <KeyInput value={m.key} taken={members.filter((_, j) => j !== i).map((x) => x.key)} readOnly={readOnly} label={`Key of agent ${i + 1}`} testid="crew-member-key" onCommit={(k) => onChange(renameMember(c, m.key, k))} />
      <AgentSelect agents={agents} value={m.agent} readOnly={readOnly} testid="crew-member-agent" label={`Agent ${i + 1}`} onChange={(id) => update({ agent: id })} />
      <VersionSelect agent={agents?.find((a) => a.id === m.agent)} value={m.version} readOnly={readOnly} testid="crew-member-version" onChange={(v) => update({ version: v })} />
      {!readOnly && <button type="button" className="btn btn-sm btn-ghost" aria-label={`Remove agent ${m.key}`} onClick={() => onChange(removeMember(c, m.key))}>×</button>}
    </div>
  );
}

function TaskCard({ t, i, c, readOnly, onChange }: { t: CrewTask; i: number; c: CrewConfig; readOnly: boolean; onChange: (c: CrewConfig) => void }) {
  const tasks = c.tasks ?? [];
  const members = c.agents ?? [];
  const earlier = tasks.slice(0, i).map((x) => x.id);
  const update = (patch: Partial<CrewTask>) => onChange({ ...c, tasks: tasks.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const context = t.context ?? [];
  return (
    <div className="crew-task card" data-testid="crew-task" data-task={t.id}>
      <div className="row gap crew-task-head">
        <span className="muted small">{i + 1}.</span>
        <KeyInput value={t.id} taken={tasks.filter((_, j) => j !== i).map((x) => x.id)} readOnly={readOnly} label={`Id of task ${i + 1}`} testid="crew-task-id" onCommit={(id) => onChange(renameTask(c, t.id, id))} />
        <select className="input input-sm" aria-label={`Agent of task ${t.id}`} data-testid="crew-task-agent" value={t.agent ?? ""} disabled={readOnly} onChange={(e) => update({ agent: e.target.value || null })}>
          {(c.process === "hierarchical" || !t.agent) && <option value="">{c.process === "hierarchical" ? "the manager decides" : "who does it?"}</option>}
          {members.map((m) => <option key={m.key} value={m.key}>{m.key}</option>)}
        </select>
        {!readOnly && (
          <span className="row crew-task-tools">
            <button type="button" className="btn btn-sm btn-ghost" aria-label={`Move ${t.id} up`} disabled={i === 0} onClick={() => onChange(moveTask(c, t.id, -1))}>↑</button>
            <button type="button" className="btn btn-sm btn-ghost" aria-label={`Move ${t.id} down`} disabled={i === tasks.length - 1} onClick={() => onChange(moveTask(c, t.id, 1))}>↓</button>
            <button type="button" className="btn btn-sm btn-ghost" aria-label={`Remove task ${t.id}`} onClick={() => onChange(removeTask(c, t.id))}>×</button>
          </span>
        )}
      </div>
      <label className="field-label" htmlFor={`crew-task-${i}-description`}>Description <span className="field-tag tpl">{"{{ }}"}</span></label>
      <ExpressionField
        id={`crew-task-${i}-description`}
        name="crew-task-description"
        label={`Description of task ${t.id}`}
        value={t.description}
        mode="template"
        multiline
        readOnly={readOnly}
        problems={[]}
        placeholder="What to do, e.g. Research {{ input.topic }}"
        onChange={(text) => update({ description: text })}
      />
      <label className="field-label" htmlFor={`crew-task-${i}-expected`}>Expected output <span className="field-tag tpl">{"{{ }}"}</span></label>
      <ExpressionField
        id={`crew-task-${i}-expected`}
        name="crew-task-expected"
        label={`Expected output of task ${t.id}`}
        value={t.expected_output ?? ""}
        mode="template"
        multiline={false}
        readOnly={readOnly}
        problems={[]}
        onChange={(text) => update({ expected_output: text })}
      />
      {earlier.length > 0 && (
        <div className="crew-context" data-testid="crew-task-context">
          <span className="small muted">Reads the output of</span>
          {earlier.map((x) => (
            <label key={x} className="switch small">
              <input type="checkbox" checked={context.includes(x)} disabled={readOnly} onChange={(e) => update({ context: e.target.checked ? earlier.filter((y) => y === x || context.includes(y)) : context.filter((y) => y !== x) })} />
              <span className="mono">{x}</span>
            </label>
          ))}
        </div>
      )}
    </div>
  );
}

export function CrewNodeForm({ workspaceId, schema, templated, config, readOnly, fieldIssues, suggestions, onChange }: ConfigFormProps) {
  const { agents, error } = useWorkspaceAgents(workspaceId);
  const own = ["agents", "tasks", "process", "manager_model"];
  const { own: mine, rest } = pick(config, own);
  const c = mine as CrewConfig;
  const set = (next: CrewConfig) => onChange({ ...rest, ...next });
  const problems = crewProblems(c);
  const unused = (agents ?? []).filter((a) => !(c.agents ?? []).some((m) => m.agent === a.id));
  const models = suggestions?.model ?? [];
  return (
    <div className="crew-form" data-testid="crew-node-form">
      <div className="field">
        <label className="field-label">Agents<span className="req">*</span></label>
        {(c.agents ?? []).map((m, i) => <MemberRow key={i} m={m} i={i} c={c} agents={agents} readOnly={readOnly} onChange={set} />)}
        {!readOnly && (
          <select
            className="input input-sm"
            aria-label="Add an agent"
            data-testid="crew-add-agent"
            value=""
            disabled={agents === null}
            onChange={(e) => {
              const a = agents?.find((x) => x.id === e.target.value);
              if (a) set(addMember(c, a));
            }}
          >
            <option value="">{agents === null ? "Loading agents…" : unused.length ? "+ Add an agent…" : (agents.length ? "+ Add an agent again…" : "No agents in this workspace")}</option>
            {(unused.length ? unused : (agents ?? [])).map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        )}
        {error && <div className="field-error">Could not list the agents: {error}</div>}
        <div className="field-help">The key is the name tasks use for an agent in this crew.</div>
        <Issues messages={fieldIssues?.agents} />
      </div>
      <div className="field">
        <label className="field-label">Process</label>
        <div className="row gap">
          <select className="input" data-testid="crew-process" value={c.process ?? "sequential"} disabled={readOnly} onChange={(e) => set(setProcess(c, e.target.value as "sequential" | "hierarchical"))}>
            <option value="sequential">Sequential: tasks in order</option>
            <option value="hierarchical">Hierarchical: a manager delegates</option>
          </select>
          {c.process === "hierarchical" && (
            <>
              <input className="input mono" aria-label="Manager model" data-testid="crew-manager-model" list="crew-manager-models" value={c.manager_model ?? ""} placeholder="default" readOnly={readOnly} onChange={(e) => set({ ...c, manager_model: e.target.value.trim() ? e.target.value : null })} />
              <datalist id="crew-manager-models">{models.map((m) => <option key={m} value={m} />)}</datalist>
            </>
          )}
        </div>
        <Issues messages={[...(fieldIssues?.process ?? []), ...(fieldIssues?.manager_model ?? [])]} />
      </div>
      <div className="field">
        <label className="field-label">Tasks<span className="req">*</span></label>
        {(c.tasks ?? []).map((t, i) => <TaskCard key={i} t={t} i={i} c={c} readOnly={readOnly} onChange={set} />)}
        {!readOnly && <button type="button" className="btn btn-sm" data-testid="crew-add-task" onClick={() => set(addTask(c))}>+ Add task</button>}
        <div className="field-help">Each task's output is <code>{"nodes.<id>.output.tasks.<task>"}</code> downstream.</div>
        <Issues messages={fieldIssues?.tasks} />
      </div>
      {problems.length > 0 && (
        <div className="callout callout-warn compact" data-testid="crew-problems">
          <ul>{problems.map((p, i) => <li key={i}>{p}</li>)}</ul>
        </div>
      )}
      <RestForm
        schema={schema}
        own={own}
        templated={templated.filter((f) => !own.includes(f))}
        config={rest}
        readOnly={readOnly}
        fieldIssues={fieldIssues}
        idPrefix="crew-"
        onChange={(next) => onChange({ ...next, ...mine })}
      />
    </div>
  );
}

/** Node kinds whose config has a form of its own; every other kind gets SchemaForm from its config schema. */
export const CONFIG_FORMS: Record<string, ComponentType<ConfigFormProps>> = {
  agent: AgentNodeForm,
  crew: CrewNodeForm,
};
