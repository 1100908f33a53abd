// The workspace's HTTP allow-list: private hosts that http nodes and agent tools may call (admins edit).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, errorMessage } from "../lib/api";
import { parseHosts, placeError } from "../lib/credentials";
import { keys } from "../lib/queryKeys";
import { useTitle } from "../lib/router";
import { useSession } from "../session";
import { useToast } from "../components/Toasts";
import { ErrorState, Spinner } from "../components/ui";

export function AllowedHosts() {
  const { workspace } = useSession();
  const toast = useToast();
  const admin = workspace.role === "admin";
  const queryClient = useQueryClient();
  // The workspace (and its allow-list) through TanStack Query: cached per workspace, retried on network errors.
  const query = useQuery({ queryKey: keys.workspace(workspace.id), queryFn: () => api.getWorkspace(workspace.id) });
  const hosts = query.data?.allowed_hosts ?? null;
  const error = query.error ? errorMessage(query.error) : null;
  const load = () => void query.refetch();
  const [text, setText] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useTitle(`HTTP allow-list · ${workspace.name}`);
  // The text box starts from the saved list each time a new answer arrives.
  useEffect(() => {
    if (query.data) setText(query.data.allowed_hosts.join("\n"));
  }, [query.data]);

  const parsed = parseHosts(text);
  const changed = hosts !== null && JSON.stringify([...parsed].sort()) !== JSON.stringify([...hosts].sort());

  const save = async () => {
    setBusy(true);
    setFieldError(null);
    try {
      const w = await api.setAllowedHosts(workspace.id, parsed);
      queryClient.setQueryData(keys.workspace(workspace.id), w);
      toast.success("Allow-list saved", w.allowed_hosts.length ? `${w.allowed_hosts.length} host${w.allowed_hosts.length === 1 ? "" : "s"}` : "No private host may be called.");
    } catch (e) {
      const p = placeError(e, { allowed_hosts: parsed });
      setFieldError(p.fields.allowed_hosts?.[0] ?? p.other);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>HTTP allow-list</h1>
        </div>
      </div>
      <div className="callout callout-info">
        HTTP nodes and agent tools refuse loopback, link-local (including cloud metadata endpoints), private and unique-local
        addresses, checked after DNS resolution and on every redirect. Hosts listed here may be called anyway.
        {!admin && <> Only admins change this list; you are a <b>{workspace.role}</b>.</>}
      </div>
      <div className="card form-card">
        {error && hosts === null ? (
          <ErrorState title="Could not load the allow-list" message={error} onRetry={() => void load()} />
        ) : hosts === null ? (
          <Spinner label="Loading…" />
        ) : admin ? (
          <>
            <div className="field">
              <label className="field-label" htmlFor="allowed-hosts">Allowed hosts</label>
              <textarea id="allowed-hosts" className={`input mono ${fieldError ? "invalid" : ""}`} rows={8} value={text} spellCheck={false} placeholder={"api.internal\n10.0.0.5:8443"} onChange={(e) => setText(e.target.value)} />
              {fieldError ? <div className="field-error">{fieldError}</div> : <div className="field-help">One host or host:port per line. A host without a port allows every port.</div>}
            </div>
            <div className="row gap">
              <button className="btn btn-primary" data-testid="save-allowed-hosts" disabled={!changed || busy} onClick={() => void save()}>Save</button>
              {changed && <button className="btn btn-ghost" onClick={() => setText(hosts.join("\n"))}>Discard changes</button>}
            </div>
          </>
        ) : hosts.length === 0 ? (
          <div className="muted">No host is allowed: no node may call a private address.</div>
        ) : (
          <ul className="host-list" data-testid="allowed-hosts-list">
            {hosts.map((h) => <li key={h} className="mono">{h}</li>)}
          </ul>
        )}
      </div>
    </div>
  );
}
