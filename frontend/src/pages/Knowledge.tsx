// Knowledge bases: create one, upload documents (text, markdown, HTML, PDF), search it by meaning.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { api, errorMessage } from "../lib/api";
import { absTime, relTime } from "../lib/format";
import { documentBody, documentType, parseFilter } from "../lib/knowledge";
import { keys } from "../lib/queryKeys";
import { navigate, paths, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import type { KnowledgeBase, KnowledgeDocument, KnowledgeQueryResult } from "../types";
import { useToast } from "../components/Toasts";
import { Empty, ErrorState, JsonView, Modal, Spinner } from "../components/ui";

function CreateModal({ onClose, onCreated }: { onClose: () => void; onCreated: (kb: KnowledgeBase) => void }) {
  const { workspace } = useSession();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [model, setModel] = useState("");
  const [store, setStore] = useState<"pgvector" | "pinecone">("pgvector");
  const [indexHost, setIndexHost] = useState("");
  const [credential, setCredential] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      onCreated(
        await api.createKnowledgeBase(workspace.id, {
          name: name.trim(),
          description,
          embedding_model: model.trim() || null,
          store,
          pinecone: store === "pinecone" ? { index_host: indexHost.trim(), credential: credential.trim() } : null,
        }),
      );
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title="New knowledge base"
      onClose={onClose}
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button className="btn btn-primary" data-testid="create-kb" disabled={!name.trim() || busy} onClick={() => void submit()}>
            Create knowledge base
          </button>
        </>
      }
    >
      <div className="field">
        <label className="field-label" htmlFor="kb-name">Name<span className="req">*</span></label>
        <input id="kb-name" className="input" autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. handbook" />
      </div>
      <div className="field">
        <label className="field-label" htmlFor="kb-desc">Description</label>
        <input id="kb-desc" className="input" value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="field">
        <label className="field-label" htmlFor="kb-model">Embedding model</label>
        <input id="kb-model" className="input mono" value={model} onChange={(e) => setModel(e.target.value)} placeholder="default (wordllama, offline)" />
        <div className="field-help">A LiteLLM embedding model such as openai/text-embedding-3-small uses the workspace's key for its provider.</div>
      </div>
      <div className="field">
        <label className="field-label" htmlFor="kb-store">Vector store</label>
        <select id="kb-store" className="input" value={store} onChange={(e) => setStore(e.target.value as "pgvector" | "pinecone")}>
          <option value="pgvector">pgvector (the Nexod database)</option>
          <option value="pinecone">Pinecone</option>
        </select>
      </div>
      {store === "pinecone" && (
        <>
          <div className="field">
            <label className="field-label" htmlFor="kb-host">Index host<span className="req">*</span></label>
            <input id="kb-host" className="input mono" value={indexHost} onChange={(e) => setIndexHost(e.target.value)} placeholder="https://my-index-abc123.svc.us-east-1.pinecone.io" />
          </div>
          <div className="field">
            <label className="field-label" htmlFor="kb-cred">API key credential<span className="req">*</span></label>
            <input id="kb-cred" className="input mono" value={credential} onChange={(e) => setCredential(e.target.value)} placeholder="an api_key credential's name" />
          </div>
        </>
      )}
      {error && <div className="callout callout-error" data-testid="kb-error">{error}</div>}
    </Modal>
  );
}

function Documents({ kb, editable, onChanged }: { kb: KnowledgeBase; editable: boolean; onChanged: () => void }) {
  const { workspace } = useSession();
  const toast = useToast();
  const docs = useQuery({ queryKey: keys.documents(workspace.id, kb.id), queryFn: () => api.listDocuments(workspace.id, kb.id).then((p) => p.items), staleTime: 0 });
  const items: KnowledgeDocument[] | null = docs.data ?? null;
  const error = docs.error ? errorMessage(docs.error) : null;
  const remove = async (doc: KnowledgeDocument) => {
    try {
      await api.deleteDocument(workspace.id, kb.id, doc.id);
      toast.success(`Deleted ${doc.name}`);
      onChanged();
    } catch (e) {
      toast.error(errorMessage(e));
    }
  };
  if (error) return <ErrorState title="Could not load documents" message={error} />;
  if (!items) return <Spinner label="Loading documents…" />;
  if (!items.length) return <Empty title="No documents yet">Upload text, markdown, HTML or PDF files: they are split into overlapping chunks and embedded.</Empty>;
  return (
    <table className="table" data-testid="kb-documents">
      <thead>
        <tr>
          <th>Document</th>
          <th>Type</th>
          <th>Chunks</th>
          <th>Added</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {items.map((d) => (
          <tr key={d.id} data-testid="kb-document">
            <td>{d.name}</td>
            <td className="mono small">{d.content_type}</td>
            <td>{d.chunks}</td>
            <td title={absTime(d.created_at)}>{relTime(d.created_at)}</td>
            <td className="right">{editable && <button className="btn btn-sm btn-ghost" onClick={() => void remove(d)}>Delete</button>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Upload({ kb, onUploaded }: { kb: KnowledgeBase; onUploaded: () => void }) {
  const { workspace } = useSession();
  const toast = useToast();
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const upload = async (files: FileList | null) => {
    if (!files?.length) return;
    setBusy(true);
    setError(null);
    try {
      for (const file of Array.from(files)) {
        const type = documentType(file.name, file.type);
        if (!type) throw new Error(`${file.name}: only text, markdown, HTML and PDF files can be added`);
        const doc = await api.addDocument(workspace.id, kb.id, documentBody(file.name, type, new Uint8Array(await file.arrayBuffer())));
        toast.success(`${doc.name}: ${doc.chunks} chunk${doc.chunks === 1 ? "" : "s"}`);
      }
      onUploaded();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };
  return (
    <div className="row gap">
      <input ref={input} type="file" multiple accept=".txt,.md,.markdown,.html,.htm,.pdf" data-testid="kb-upload" disabled={busy} onChange={(e) => void upload(e.target.files)} />
      {busy && <Spinner label="Embedding…" />}
      {error && <div className="callout callout-error" data-testid="kb-upload-error">{error}</div>}
    </div>
  );
}

function QueryBox({ kb }: { kb: KnowledgeBase }) {
  const { workspace } = useSession();
  const [text, setText] = useState("");
  const [topK, setTopK] = useState(5);
  const [filterText, setFilterText] = useState("");
  const [result, setResult] = useState<KnowledgeQueryResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { filter, error: filterError } = parseFilter(filterText);
  const search = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await api.queryKnowledgeBase(workspace.id, kb.id, { text, top_k: topK, filter }));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <div className="row gap">
        <input className="input" data-testid="kb-query" placeholder="Ask in your own words…" value={text} onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && text.trim() && !filterError && void search()} />
        <label className="row gap small">top
          <input className="input" type="number" min={1} max={50} value={topK} style={{ width: 64 }} onChange={(e) => setTopK(Math.max(1, Math.min(50, Number(e.target.value) || 1)))} />
        </label>
        <button className="btn btn-primary" data-testid="kb-search" disabled={!text.trim() || busy || !!filterError} onClick={() => void search()}>Search</button>
      </div>
      <div className="field">
        <input className="input mono small" data-testid="kb-filter" placeholder='metadata filter (JSON), e.g. {"topic": "pets"}' value={filterText} onChange={(e) => setFilterText(e.target.value)} />
        {filterError && <div className="field-error">{filterError}</div>}
      </div>
      {error && <div className="callout callout-error" data-testid="kb-query-error">{error}</div>}
      {result && (
        <div data-testid="kb-results">
          <div className="muted small">
            {result.matches.length} match{result.matches.length === 1 ? "" : "es"} · {result.model} · {result.tokens} tokens
            {result.cost_usd ? ` · $${result.cost_usd.toFixed(6)}` : ""}
          </div>
          {result.matches.map((m) => (
            <div key={m.id} className="card kb-match" data-testid="kb-match">
              <div className="row gap">
                <b className="mono">{m.score.toFixed(3)}</b>
                <span className="muted small mono">{m.id}</span>
              </div>
              <p className="kb-text">{m.text}</p>
              <JsonView value={m.metadata} maxHeight={120} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export function Knowledge({ kbId }: { kbId?: string }) {
  const { workspace } = useSession();
  const editable = canEdit(workspace.role);
  const qc = useQueryClient();
  const [creating, setCreating] = useState(false);
  useTitle(`Knowledge · ${workspace.name}`);
  const bases = useQuery({ queryKey: keys.knowledgeBases(workspace.id), queryFn: () => api.listKnowledgeBases(workspace.id).then((p) => p.items), staleTime: 0 });
  const items: KnowledgeBase[] | null = bases.data ?? null;
  const error = bases.error ? errorMessage(bases.error) : null;
  const load = () => void bases.refetch();
  /** Documents added or deleted: the knowledge bases' counts and that base's documents change. */
  const changed = (kb?: string) => {
    void qc.invalidateQueries({ queryKey: keys.knowledgeBases(workspace.id) });
    if (kb) void qc.invalidateQueries({ queryKey: keys.documents(workspace.id, kb) });
  };
  const selected = items?.find((kb) => kb.id === kbId) ?? null;
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Knowledge bases {items && <span className="count">{items.length}</span>}</h1>
        </div>
        {editable && <button className="btn btn-primary" data-testid="new-kb" onClick={() => setCreating(true)}>+ New knowledge base</button>}
      </div>
      {!editable && <div className="callout callout-info">You are a <b>viewer</b> in this workspace: you can search knowledge bases, not add documents.</div>}
      <div className="card">
        {error && !items ? (
          <ErrorState title="Could not load knowledge bases" message={error} onRetry={load} />
        ) : items === null ? (
          <Spinner label="Loading knowledge bases…" />
        ) : items.length === 0 ? (
          <Empty title="No knowledge bases yet" action={editable && <button className="btn btn-primary" onClick={() => setCreating(true)}>Create the first one</button>}>
            Documents your flows search by meaning with the rag_search node, and write with rag_upsert.
          </Empty>
        ) : (
          <table className="table" data-testid="kb-list">
            <thead>
              <tr>
                <th>Name</th>
                <th>Store</th>
                <th>Embedding model</th>
                <th>Documents</th>
                <th>Chunks</th>
              </tr>
            </thead>
            <tbody>
              {items.map((kb) => (
                <tr key={kb.id} className={kb.id === kbId ? "selected clickable" : "clickable"} onClick={() => navigate(paths.knowledge(workspace.id, kb.id))}>
                  <td><a className="link" href={`#${paths.knowledge(workspace.id, kb.id)}`}>{kb.name}</a><div className="muted small">{kb.description}</div></td>
                  <td>{kb.store}</td>
                  <td className="mono small">{kb.embedding_model} · {kb.dimensions}d</td>
                  <td>{kb.documents}</td>
                  <td>{kb.chunks}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {selected && (
        <>
          <div className="card kb-section" data-testid="kb-detail">
            <div className="row gap spread">
              <h2>{selected.name}</h2>
              {editable && <Upload kb={selected} onUploaded={() => changed(selected.id)} />}
            </div>
            <Documents kb={selected} editable={editable} onChanged={() => changed(selected.id)} />
          </div>
          <div className="card kb-section">
            <h2>Search</h2>
            <QueryBox key={selected.id} kb={selected} />
          </div>
        </>
      )}
      {creating && (
        <CreateModal
          onClose={() => setCreating(false)}
          onCreated={(kb) => {
            setCreating(false);
            changed();
            navigate(paths.knowledge(workspace.id, kb.id));
          }}
        />
      )}
    </div>
  );
}
