// The spec editor: markdown and JSON side by side, both editable and kept in sync through the API's
// validate route (the one parser of the spec), errors on their line; versions with a diff and the live
// pointer; the node runs that used the agent.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError, errorMessage } from "../lib/api";
import { changedLines, jsonErrors, lineDiff, markdownErrors, specText, syncBody, type LineError } from "../lib/agents";
import { absTime, num, relTime, usd } from "../lib/format";
import { keys } from "../lib/queryKeys";
import { navigate, paths, setNavigationGuard, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import type { Agent, AgentNodeRun, AgentVersionSummary } from "../types";
import { CodePane } from "../components/CodePane";
import { useToast } from "../components/Toasts";
import { Empty, ErrorState, Section, Spinner, StatusBadge } from "../components/ui";

const SYNC_MS = 350;
type Pane = "markdown" | "json";

function VersionDiff({ agentId, versions }: { agentId: string; versions: AgentVersionSummary[] }) {
  const { workspace } = useSession();
  const [from, setFrom] = useState<number>(versions.length > 1 ? versions[1].version : versions[0].version);
  const [to, setTo] = useState<number>(versions[0].version);
  // Each version's markdown once (versions never change): cached by version number.
  const text = (n: number) => ({
    queryKey: keys.agentVersion(workspace.id, agentId, n),
    queryFn: () => api.getAgentVersion(workspace.id, agentId, n).then((v) => v.markdown),
    staleTime: Infinity,
  });
  const fromQ = useQuery(text(from));
  const toQ = useQuery(text(to));
  const texts: Record<number, string | undefined> = { [from]: fromQ.data, [to]: toQ.data };
  const failed = fromQ.error ?? toQ.error;
  const error = failed ? errorMessage(failed) : null;
  const diff = texts[from] !== undefined && texts[to] !== undefined ? lineDiff(texts[from]!, texts[to]!) : null;
  const changed = diff ? changedLines(diff) : 0;
  const pick = (value: number, set: (n: number) => void, testid: string) => (
    <select className="input input-sm" value={value} data-testid={testid} onChange={(e) => set(Number(e.target.value))}>
      {versions.map((v) => <option key={v.version} value={v.version}>v{v.version}{v.is_live ? " · live" : ""}</option>)}
    </select>
  );
  return (
    <div className="card" data-testid="version-diff">
      <div className="row gap" style={{ padding: "8px 12px" }}>
        <span>Compare</span>
        {pick(from, setFrom, "diff-from")}
        <span>with</span>
        {pick(to, setTo, "diff-to")}
        {diff && <span className="muted small" data-testid="diff-summary">{changed ? `${changed} changed line${changed > 1 ? "s" : ""}` : "identical"}</span>}
      </div>
      {error ? (
        <div className="callout callout-error">{error}</div>
      ) : !diff ? (
        <Spinner />
      ) : (
        <pre className="diff">
          {diff.map((d, i) => (
            <div key={i} className={`diff-line diff-${d.kind}`} data-kind={d.kind}>
              <span className="diff-num">{d.a ?? ""}</span>
              <span className="diff-num">{d.b ?? ""}</span>
              {d.kind === "added" ? "+ " : d.kind === "removed" ? "- " : "  "}
              {d.text}
            </div>
          ))}
        </pre>
      )}
    </div>
  );
}

export function AgentEditor({ agentId }: { agentId: string }) {
  const { workspace } = useSession();
  const toast = useToast();
  const editable = canEdit(workspace.role);
  const qc = useQueryClient();
  // The agent, its versions and its node runs are queries; the panes are local state, reset from each new answer.
  const agentQ = useQuery({ queryKey: keys.agent(workspace.id, agentId), queryFn: () => api.getAgent(workspace.id, agentId), staleTime: 0 });
  const versionsQ = useQuery({ queryKey: keys.agentVersions(workspace.id, agentId), queryFn: () => api.listAgentVersions(workspace.id, agentId).then((v) => v.items), staleTime: 0 });
  const runsQ = useQuery({ queryKey: keys.agentRuns(workspace.id, agentId), queryFn: () => api.agentRuns(workspace.id, agentId).then((r) => r.items), staleTime: 0 });
  const [agent, setAgent] = useState<Agent | null>(null);
  const failed = agentQ.error ?? versionsQ.error ?? runsQ.error;
  const loadError = failed ? errorMessage(failed) : null;
  const [markdown, setMarkdown] = useState("");
  const [json, setJson] = useState("");
  const [errors, setErrors] = useState<Record<Pane, LineError[]>>({ markdown: [], json: [] });
  const [syncing, setSyncing] = useState(false);
  const versions: AgentVersionSummary[] | null = versionsQ.data ?? null;
  const runs: AgentNodeRun[] | null = runsQ.data ?? null;
  const [busy, setBusy] = useState(false);
  const timer = useRef<number | null>(null);
  const generation = useRef(0);
  useTitle(agent ? `${agent.name} · Agents` : "Agent");

  useEffect(() => {
    const a = agentQ.data;
    if (!a) return;
    setAgent(a);
    setMarkdown(a.markdown);
    setJson(specText(a.spec));
    setErrors({ markdown: [], json: [] });
  }, [agentQ.data]);
  /** After a publish or a live move: the agent, its versions and the dashboard's list are stale. */
  const invalidate = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: keys.agent(workspace.id, agentId) }),
      qc.invalidateQueries({ queryKey: keys.agentVersions(workspace.id, agentId) }),
      qc.invalidateQueries({ queryKey: keys.agents(workspace.id) }),
    ]);
  const load = () =>
    void Promise.all([agentQ.refetch(), versionsQ.refetch(), runsQ.refetch()]);

  const dirty = agent !== null && markdown !== agent.markdown;
  const valid = errors.markdown.length === 0 && errors.json.length === 0 && !syncing;
  useEffect(() => {
    setNavigationGuard(dirty ? () => window.confirm("Leave without saving the draft?") : null);
    return () => setNavigationGuard(null);
  }, [dirty]);

  /** One pane changed: validate it through the API and, when valid, rewrite the other pane from it. */
  const edited = (pane: Pane, text: string) => {
    if (pane === "markdown") setMarkdown(text);
    else setJson(text);
    if (timer.current) window.clearTimeout(timer.current);
    const mine = ++generation.current;
    const asked = syncBody(pane, text);
    if ("error" in asked) {
      setErrors({ markdown: [], json: [asked.error] });
      setSyncing(false);
      return;
    }
    const body = asked.body;
    setSyncing(true);
    timer.current = window.setTimeout(async () => {
      try {
        const forms = await api.validateAgent(workspace.id, body);
        if (mine !== generation.current) return;
        if (pane === "markdown") setJson(specText(forms.spec));
        else setMarkdown(forms.markdown);
        setErrors({ markdown: [], json: [] });
      } catch (e) {
        if (mine !== generation.current) return;
        const message = errorMessage(e);
        const details = e instanceof ApiError ? e.details : null;
        setErrors(
          pane === "markdown"
            ? { markdown: markdownErrors(details, message), json: [] }
            : { markdown: [], json: jsonErrors(text, details, message) },
        );
      } finally {
        if (mine === generation.current) setSyncing(false);
      }
    }, SYNC_MS);
  };

  const save = async (): Promise<Agent | null> => {
    setBusy(true);
    try {
      const saved = await api.updateAgent(workspace.id, agentId, { markdown });
      qc.setQueryData(keys.agent(workspace.id, agentId), saved);
      void qc.invalidateQueries({ queryKey: keys.agents(workspace.id) });
      setAgent(saved);
      setMarkdown(saved.markdown);
      setJson(specText(saved.spec));
      toast.success("Draft saved");
      return saved;
    } catch (e) {
      const details = e instanceof ApiError ? e.details : null;
      setErrors({ markdown: markdownErrors(details, errorMessage(e)), json: [] });
      toast.error("Could not save the draft", errorMessage(e));
      return null;
    } finally {
      setBusy(false);
    }
  };

  const publish = async () => {
    if (dirty && !(await save())) return;
    setBusy(true);
    try {
      const v = await api.publishAgent(workspace.id, agentId);
      if (v.unchanged) toast.info(`Nothing new to publish`, v.message);
      else toast.success(`Published v${v.version}`, v.message);
      await invalidate();
    } catch (e) {
      toast.error("Could not publish", errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const makeLive = async (n: number) => {
    try {
      await api.setAgentLive(workspace.id, agentId, n);
      toast.success(`v${n} is live`);
      await invalidate();
    } catch (e) {
      toast.error("Could not move live", errorMessage(e));
    }
  };

  const remove = async () => {
    if (!window.confirm(`Delete the agent “${agent?.name}”? Its versions stay readable by the runs that used them.`)) return;
    try {
      await api.deleteAgent(workspace.id, agentId);
      void qc.invalidateQueries({ queryKey: keys.agents(workspace.id) });
      setNavigationGuard(null);
      toast.success("Agent deleted");
      navigate(paths.agents(workspace.id));
    } catch (e) {
      toast.error("Could not delete the agent", errorMessage(e));
    }
  };

  const totals = useMemo(
    () => (runs ?? []).reduce((t, r) => ({ tokens: t.tokens + (r.tokens_in ?? 0) + (r.tokens_out ?? 0), cost: t.cost + r.total_cost_usd }), { tokens: 0, cost: 0 }),
    [runs],
  );

  if (loadError) return <div className="page"><ErrorState title="Could not load the agent" message={loadError} onRetry={load} /></div>;
  if (!agent) return <div className="page-center"><Spinner label="Loading the agent…" /></div>;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs"><a href={`#${paths.agents(workspace.id)}`}>Agents</a></div>
          <h1 data-testid="agent-name">{agent.name}</h1>
          <div className="muted small">
            <span data-testid="agent-live-version">{agent.live_version ? `live: v${agent.live_version}` : "not published"}</span>
            {" · "}latest v{agent.latest_version}{dirty ? " · unsaved changes" : ""}
          </div>
        </div>
        {editable && (
          <div className="row gap">
            <button className="btn btn-danger-outline" onClick={() => void remove()}>Delete</button>
            <button className="btn" data-testid="save-agent" disabled={!dirty || !valid || busy} onClick={() => void save()}>Save draft</button>
            <button className="btn btn-primary" data-testid="publish-agent" disabled={!valid || busy} onClick={() => void publish()}>Publish</button>
          </div>
        )}
      </div>
      {syncing && <div className="muted small" data-testid="syncing">Checking…</div>}
      <div className="spec-panes">
        <CodePane label="Markdown" language="markdown" testid="pane-markdown" value={markdown} errors={errors.markdown} readOnly={!editable} onChange={(t) => edited("markdown", t)} />
        <CodePane label="JSON" language="json" testid="pane-json" value={json} errors={errors.json} readOnly={!editable} onChange={(t) => edited("json", t)} />
      </div>

      <Section title="Versions">
        {versions === null ? (
          <Spinner />
        ) : versions.length === 0 ? (
          <Empty title="Not published yet">Publish the draft to make version 1; nodes run the live version.</Empty>
        ) : (
          <>
            <div className="card">
              <table className="table" data-testid="agent-versions">
                <thead><tr><th>Version</th><th>Description</th><th>Published</th><th>By</th><th /></tr></thead>
                <tbody>
                  {versions.map((v) => (
                    <tr key={v.version} data-testid="agent-version-row">
                      <td className="strong">v{v.version} {v.is_live && <span className="badge status-succeeded" data-testid="live-badge">live</span>}</td>
                      <td>{v.description || <span className="muted">—</span>}</td>
                      <td title={absTime(v.created_at)}>{relTime(v.created_at)}</td>
                      <td className="mono small">{v.created_by}</td>
                      <td className="right">
                        {editable && !v.is_live && (
                          <button className="btn btn-sm" data-testid={`make-live-${v.version}`} onClick={() => void makeLive(v.version)}>Make live</button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div style={{ marginTop: 12 }}>
              <VersionDiff key={versions[0].version} agentId={agentId} versions={versions} />
            </div>
          </>
        )}
      </Section>

      <Section title="Runs" right={runs && runs.length ? <span className="muted small">{num(totals.tokens)} tokens · {usd(totals.cost)}</span> : null}>
        {runs === null ? (
          <Spinner />
        ) : runs.length === 0 ? (
          <Empty title="No runs yet">Node runs that used this agent appear here with their tokens and cost.</Empty>
        ) : (
          <div className="card">
            <table className="table" data-testid="agent-runs">
              <thead><tr><th>Run</th><th>Node</th><th>Version</th><th>Status</th><th>Model</th><th className="right">Tokens</th><th className="right">Cost</th><th>Started</th></tr></thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={`${r.run_id}/${r.node_id}/${r.iteration}`} className="clickable" onClick={() => navigate(paths.run(workspace.id, r.run_id))}>
                    <td className="mono small">{r.run_id.slice(0, 8)}</td>
                    <td className="mono">{r.node_id}</td>
                    <td>{r.agent_version ? `v${r.agent_version}` : "—"}</td>
                    <td><StatusBadge status={r.status} /></td>
                    <td className="mono small">{r.model ?? "—"}</td>
                    <td className="right">{num((r.tokens_in ?? 0) + (r.tokens_out ?? 0))}</td>
                    <td className="right">{usd(r.total_cost_usd)}</td>
                    <td title={absTime(r.started_at)}>{relTime(r.started_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </div>
  );
}
