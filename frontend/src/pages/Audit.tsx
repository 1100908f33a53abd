// The workspace's audit log (admins): who did what, newest first, filtered by action family, page by page.
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, errorMessage } from "../lib/api";
import { AUDIT_FAMILIES, summarizeAudit } from "../lib/audit";
import { absTime, relTime } from "../lib/format";
import { keys } from "../lib/queryKeys";
import { useTitle } from "../lib/router";
import { useSession } from "../session";
import type { AuditEntry } from "../types";
import { Empty, ErrorState, Spinner } from "../components/ui";

const PAGE = 50;

export function Audit() {
  const { workspace } = useSession();
  const admin = workspace.role === "admin";
  const [action, setAction] = useState("");
  useTitle(`Audit log · ${workspace.name}`);

  // Pages of entries, newest first ("Load older entries" fetches the next); each visit reads the log again.
  const log = useInfiniteQuery({
    queryKey: keys.audit(workspace.id, action),
    queryFn: ({ pageParam }) => api.listAudit(workspace.id, { action: action || null, cursor: pageParam, limit: PAGE }),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
    enabled: admin,
    staleTime: 0,
  });
  const items: AuditEntry[] | null = log.data ? log.data.pages.flatMap((p) => p.items) : null;
  const error = log.error ? errorMessage(log.error) : null;
  const cursor = log.hasNextPage;
  const loadingMore = log.isFetchingNextPage;
  const load = () => void log.refetch();
  const more = () => void log.fetchNextPage();

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Audit log</h1>
        </div>
        {admin && (
          <div className="row gap">
            <label className="field-label" htmlFor="audit-action">Actions</label>
            <select id="audit-action" className="input input-sm" data-testid="audit-action" value={action} onChange={(e) => setAction(e.target.value)}>
              {AUDIT_FAMILIES.map((f) => <option key={f.value} value={f.value}>{f.label}</option>)}
            </select>
          </div>
        )}
      </div>
      {!admin ? (
        <div className="callout callout-info">Only admins read the audit log; you are a <b>{workspace.role}</b> here.</div>
      ) : (
        <div className="card">
          {error && items === null ? (
            <ErrorState title="Could not load the audit log" message={error} onRetry={load} />
          ) : items === null ? (
            <Spinner label="Loading the audit log…" />
          ) : items.length === 0 ? (
            <Empty title="Nothing recorded">{action ? "No entry of this kind yet." : "Changes to this workspace will be listed here."}</Empty>
          ) : (
            <>
              <table className="table">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Actor</th>
                    <th>Action</th>
                    <th>Target</th>
                    <th>Change</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((e) => (
                    <tr key={e.id} data-testid="audit-row" data-action={e.action} data-id={e.id}>
                      <td title={absTime(e.created_at)} className="nowrap">{relTime(e.created_at)}</td>
                      <td className="mono">{e.actor}</td>
                      <td><code>{e.action}</code></td>
                      <td><span className="muted small">{e.target_type}</span> <span className="mono">{e.target_id}</span></td>
                      <td data-testid="audit-summary">{summarizeAudit(e)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {error && <div className="callout callout-error">{error}</div>}
              {cursor && (
                <div className="load-more">
                  <button className="btn" data-testid="audit-more" disabled={loadingMore} onClick={more}>
                    {loadingMore ? "Loading…" : "Load older entries"}
                  </button>
                </div>
              )}
            </>
          )}
        </div>
      )}
    </div>
  );
}
