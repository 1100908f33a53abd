// The workspace's audit log (admins): who did what, newest first, filtered by action family, page by page.
import { useCallback, useEffect, useState } from "react";
import { api, errorMessage } from "../lib/api";
import { AUDIT_FAMILIES, summarizeAudit } from "../lib/audit";
import { absTime, relTime } from "../lib/format";
import { useTitle } from "../lib/router";
import { useSession } from "../session";
import type { AuditEntry } from "../types";
import { Empty, ErrorState, Spinner } from "../components/ui";

const PAGE = 50;

export function Audit() {
  const { workspace } = useSession();
  const admin = workspace.role === "admin";
  const [action, setAction] = useState("");
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  useTitle(`Audit log · ${workspace.name}`);

  const load = useCallback(async () => {
    setItems(null);
    setError(null);
    try {
      const page = await api.listAudit(workspace.id, { action: action || null, limit: PAGE });
      setItems(page.items);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [workspace.id, action]);
  useEffect(() => {
    if (admin) void load();
  }, [load, admin]);

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api.listAudit(workspace.id, { action: action || null, cursor, limit: PAGE });
      setItems((cur) => [...(cur ?? []), ...page.items]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoadingMore(false);
    }
  };

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
            <ErrorState title="Could not load the audit log" message={error} onRetry={() => void load()} />
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
                  <button className="btn" data-testid="audit-more" disabled={loadingMore} onClick={() => void more()}>
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
