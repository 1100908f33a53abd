// An agent or crew node's work in the run view: each agent's steps (thoughts, tool calls with their arguments
// and results, final answers) as they happen, from the run's `agent.step` events, and the tokens and cost
// each agent spent (the node output's `usage.agents`). Renders nothing for other node kinds.
import { useEffect, useMemo, useState } from "react";
import { agentUsage, groupAgentSteps, stepGist, type AgentStep } from "../lib/agentNodes";
import { followEvents } from "../lib/events";
import { num, relTime, usd } from "../lib/format";
import type { NodeRun, RunEvent } from "../types";
import { JsonView, Section } from "./ui";

export const AGENT_KINDS = ["agent", "crew"];

const LABEL: Record<string, string> = {
  thought: "Thought",
  tool_call: "Tool call",
  tool_result: "Tool result",
  final_answer: "Final answer",
};

function Step({ s }: { s: AgentStep }) {
  const detail: [string, unknown][] = [];
  if (s.thought && s.step !== "thought") detail.push(["thought", s.thought]);
  if (s.tool_input !== undefined) detail.push(["arguments", s.tool_input]);
  if (s.result !== undefined) detail.push(["result", s.result]);
  if (s.output !== undefined) detail.push(["answer", s.output]);
  return (
    <li className={`agent-step step-${s.step}`} data-testid="agent-step" data-step={s.step}>
      <span className="agent-step-dot" aria-hidden />
      <div className="agent-step-body">
        <div className="agent-step-head">
          <span className="agent-step-kind">{LABEL[s.step] ?? s.step}</span>
          {s.tool && <code className="small">{s.tool}</code>}
          {s.task && <span className="muted small">task <code>{s.task}</code></span>}
          <span className="muted small agent-step-time" title={s.at}>{relTime(s.at)}</span>
        </div>
        <div className="agent-step-gist">{stepGist(s)}</div>
        {detail.length > 0 && (
          <details>
            <summary className="small muted">Details</summary>
            {detail.map(([k, v]) => (
              <div key={k}>
                <div className="small strong">{k}</div>
                {typeof v === "string" ? <pre className="agent-step-text">{v}</pre> : <JsonView value={v} maxHeight={200} />}
              </div>
            ))}
          </details>
        )}
      </div>
    </li>
  );
}

export function AgentSteps({ workspaceId, runId, nodeRun }: { workspaceId: string; runId: string; nodeRun: NodeRun }) {
  const isAgent = AGENT_KINDS.includes(nodeRun.type);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [streamError, setStreamError] = useState<string | null>(null);
  const iteration = nodeRun.iteration ?? 0;

  // The run's events from its start (the steps so far), then live; only this node's agent steps are kept.
  useEffect(() => {
    if (!isAgent) return;
    setEvents([]);
    const stop = new AbortController();
    const path = `/v1/workspaces/${encodeURIComponent(workspaceId)}/runs/${encodeURIComponent(runId)}/events`;
    const mine = (e: RunEvent) => e.type === "agent.step" && e.node_id === nodeRun.node_id;
    void followEvents(path, "0", (batch) => {
      const kept = batch.filter(mine);
      if (kept.length) setEvents((cur) => [...cur, ...kept]);
    }, stop.signal, setStreamError);
    return () => stop.abort();
  }, [isAgent, workspaceId, runId, nodeRun.node_id]);

  const timelines = useMemo(() => groupAgentSteps(events, nodeRun.node_id, iteration), [events, nodeRun.node_id, iteration]);
  const usage = useMemo(() => agentUsage(nodeRun.output), [nodeRun.output]);
  if (!isAgent) return null;
  const working = nodeRun.status === "RUNNING" || nodeRun.status === "PENDING";

  return (
    <>
      {usage && (
        <Section title="Agents' usage">
          <table className="table table-compact" data-testid="agent-usage">
            <thead><tr><th>Agent</th><th className="right">Calls</th><th className="right">Tokens in</th><th className="right">Tokens out</th><th className="right">Cost</th></tr></thead>
            <tbody>
              {usage.rows.map((r) => (
                <tr key={r.agent} data-testid="agent-usage-row" data-agent={r.agent}>
                  <td className="mono">{r.agent}</td>
                  <td className="right">{num(r.calls)}</td>
                  <td className="right">{num(r.tokens_in)}</td>
                  <td className="right">{num(r.tokens_out)}</td>
                  <td className="right">{usd(r.cost_usd)}</td>
                </tr>
              ))}
              {usage.rows.length > 1 && (
                <tr className="strong" data-testid="agent-usage-total">
                  <td>Total</td>
                  <td className="right">{num(usage.total.calls)}</td>
                  <td className="right">{num(usage.total.tokens_in)}</td>
                  <td className="right">{num(usage.total.tokens_out)}</td>
                  <td className="right">{usd(usage.total.cost_usd)}</td>
                </tr>
              )}
            </tbody>
          </table>
        </Section>
      )}
      <Section title="Agent steps" right={working ? <span className="muted small" data-testid="agent-steps-live">live</span> : null}>
        {streamError && <div className="muted small">Reconnecting to the run's events… ({streamError})</div>}
        {timelines.length === 0 ? (
          <div className="muted small" data-testid="agent-steps-empty">{working ? "Waiting for the agents' first step…" : "No agent steps were recorded."}</div>
        ) : (
          <div data-testid="agent-steps">
            {timelines.map((t) => (
              <div key={t.agent} className="agent-timeline" data-testid="agent-timeline" data-agent={t.agent}>
                <div className="strong mono small">{t.agent} <span className="muted">· {t.steps.length} step{t.steps.length === 1 ? "" : "s"}</span></div>
                <ol className="agent-steps">{t.steps.map((s) => <Step key={s.cursor} s={s} />)}</ol>
              </div>
            ))}
          </div>
        )}
      </Section>
    </>
  );
}
