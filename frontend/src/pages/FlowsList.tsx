import { useState } from "react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { keys } from "../lib/queryKeys";
import { api, errorMessage } from "../lib/api";
import { api13, type TemplateSummary } from "../lib/contract13";
import { starterDefinition } from "../lib/flowConvert";
import { relTime, absTime } from "../lib/format";
import { navigate, paths, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import type { FlowSummary } from "../types";
import { useToast } from "../components/Toasts";
import { Empty, ErrorState, Modal, Spinner } from "../components/ui";

function NewFlowModal({ onClose }: { onClose: () => void }) {
  const { workspace } = useSession();
  const qc = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  // The templates gallery (issue 13's GET /v1/templates); a server without it offers the blank flow only.
  const templates = useQuery({ queryKey: keys.templates, queryFn: api13.templates, retry: false, staleTime: Infinity });
  const [template, setTemplate] = useState<TemplateSummary | null>(null);
  const pick = (t: TemplateSummary | null) => {
    setTemplate(t);
    if (t && (!name.trim() || name === template?.name)) setName(t.name);
    if (t && (!description.trim() || description === template?.description)) setDescription(t.description);
  };
  const submit = async () => {
    if (!name.trim()) return;
    setBusy(true);
    try {
      const definition = template ? (await api13.template(template.id)).definition : starterDefinition();
      const f = await api.createFlow(workspace.id, {
        name: name.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        definition,
      });
      void qc.invalidateQueries({ queryKey: keys.flows(workspace.id) });
      toast.success(`Flow “${f.name}” created`);
      navigate(paths.flow(workspace.id, f.id));
    } catch (e) {
      toast.error("Could not create the flow", errorMessage(e));
      setBusy(false);
    }
  };
  return (
    <Modal
      title="New flow"
      onClose={onClose}
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button className="btn btn-primary" disabled={!name.trim() || busy} onClick={() => void submit()}>Create and open</button>
        </>
      }
    >
      {!!templates.data?.items.length && (
        <div className="template-grid" data-testid="template-gallery">
          <button type="button" className={`template-card ${template ? "" : "on"}`} onClick={() => pick(null)} data-testid="template-blank">
            <span className="strong">Blank</span>
            <span className="muted small">An input wired to an output.</span>
          </button>
          {templates.data.items.map((t) => (
            <button type="button" key={t.id} className={`template-card ${template?.id === t.id ? "on" : ""}`} onClick={() => pick(t)} data-testid="template-card" data-template-id={t.id}>
              <span className="strong">{t.name}</span>
              <span className="muted small">{t.description}</span>
              <span className="template-kinds">{t.node_types.map((k) => <span key={k} className="pill">{k}</span>)}</span>
            </button>
          ))}
        </div>
      )}
      <form onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <div className="field">
          <label className="field-label" htmlFor="flow-name">Name<span className="req">*</span></label>
          <input id="flow-name" className="input" autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Summarise support tickets" />
        </div>
        <div className="field">
          <label className="field-label" htmlFor="flow-desc">Description</label>
          <textarea id="flow-desc" className="input" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="What this flow does, for your teammates" />
        </div>
        <div className="field-help">{template ? `The flow starts as the “${template.name}” template.` : "The flow starts with an input node wired to an output node. Add steps in the editor."}</div>
      </form>
    </Modal>
  );
}

export function FlowsList() {
  const { workspace } = useSession();
  const toast = useToast();
  const editable = canEdit(workspace.role);
  const qc = useQueryClient();
  const [filter, setFilter] = useState("");
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<FlowSummary | null>(null);
  useTitle(`Flows · ${workspace.name}`);

  // Pages of flows (first page, then "Load more"); a delete invalidates the list, which refetches what is loaded.
  const flows = useInfiniteQuery({
    queryKey: keys.flows(workspace.id),
    queryFn: ({ pageParam }) => api.listFlows(workspace.id, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
    staleTime: 0, // flows change in the editor too: each visit refetches (the cached list shows meanwhile)
  });
  const items = flows.data ? flows.data.pages.flatMap((p) => p.items) : null;
  const error = flows.error && !flows.isFetchNextPageError ? errorMessage(flows.error) : null;
  const cursor = flows.hasNextPage;
  const load = () => void flows.refetch();

  const more = async () => {
    const r = await flows.fetchNextPage();
    if (r.error) toast.error("Could not load more flows", errorMessage(r.error));
  };

  const remove = useMutation({
    mutationFn: (f: FlowSummary) => api.deleteFlow(workspace.id, f.id),
    onSuccess: (_, f) => {
      toast.success(`Deleted “${f.name}”`);
      setDeleting(null);
      void qc.invalidateQueries({ queryKey: keys.flows(workspace.id) });
      void qc.invalidateQueries({ queryKey: keys.flow(workspace.id, f.id) });
    },
    onError: (e) => toast.error("Could not delete the flow", errorMessage(e)),
  });

  const shown = (items ?? []).filter(
    (f) => !filter || f.name.toLowerCase().includes(filter.toLowerCase()) || (f.description ?? "").toLowerCase().includes(filter.toLowerCase()),
  );

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Flows {items && <span className="count">{items.length}{cursor ? "+" : ""}</span>}</h1>
        </div>
        <div className="row gap">
          <input className="input search" placeholder="Filter by name…" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter flows" />
          {editable && (
            <button className="btn btn-primary" onClick={() => setCreating(true)} data-testid="new-flow">+ New flow</button>
          )}
        </div>
      </div>
      {!editable && <div className="callout callout-info">You are a <b>viewer</b> in this workspace: you can open flows and runs, but not change or run them.</div>}
      <div className="card">
        {error ? (
          <ErrorState title="Could not load flows" message={error} onRetry={() => void load()} />
        ) : items === null ? (
          <Spinner label="Loading flows…" />
        ) : items.length === 0 ? (
          <Empty title="No flows yet" action={editable && <button className="btn btn-primary" onClick={() => setCreating(true)}>Create your first flow</button>}>
            A flow is a graph of steps — HTTP calls, LLM prompts, conditions — that Nexod compiles to a Step Functions state machine.
          </Empty>
        ) : shown.length === 0 ? (
          <Empty title="No flow matches the filter" />
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Live version</th>
                <th>Latest</th>
                <th>Updated</th>
                <th className="right">Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((f) => (
                <tr key={f.id} className="clickable" onClick={() => navigate(paths.flow(workspace.id, f.id))} data-testid="flow-row">
                  <td>
                    <a className="link strong" href={`#${paths.flow(workspace.id, f.id)}`} onClick={(e) => e.stopPropagation()}>{f.name}</a>
                    {f.description && <div className="muted small ellipsis">{f.description}</div>}
                  </td>
                  <td>{f.live_version ? <span className="pill pill-live">v{f.live_version} live</span> : <span className="muted">Not published</span>}</td>
                  <td className="mono">{f.latest_version ? `v${f.latest_version}` : "—"}</td>
                  <td title={absTime(f.updated_at)}>{relTime(f.updated_at)}</td>
                  <td className="right nowrap" onClick={(e) => e.stopPropagation()}>
                    <a className="btn btn-sm btn-ghost" href={`#${paths.runs(workspace.id, { flow: f.id })}`}>Runs</a>
                    {editable && <button className="btn btn-sm btn-ghost danger" onClick={() => setDeleting(f)}>Delete</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {cursor && (
          <div className="table-foot">
            <button className="btn btn-sm" onClick={() => void more()}>Load more</button>
          </div>
        )}
      </div>
      {creating && <NewFlowModal onClose={() => setCreating(false)} />}
      {deleting && (
        <Modal
          title="Delete flow"
          onClose={() => setDeleting(null)}
          footer={
            <>
              <button className="btn" onClick={() => setDeleting(null)}>Cancel</button>
              <button className="btn btn-danger" disabled={remove.isPending} onClick={() => remove.mutate(deleting)}>Delete flow</button>
            </>
          }
        >
          <p>Delete <b>{deleting.name}</b> and its versions? Runs already made stay in the run history.</p>
        </Modal>
      )}
    </div>
  );
}
