// The agents dashboard: each agent with its model, live version, its runs, tokens and cost.
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../lib/api";
import { latestRuns, NEW_AGENT_SPEC } from "../lib/agentNodes";
import { absTime, num, relTime, usd } from "../lib/format";
import { keys } from "../lib/queryKeys";
import { navigate, paths, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import type { AgentListItem, AgentNodeRun } from "../types";
import { useToast } from "../components/Toasts";
import { Empty, ErrorState, Spinner } from "../components/ui";

const LAST_RUNS = 5;

/** An agent's latest node runs as status dots, newest first, each opening its run (the list carries them). */
function LastRuns({ workspaceId, runs }: { workspaceId: string; runs: readonly AgentNodeRun[] }) {
  if (!runs.length) return <span className="muted">—</span>;
  return (
    <span className="agent-last-runs" data-testid="agent-last-runs">
      {runs.map((r) => (
        <a
          key={`${r.run_id}/${r.node_id}/${r.iteration}`}
          href={`#${paths.run(workspaceId, r.run_id)}`}
          onClick={(e) => e.stopPropagation()}
          title={`${r.status} · ${r.node_id}${r.agent_version ? ` · v${r.agent_version}` : ""} · ${num((r.tokens_in ?? 0) + (r.tokens_out ?? 0))} tokens · ${usd(r.total_cost_usd)} · ${relTime(r.started_at)}`}
          data-testid="agent-last-run"
          data-status={r.status}
        >
          <span className={`dot-sm status-${r.status.toLowerCase()}`} />
        </a>
      ))}
    </span>
  );
}

export function Agents() {
  const { workspace } = useSession();
  const toast = useToast();
  const editable = canEdit(workspace.role);
  useTitle(`Agents · ${workspace.name}`);

  // Pages of agents (first page, then "Load more"); each visit refetches (agents change in their editor).
  const agents = useInfiniteQuery({
    queryKey: keys.agents(workspace.id),
    queryFn: ({ pageParam }) => api.listAgents(workspace.id, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
    staleTime: 0,
  });
  const items: AgentListItem[] | null = agents.data ? agents.data.pages.flatMap((p) => p.items) : null;
  const error = agents.error ? errorMessage(agents.error) : null;
  const cursor = agents.hasNextPage;
  const load = () => void agents.refetch();

  const more = async () => {
    const r = await agents.fetchNextPage();
    if (r.error) toast.error("Could not load more agents", errorMessage(r.error));
  };

  const qc = useQueryClient();
  const create = useMutation({
    mutationFn: () => api.createAgent(workspace.id, { spec: NEW_AGENT_SPEC }),
    onSuccess: (agent) => {
      void qc.invalidateQueries({ queryKey: keys.agents(workspace.id) });
      navigate(paths.agent(workspace.id, agent.id));
    },
    onError: (e) => toast.error("Could not create the agent", errorMessage(e)),
  });
  const busy = create.isPending || create.isSuccess;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Agents</h1>
        </div>
        {editable && (
          <button className="btn btn-primary" data-testid="new-agent" disabled={busy} onClick={() => create.mutate()}>
            New agent
          </button>
        )}
      </div>
      <div className="card">
        {error && items === null ? (
          <ErrorState title="Could not load the agents" message={error} onRetry={() => void load()} />
        ) : items === null ? (
          <Spinner label="Loading agents…" />
        ) : items.length === 0 ? (
          <Empty title="No agents yet">
            An agent is a spec: role, goal, backstory, model and tools, versioned like a flow.
            {editable ? " Create one to edit its spec as markdown or JSON." : ""}
          </Empty>
        ) : (
          <>
            <table className="table" data-testid="agents-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Model</th>
                  <th>Live</th>
                  <th className="right">Runs</th>
                  <th>Last runs</th>
                  <th>Last run</th>
                  <th className="right">Tokens</th>
                  <th className="right">Cost</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.id} className="clickable" data-testid="agent-row" onClick={() => navigate(paths.agent(workspace.id, a.id))}>
                    <td>
                      <a href={`#${paths.agent(workspace.id, a.id)}`} className="strong" onClick={(e) => e.stopPropagation()}>{a.name}</a>
                    </td>
                    <td className="mono">{a.model}</td>
                    <td data-testid="agent-live">
                      {a.live_version ? `v${a.live_version}` : <span className="muted">not published</span>}
                      {a.latest_version > (a.live_version ?? 0) || (a.live_version && a.latest_version !== a.live_version) ? (
                        <span className="muted small"> (latest v{a.latest_version})</span>
                      ) : null}
                    </td>
                    <td className="right">{num(a.usage.runs)}</td>
                    <td><LastRuns workspaceId={workspace.id} runs={latestRuns(a.recent_runs ?? [], LAST_RUNS)} /></td>
                    <td title={absTime(a.usage.last_run_at)}>{relTime(a.usage.last_run_at)}</td>
                    <td className="right">{num(a.usage.tokens)}</td>
                    <td className="right">{usd(a.usage.cost_usd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {cursor && (
              <div className="table-foot">
                <button className="btn btn-sm" onClick={() => void more()}>Load more</button>
              </div>
            )}
          </>
        )}
      </div>
    </div>
  );
}
