// The approvals inbox (`#/w/<ws>/approvals[/<id>]?status=&flow=`): what the signed-in user may decide, filtered
// by status and flow, each with its rendered message, flow and run, age and expiry; the selected one opens beside
// the list with its decision form. Lists reload when approvals change (a decision here, or an approval event).
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect } from "react";
import { api, errorMessage } from "../lib/api";
import { keys } from "../lib/queryKeys";
import { navigate, paths, useTitle } from "../lib/router";
import { useSession } from "../session";
import type { Approval, FlowSummary, NodeRun, Run } from "../types";
import { ApprovalCard, ApprovalMeta, ApprovalStatus } from "../components/ApprovalCard";
import { Markdown } from "../components/Markdown";
import { useToast } from "../components/Toasts";
import { APPROVALS_CHANGED } from "../components/useApprovals";
import { Empty, ErrorState, JsonView, Spinner, StatusBadge } from "../components/ui";

/** The run an approval belongs to: its status, input, and the outputs of the nodes that ran before it. */
function RunContext({ ws, approval }: { ws: string; approval: Approval }) {
  const q = useQuery({
    queryKey: keys.approvalContext(ws, approval.run_id, approval.status),
    queryFn: async (): Promise<{ run: Run; nodes: NodeRun[] }> => {
      const [run, nodes] = await Promise.all([api.getRun(ws, approval.run_id), api.runNodes(ws, approval.run_id)]);
      return { run, nodes: nodes.items };
    },
    retry: false,
  });
  const ctx = q.data ?? null;
  if (!ctx) return null;
  // What the approver needs: outputs of the nodes that had finished when the approval was asked.
  const asked = Date.parse(approval.created_at);
  const upstream = ctx.nodes.filter(
    (n) => n.status === "SUCCEEDED" && n.node_id !== approval.node_id && n.output !== undefined && !!n.finished_at && Date.parse(n.finished_at) <= asked,
  );
  return (
    <details className="approval-context" data-testid="approval-context">
      <summary>
        Run context <StatusBadge status={ctx.run.status} />
      </summary>
      <div className="small muted">Input</div>
      <JsonView value={ctx.run.input} maxHeight={160} />
      {upstream.map((n) => (
        <div key={n.node_id}>
          <div className="small muted">Output of <span className="mono">{n.node_id}</span></div>
          <JsonView value={n.output} maxHeight={160} />
        </div>
      ))}
    </details>
  );
}

const STATUSES = [
  ["pending", "Pending"],
  ["decided", "Decided"],
  ["expired", "Expired"],
  ["withdrawn", "Withdrawn"],
] as const;

function Detail({ ws, id, flowName, onChanged }: { ws: string; id: string; flowName: (id: string) => string | null; onChanged: () => void }) {
  const qc = useQueryClient();
  const q = useQuery({ queryKey: keys.approval(ws, id), queryFn: () => api.getApproval(ws, id), staleTime: 0 });
  const a = q.data ?? null;
  const error = q.error ? errorMessage(q.error) : null;
  const load = useCallback(() => void qc.invalidateQueries({ queryKey: keys.approval(ws, id) }), [qc, ws, id]);
  useEffect(() => {
    window.addEventListener(APPROVALS_CHANGED, load);
    return () => window.removeEventListener(APPROVALS_CHANGED, load);
  }, [load]);
  if (error && !a) return <ErrorState title="Could not load the approval" message={error} onRetry={load} />;
  if (!a) return <Spinner label="Loading…" />;
  return (
    <>
      <ApprovalCard
        approval={a}
        ws={ws}
        flowName={flowName(a.flow_id)}
        onChanged={(next) => {
          if (next) qc.setQueryData(keys.approval(ws, id), next);
          else load();
          onChanged();
        }}
      />
      <RunContext ws={ws} approval={a} />
    </>
  );
}

export function Approvals({ selected, query }: { selected?: string; query: URLSearchParams }) {
  const { workspace } = useSession();
  const toast = useToast();
  const status = query.get("status") ?? "pending";
  const flow = query.get("flow") ?? "";
  const qc = useQueryClient();
  useTitle(`Approvals · ${workspace.name}`);

  const q = { status: status === "pending" ? "" : status, flow };
  const setFilter = (patch: Record<string, string>) => {
    const next = { ...q, ...patch };
    if (next.status === "pending") next.status = "";
    navigate(paths.approvals(workspace.id, null, next), true);
  };

  // Pages of approvals (first page, then "Load more"); approvals changing anywhere (a decision here, an approval
  // event) invalidate every list.
  const list = useInfiniteQuery({
    queryKey: keys.approvals(workspace.id, { status, flow }),
    queryFn: ({ pageParam }) => api.listApprovals(workspace.id, { status, flow, cursor: pageParam }),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
    staleTime: 0,
  });
  const items: Approval[] | null = list.data ? list.data.pages.flatMap((p) => p.items) : null;
  const error = list.error ? errorMessage(list.error) : null;
  const cursor = list.hasNextPage;
  const load = useCallback(() => void qc.invalidateQueries({ queryKey: keys.approvals(workspace.id) }), [qc, workspace.id]);
  useEffect(() => {
    window.addEventListener(APPROVALS_CHANGED, load);
    return () => window.removeEventListener(APPROVALS_CHANGED, load);
  }, [load]);
  const flowsQ = useQuery({ queryKey: keys.flowOptions(workspace.id), queryFn: () => api.listFlows(workspace.id) });
  const flows: FlowSummary[] = flowsQ.data?.items ?? [];

  const more = async () => {
    const r = await list.fetchNextPage();
    if (r.error) toast.error("Could not load more approvals", errorMessage(r.error));
  };

  const flowName = (id: string) => flows.find((f) => f.id === id)?.name ?? null;
  const open = (id: string) => navigate(paths.approvals(workspace.id, id, q));

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Approvals</h1>
        </div>
        <div className="row gap">
          <select className="input" value={flow} onChange={(e) => setFilter({ flow: e.target.value })} aria-label="Filter by flow" data-testid="approval-flow-filter">
            <option value="">All flows</option>
            {flows.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </select>
          <button className="btn" onClick={() => void load()}>Refresh</button>
        </div>
      </div>
      <div className="filters" role="tablist" aria-label="Filter by status">
        {STATUSES.map(([s, label]) => (
          <button key={s} role="tab" aria-selected={status === s} className={`chip-filter ${status === s ? "on" : ""}`} onClick={() => setFilter({ status: s })} data-testid={`approval-filter-${s}`}>
            {label}
          </button>
        ))}
      </div>
      <div className="approvals-layout">
        <div className="approvals-list">
          {error && !items ? (
            <div className="card"><ErrorState title="Could not load approvals" message={error} onRetry={() => void load()} /></div>
          ) : items === null ? (
            <div className="card"><Spinner label="Loading approvals…" /></div>
          ) : items.length === 0 ? (
            <div className="card">
              <Empty title={status === "pending" ? "Nothing waits for you" : "No approvals match these filters"}>
                {status === "pending"
                  ? "When a run reaches an approval node you may decide, it appears here."
                  : "Try another status or flow."}
              </Empty>
            </div>
          ) : (
            <>
              {items.map((a) => (
                <div
                  key={a.id}
                  role="button"
                  tabIndex={0}
                  className={`card approval-row ${a.id === selected ? "selected" : ""}`}
                  data-testid="approval-row"
                  data-approval-id={a.id}
                  onClick={() => open(a.id)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter") open(a.id);
                  }}
                >
                  <div className="approval-head">
                    <div className="approval-title strong">{a.title}</div>
                    <ApprovalStatus status={a.status} />
                  </div>
                  <ApprovalMeta a={a} ws={workspace.id} flowName={flowName(a.flow_id)} />
                  <Markdown text={a.message} className="approval-preview" />
                </div>
              ))}
              {cursor && <div className="center"><button className="btn" onClick={() => void more()}>Load more</button></div>}
            </>
          )}
        </div>
        <div className="approvals-detail card" data-testid="approval-detail">
          {selected ? (
            <Detail key={selected} ws={workspace.id} id={selected} flowName={flowName} onChanged={() => void load()} />
          ) : (
            <div className="muted small approval-placeholder">Select an approval to read it in full and decide.</div>
          )}
        </div>
      </div>
    </div>
  );
}
