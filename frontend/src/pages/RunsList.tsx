import { useCallback, useEffect, useRef, useState } from "react";
import { api, errorMessage } from "../lib/api";
import { absTime, duration, num, relTime, usd } from "../lib/format";
import { navigate, paths, useTitle } from "../lib/router";
import { useSession } from "../session";
import { applyListEvents, followEvents, latestCursor } from "../lib/events";
import { type FlowSummary, type Run, type RunEvent } from "../types";
import { useToast } from "../components/Toasts";
import { runName, type Run13 } from "../lib/contract13";
import { Empty, ErrorState, Spinner, StatusBadge } from "../components/ui";

const TERMINAL_EVENT = /^run\.(succeeded|failed|cancelled)$/;
const STATUSES = ["", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];

export function RunsList({ query }: { query: URLSearchParams }) {
  const { workspace } = useSession();
  const toast = useToast();
  const status = query.get("status") ?? "";
  const flow = query.get("flow") ?? "";
  const [items, setItems] = useState<Run[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [flows, setFlows] = useState<FlowSummary[]>([]);
  useTitle(`Runs · ${workspace.name}`);

  const setFilter = (patch: Record<string, string>) => {
    const q: Record<string, string> = { status, flow, ...patch };
    for (const k of Object.keys(q)) if (!q[k]) delete q[k];
    navigate(paths.runs(workspace.id, q), true);
  };

  const load = useCallback(async () => {
    try {
      const page = await api.listRuns(workspace.id, { status, flow });
      setItems((prev) => {
        // Keep pages loaded with "Load more" while refreshing the first page.
        if (!prev || prev.length <= page.items.length) return page.items;
        const fresh = new Map(page.items.map((r) => [r.id, r]));
        const rest = prev.filter((r) => !fresh.has(r.id));
        return [...page.items, ...rest];
      });
      setCursor((c) => c ?? page.next_cursor ?? null);
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [workspace.id, status, flow]);

  useEffect(() => {
    setItems(null);
    setCursor(null);
    void load();
  }, [load]);

  useEffect(() => {
    api.listFlows(workspace.id).then((p) => setFlows(p.items), () => undefined);
  }, [workspace.id]);

  // Live from the workspace's event stream: statuses change in place; a run not listed yet (a new one) reloads
  // the first page, at most every half second.
  const listed = useRef<Run[] | null>(null);
  listed.current = items;
  useEffect(() => {
    const stop = new AbortController();
    const path = `/v1/workspaces/${encodeURIComponent(workspace.id)}/events`;
    let reload: number | undefined;
    const onEvents = (events: RunEvent[]) => {
      const runs = listed.current;
      if (!runs) return;
      const applied = applyListEvents(runs, events);
      listed.current = applied.runs;
      setItems(applied.runs);
      const finished = events.some((e) => TERMINAL_EVENT.test(e.type));
      if ((applied.unknown || finished) && reload === undefined) {
        reload = window.setTimeout(() => {
          reload = undefined;
          void load(); // new runs, and the final duration and cost of finished ones
        }, 500);
      }
    };
    latestCursor(path)
      .then((cursor) => {
        void load();
        return followEvents(path, cursor, onEvents, stop.signal);
      })
      .catch((e) => setError(errorMessage(e)));
    return () => {
      stop.abort();
      window.clearTimeout(reload);
    };
  }, [workspace.id, load]);

  const more = async () => {
    try {
      const page = await api.listRuns(workspace.id, { status, flow, cursor });
      setItems((i) => [...(i ?? []), ...page.items]);
      setCursor(page.next_cursor ?? null);
    } catch (e) {
      toast.error("Could not load more runs", errorMessage(e));
    }
  };

  const flowName = flows.find((f) => f.id === flow)?.name;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Runs{flowName ? <span className="h1-sub"> · {flowName}</span> : null}</h1>
        </div>
        <div className="row gap">
          <select className="input" value={flow} onChange={(e) => setFilter({ flow: e.target.value })} aria-label="Filter by flow">
            <option value="">All flows</option>
            {flows.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
            {flow && !flowName && <option value={flow}>{flow}</option>}
          </select>
          <button className="btn" onClick={() => void load()}>Refresh</button>
        </div>
      </div>
      <div className="filters" role="tablist" aria-label="Filter by status">
        {STATUSES.map((s) => (
          <button key={s || "all"} role="tab" aria-selected={status === s} className={`chip-filter ${status === s ? "on" : ""}`} onClick={() => setFilter({ status: s })} data-testid={`status-filter-${s || "all"}`}>
            {s ? <><span className={`dot-sm status-${s.toLowerCase()}`} />{s.charAt(0) + s.slice(1).toLowerCase()}</> : "All"}
          </button>
        ))}
      </div>
      <div className="card">
        {error && !items ? (
          <ErrorState title="Could not load runs" message={error} onRetry={() => void load()} />
        ) : items === null ? (
          <Spinner label="Loading runs…" />
        ) : items.length === 0 ? (
          <Empty title={status || flow ? "No runs match these filters" : "No runs yet"}>
            {status || flow ? "Try another status or flow." : "Open a flow and press Run to start one. Runs appear here live."}
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
        {cursor && items && items.length > 0 && (
          <div className="table-foot"><button className="btn btn-sm" onClick={() => void more()}>Load more</button></div>
        )}
      </div>
    </div>
  );
}
