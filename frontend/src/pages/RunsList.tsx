import { useInfiniteQuery, useQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import { api, errorMessage } from "../lib/api";
import { absTime, duration, num, relTime, usd } from "../lib/format";
import { navigate, paths, useTitle } from "../lib/router";
import { useSession } from "../session";
import { applyListEvents, followEvents, latestCursor } from "../lib/events";
import { keys } from "../lib/queryKeys";
import { type FlowSummary, type RunEvent, type RunPage } from "../types";
import { useToast } from "../components/Toasts";
import { runName, type Run13 } from "../lib/contract13";
import { Empty, ErrorState, Spinner, StatusBadge } from "../components/ui";

const TERMINAL_EVENT = /^run\.(succeeded|failed|cancelled)$/;
const STATUSES = ["", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];

export function RunsList({ query }: { query: URLSearchParams }) {
  const { workspace } = useSession();
  const toast = useToast();
  const qc = useQueryClient();
  const status = query.get("status") ?? "";
  const flow = query.get("flow") ?? "";
  // Test runs of drafts are never in the runs list; `?test=1` lists them instead (the API's `test=true`).
  const test = query.get("test") === "1";
  const filter = useMemo(() => ({ status, flow, test }), [status, flow, test]);
  useTitle(`Runs · ${workspace.name}`);

  const setFilter = (patch: Record<string, string>) => {
    const q: Record<string, string> = { status, flow, test: test ? "1" : "", ...patch };
    for (const k of Object.keys(q)) if (!q[k]) delete q[k];
    navigate(paths.runs(workspace.id, q), true);
  };

  // Pages of runs (first page, then "Load more"); a refetch reloads every page loaded, so none drops out.
  const runsKey = keys.runs(workspace.id, filter);
  const runs = useInfiniteQuery({
    queryKey: runsKey,
    queryFn: ({ pageParam }) =>
      api.listRuns(workspace.id, { status, flow, cursor: pageParam, test: test ? "true" : undefined }),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
    staleTime: 0, // runs start elsewhere (the editor, triggers): each visit refetches
  });
  const items = useMemo(() => runs.data?.pages.flatMap((p) => p.items) ?? null, [runs.data]);
  const error = runs.error && !items ? errorMessage(runs.error) : null;
  const flows = useQuery({ queryKey: keys.flowOptions(workspace.id), queryFn: () => api.listFlows(workspace.id) });
  const flowList: FlowSummary[] = flows.data?.items ?? [];

  // Live from the workspace's event stream: statuses change in place (in the query cache); a run not listed yet
  // (a new one) or one that finished refetches the list, at most every half second.
  useEffect(() => {
    const stop = new AbortController();
    const path = `/v1/workspaces/${encodeURIComponent(workspace.id)}/events`;
    let reload: number | undefined;
    const onEvents = (events: RunEvent[]) => {
      const data = qc.getQueryData<InfiniteData<RunPage, string | null>>(runsKey);
      if (!data) return;
      let unknown = false;
      const pages = data.pages.map((page) => {
        const applied = applyListEvents(page.items, events);
        return applied.runs === page.items ? page : { ...page, items: applied.runs };
      });
      // A run is unknown when no loaded page lists it.
      const listed = new Set(pages.flatMap((p) => p.items.map((r) => r.id)));
      unknown = events.some((e) => /^run\./.test(e.type) && !!e.run_id && !listed.has(e.run_id));
      qc.setQueryData<InfiniteData<RunPage, string | null>>(runsKey, { ...data, pages });
      const finished = events.some((e) => TERMINAL_EVENT.test(e.type));
      if ((unknown || finished) && reload === undefined) {
        reload = window.setTimeout(() => {
          reload = undefined;
          void qc.invalidateQueries({ queryKey: runsKey }); // new runs, and the final duration and cost of finished ones
        }, 500);
      }
    };
    latestCursor(path)
      .then((cursor) => {
        void qc.invalidateQueries({ queryKey: runsKey });
        return followEvents(path, cursor, onEvents, stop.signal);
      })
      .catch(() => undefined); // the list itself still loads; its own error shows
    return () => {
      stop.abort();
      window.clearTimeout(reload);
    };
  }, [workspace.id, qc, JSON.stringify(runsKey)]); // eslint-disable-line react-hooks/exhaustive-deps

  const more = async () => {
    const r = await runs.fetchNextPage();
    if (r.error) toast.error("Could not load more runs", errorMessage(r.error));
  };

  const flowName = flowList.find((f) => f.id === flow)?.name;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>{test ? "Test runs" : "Runs"}{flowName ? <span className="h1-sub"> · {flowName}</span> : null}</h1>
        </div>
        <div className="row gap">
          <select className="input" value={flow} onChange={(e) => setFilter({ flow: e.target.value })} aria-label="Filter by flow">
            <option value="">All flows</option>
            {flowList.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
            {flow && !flowName && <option value={flow}>{flow}</option>}
          </select>
          <button className="btn" onClick={() => void runs.refetch()}>Refresh</button>
        </div>
      </div>
      <div className="filters" role="tablist" aria-label="Filter by status">
        {STATUSES.map((s) => (
          <button key={s || "all"} role="tab" aria-selected={status === s} className={`chip-filter ${status === s ? "on" : ""}`} onClick={() => setFilter({ status: s })} data-testid={`status-filter-${s || "all"}`}>
            {s ? <><span className={`dot-sm status-${s.toLowerCase()}`} />{s.charAt(0) + s.slice(1).toLowerCase()}</> : "All"}
          </button>
        ))}
        <span className="spacer" />
        <label className="row gap small" title="Test runs of drafts (from the editor) are never mixed into this list">
          <input type="checkbox" checked={test} onChange={(e) => setFilter({ test: e.target.checked ? "1" : "" })} data-testid="show-test-runs" />
          Test runs instead
        </label>
      </div>
      <div className="card">
        {error && !items ? (
          <ErrorState title="Could not load runs" message={error} onRetry={() => void runs.refetch()} />
        ) : items === null ? (
          <Spinner label="Loading runs…" />
        ) : items.length === 0 ? (
          <Empty title={test ? "No test runs" : status || flow ? "No runs match these filters" : "No runs yet"}>
            {test ? "Test-run a draft from the flow editor; its test runs are listed here." : status || flow ? "Try another status or flow." : "Open a flow and press Run to start one. Runs appear here live."}
          </Empty>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Run</th>
                <th>Flow</th>
                <th>Version</th>
                <th>Started</th>
                <th className="right">Duration</th>
                <th className="right">Tokens</th>
                <th className="right">Cost</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} className="clickable" onClick={() => navigate(paths.run(workspace.id, r.id))} data-testid="run-row" data-run-id={r.id}>
                  <td><StatusBadge status={r.status} /></td>
                  <td><a className="link mono" href={`#${paths.run(workspace.id, r.id)}`} onClick={(e) => e.stopPropagation()} title={r.id}>{(r as Run13).number != null ? runName(r as Run13) : r.id}</a></td>
                  <td>{r.flow_name ?? <span className="mono">{r.flow_id}</span>}</td>
                  <td className="mono">{r.version ? `v${r.version}` : "—"}</td>
                  <td title={absTime(r.started_at ?? r.created_at)}>{relTime(r.started_at ?? r.created_at)}</td>
                  <td className="right mono">{duration(r.duration_ms)}</td>
                  <td className="right mono">{num(r.tokens)}</td>
                  <td className="right mono" title={`LLM ${usd(r.cost.llm)} · compute ${usd(r.cost.compute)} · orchestration ${usd(r.cost.orchestration)}`}>{usd(r.cost.total)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {runs.hasNextPage && items && items.length > 0 && (
          <div className="table-foot"><button className="btn btn-sm" onClick={() => void more()}>Load more</button></div>
        )}
      </div>
    </div>
  );
}
