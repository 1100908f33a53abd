// Credentials of a workspace: metadata only. Values are write-only: typed into password inputs, sent once,
// never fetched, never prefilled (the API has no way to return one).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { api, ApiError, errorMessage } from "../lib/api";
import { blockingFlows, cleanValue, isPairsType, isSecretField, pairsToValue, placeError, secretSnippets, type Pair, type PlacedErrors } from "../lib/credentials";
import { absTime, relTime } from "../lib/format";
import { keys } from "../lib/queryKeys";
import { paths, useTitle } from "../lib/router";
import { canEdit, useSession } from "../session";
import type { Credential, CredentialType } from "../types";
import { SchemaForm } from "../components/SchemaForm";
import { useToast } from "../components/Toasts";
import { Empty, ErrorState, Modal, Spinner } from "../components/ui";

const NO_ERRORS: PlacedErrors = { fields: {}, value: {}, other: null };

function FieldErrors({ messages }: { messages?: string[] }) {
  return <>{messages?.map((m, i) => <div key={i} className="field-error">{m}</div>)}</>;
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      className="btn btn-sm btn-ghost"
      onClick={() =>
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          window.setTimeout(() => setCopied(false), 1200);
        })
      }
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

/** Rows of key/value inputs for a type without declared fields (generic); values are password inputs. */
function PairsEditor({ pairs, onChange, errors }: { pairs: Pair[]; onChange: (p: Pair[]) => void; errors: Record<string, string[]> }) {
  const set = (i: number, patch: Partial<Pair>) => onChange(pairs.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  return (
    <div className="field">
      <div className="field-label">Key/value pairs<span className="req">*</span></div>
      {pairs.map((p, i) => (
        <div key={i}>
          <div className="row gap pair-row">
            <input className="input mono" aria-label={`Key ${i + 1}`} placeholder="key" value={p.key} onChange={(e) => set(i, { key: e.target.value })} />
            <input className="input mono" aria-label={`Value ${i + 1}`} type="password" autoComplete="new-password" placeholder="value" value={p.value} onChange={(e) => set(i, { value: e.target.value })} />
            <button className="icon-btn" aria-label={`Remove pair ${i + 1}`} onClick={() => onChange(pairs.filter((_, j) => j !== i))} disabled={pairs.length === 1}>×</button>
          </div>
          <FieldErrors messages={errors[p.key.trim()]} />
        </div>
      ))}
      <button className="btn btn-sm" onClick={() => onChange([...pairs, { key: "", value: "" }])}>+ Add pair</button>
    </div>
  );
}

/** The form of a credential's value, generated from its type's value schema. Starts empty, always. */
function ValueForm({
  type,
  idPrefix,
  onValue,
  errors,
}: {
  type: CredentialType;
  idPrefix: string;
  onValue: (value: Record<string, unknown>) => void;
  errors: Record<string, string[]>;
}) {
  const [config, setConfig] = useState<Record<string, unknown>>({});
  const [pairs, setPairs] = useState<Pair[]>([{ key: "", value: "" }]);
  if (isPairsType(type))
    return (
      <PairsEditor
        pairs={pairs}
        errors={errors}
        onChange={(p) => {
          setPairs(p);
          onValue(pairsToValue(p));
        }}
      />
    );
  return (
    <SchemaForm
      schema={type.value_schema}
      templated={[]}
      config={config}
      readOnly={false}
      formOnly
      idPrefix={idPrefix}
      isSecret={(f) => isSecretField(f, type.value_schema)}
      fieldIssues={errors}
      onChange={(c) => {
        setConfig(c);
        onValue(cleanValue(c));
      }}
    />
  );
}

function CreateModal({ types, onClose, onCreated }: { types: CredentialType[]; onClose: () => void; onCreated: (c: Credential) => void }) {
  const { workspace } = useSession();
  const [name, setName] = useState("");
  const [typeName, setTypeName] = useState(types[0]?.type ?? "");
  const [description, setDescription] = useState("");
  const [value, setValue] = useState<Record<string, unknown>>({});
  const [errors, setErrors] = useState<PlacedErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const type = types.find((t) => t.type === typeName);

  const submit = async () => {
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      onCreated(await api.createCredential(workspace.id, { name: name.trim(), type: typeName, description, value }));
    } catch (e) {
      const placed = placeError(e);
      // A taken name is a 409 without a field: it belongs next to the name.
      if (e instanceof ApiError && e.status === 409 && placed.other) setErrors({ ...NO_ERRORS, fields: { name: [placed.other] } });
      else setErrors(placed);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title="New credential"
      onClose={onClose}
      wide
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button className="btn btn-primary" data-testid="create-credential" disabled={!name.trim() || !type || busy} onClick={() => void submit()}>
            Create credential
          </button>
        </>
      }
    >
      <div className="field">
        <label className="field-label" htmlFor="cred-name">Name<span className="req">*</span></label>
        <input id="cred-name" className="input mono" autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. OPENAI or billing-api" />
        <FieldErrors messages={errors.fields.name} />
        <div className="field-help">Letters, digits, _ and -, starting with a letter. Flows refer to it as {"{{ secrets.NAME }}"}.</div>
      </div>
      <div className="field">
        <label className="field-label" htmlFor="cred-type">Type<span className="req">*</span></label>
        <select id="cred-type" className="input" value={typeName} onChange={(e) => { setTypeName(e.target.value); setValue({}); setErrors(NO_ERRORS); }}>
          {types.map((t) => <option key={t.type} value={t.type}>{t.title}</option>)}
        </select>
        <FieldErrors messages={errors.fields.type} />
        {type && <div className="field-help">{type.description}</div>}
      </div>
      <div className="field">
        <label className="field-label" htmlFor="cred-desc">Description</label>
        <input id="cred-desc" className="input" value={description} onChange={(e) => setDescription(e.target.value)} placeholder="What it is for, who owns it" />
        <FieldErrors messages={errors.fields.description} />
      </div>
      <div className="divider" />
      <div className="field-help">The value is write-only: once saved, nobody can read it back here or from the API.</div>
      {type && <ValueForm key={type.type} type={type} idPrefix="cred-value" onValue={setValue} errors={errors.value} />}
      <FieldErrors messages={errors.fields.value} />
      {errors.other && <div className="callout callout-error">{errors.other}</div>}
    </Modal>
  );
}

function CreatedModal({ credential, type, onClose }: { credential: Credential; type?: CredentialType; onClose: () => void }) {
  const snippets = secretSnippets(credential.name, credential.fields, type);
  return (
    <Modal title={`Credential ${credential.name} created`} onClose={onClose} footer={<button className="btn btn-primary" onClick={onClose}>Done</button>}>
      <p className="muted">Use it in an HTTP node's URL, headers, query or body:</p>
      <ul className="snippets" data-testid="credential-snippets">
        {snippets.map((s) => (
          <li key={s} className="row gap">
            <code className="mono" data-testid="credential-snippet">{s}</code>
            <CopyButton text={s} />
          </li>
        ))}
      </ul>
    </Modal>
  );
}

function RotateModal({ credential, type, onClose, onDone }: { credential: Credential; type?: CredentialType; onClose: () => void; onDone: (c: Credential, rotated: boolean) => void }) {
  const { workspace } = useSession();
  const [value, setValue] = useState<Record<string, unknown>>({});
  const [description, setDescription] = useState(credential.description);
  const [errors, setErrors] = useState<PlacedErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const hasValue = Object.keys(value).length > 0;
  const submit = async () => {
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const body: { description?: string; value?: Record<string, unknown> } = {};
      if (hasValue) body.value = value;
      if (description !== credential.description) body.description = description;
      onDone(await api.rotateCredential(workspace.id, credential.name, body), hasValue);
    } catch (e) {
      setErrors(placeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Rotate ${credential.name}`}
      onClose={onClose}
      wide
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button className="btn btn-primary" data-testid="confirm-rotate" disabled={busy || (!hasValue && description === credential.description)} onClick={() => void submit()}>
            {hasValue ? "Rotate" : "Save description"}
          </button>
        </>
      }
    >
      <div className="field">
        <label className="field-label" htmlFor="rotate-desc">Description</label>
        <input id="rotate-desc" className="input" value={description} onChange={(e) => setDescription(e.target.value)} />
        <FieldErrors messages={errors.fields.description} />
      </div>
      <div className="divider" />
      <div className="field-help">A new value replaces the current one in full; the current one is never shown. Runs started from now on use the new value.</div>
      {type ? <ValueForm type={type} idPrefix="rotate-value" onValue={setValue} errors={errors.value} /> : <div className="callout callout-error">Unknown type {credential.type}.</div>}
      <FieldErrors messages={errors.fields.value} />
      {errors.other && <div className="callout callout-error">{errors.other}</div>}
    </Modal>
  );
}

function DeleteModal({ credential, onClose, onDeleted }: { credential: Credential; onClose: () => void; onDeleted: () => void }) {
  const { workspace } = useSession();
  const toast = useToast();
  const [blocked, setBlocked] = useState<{ flow_id: string; flow_name: string }[] | null>(null);
  const [busy, setBusy] = useState(false);
  const remove = async (force: boolean) => {
    setBusy(true);
    try {
      await api.deleteCredential(workspace.id, credential.name, force);
      onDeleted();
    } catch (e) {
      const flows = blockingFlows(e);
      if (flows) setBlocked(flows);
      else toast.error("Could not delete the credential", errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Delete ${credential.name}?`}
      onClose={onClose}
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          {blocked ? (
            <button className="btn btn-danger" data-testid="force-delete" disabled={busy} onClick={() => void remove(true)}>Delete anyway</button>
          ) : (
            <button className="btn btn-danger" data-testid="confirm-delete" disabled={busy} onClick={() => void remove(false)}>Delete credential</button>
          )}
        </>
      }
    >
      {blocked ? (
        <div className="callout callout-warn" data-testid="delete-blocked">
          The live version of these flows uses <b>{credential.name}</b>; their runs will fail without it:
          <ul>
            {blocked.map((f) => (
              <li key={f.flow_id}><a className="link" href={`#${paths.flow(workspace.id, f.flow_id)}`}>{f.flow_name}</a></li>
            ))}
          </ul>
          Publish versions without it first, or delete it anyway.
        </div>
      ) : (
        <p>Its value is deleted from the vault. Flows that refer to it fail at the node that uses it.</p>
      )}
    </Modal>
  );
}

function Who({ who, at }: { who: string | null; at: string | null }) {
  if (!at) return <span className="muted">—</span>;
  return (
    <span title={absTime(at)}>
      {relTime(at)}
      {who && <div className="muted small mono">{who}</div>}
    </span>
  );
}

export function Credentials() {
  const { workspace } = useSession();
  const toast = useToast();
  const editable = canEdit(workspace.role);
  const qc = useQueryClient();
  // The list (each visit reads it again) and the credential types (fixed by the server: read once).
  const list = useQuery({ queryKey: keys.credentials(workspace.id), queryFn: () => api.listCredentials(workspace.id).then((l) => l.items), staleTime: 0 });
  const kinds = useQuery({ queryKey: keys.credentialTypes, queryFn: () => api.credentialTypes().then((k) => k.items), staleTime: Infinity });
  // The page shows once both answered, as one load.
  const items: Credential[] | null = list.data && kinds.data ? list.data : null;
  const types: CredentialType[] | null = kinds.data ?? null;
  const failed = list.error ?? kinds.error;
  const error = failed ? errorMessage(failed) : null;
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Credential | null>(null);
  const [rotating, setRotating] = useState<Credential | null>(null);
  const [deleting, setDeleting] = useState<Credential | null>(null);
  useTitle(`Credentials · ${workspace.name}`);
  const load = () => {
    if (kinds.error) void kinds.refetch();
    void qc.invalidateQueries({ queryKey: keys.credentials(workspace.id) });
  };

  const typeOf = useMemo(() => new Map((types ?? []).map((t) => [t.type, t])), [types]);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Credentials {items && <span className="count">{items.length}</span>}</h1>
        </div>
        <div className="row gap">
          {editable && types && (
            <button className="btn btn-primary" onClick={() => setCreating(true)} data-testid="new-credential">+ New credential</button>
          )}
        </div>
      </div>
      {!editable && <div className="callout callout-info">You are a <b>viewer</b> in this workspace: you can see which credentials exist, not add, rotate or delete them.</div>}
      <div className="card">
        {error && !items ? (
          <ErrorState title="Could not load credentials" message={error} onRetry={load} />
        ) : items === null ? (
          <Spinner label="Loading credentials…" />
        ) : items.length === 0 ? (
          <Empty title="No credentials yet" action={editable && types && <button className="btn btn-primary" onClick={() => setCreating(true)}>Add your first credential</button>}>
            API keys, tokens and passwords your flows use as {"{{ secrets.NAME }}"}, stored encrypted and never shown again.
          </Empty>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th>Fields set</th>
                <th>Created</th>
                <th>Rotated</th>
                <th>Last used</th>
                <th>Used by</th>
                {editable && <th className="right">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.name} data-testid="credential-row" data-name={c.name}>
                  <td>
                    <span className="strong mono">{c.name}</span>
                    {c.description && <div className="muted small ellipsis">{c.description}</div>}
                  </td>
                  <td>{typeOf.get(c.type)?.title ?? c.type}</td>
                  <td data-testid="credential-fields">{c.fields.map((f) => <span key={f} className="pill mono">{f}</span>)}</td>
                  <td><Who who={c.created_by} at={c.created_at} /></td>
                  <td><Who who={c.rotated_by} at={c.rotated_at} /></td>
                  <td title={absTime(c.last_used_at)}>{c.last_used_at ? relTime(c.last_used_at) : <span className="muted">never</span>}</td>
                  <td>
                    {c.used_by.length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      c.used_by.map((u) => (
                        <div key={u.flow_id}>
                          <a className="link" href={`#${paths.flow(workspace.id, u.flow_id)}`}>{u.flow_name}</a>
                          {u.live && <span className="pill pill-live">live</span>}
                          {u.draft && !u.live && <span className="muted small"> draft</span>}
                        </div>
                      ))
                    )}
                  </td>
                  {editable && (
                    <td className="right nowrap">
                      <button className="btn btn-sm btn-ghost" data-testid="rotate-credential" onClick={() => setRotating(c)}>Rotate</button>
                      <button className="btn btn-sm btn-ghost danger" data-testid="delete-credential" onClick={() => setDeleting(c)}>Delete</button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {creating && types && (
        <CreateModal
          types={types}
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            load();
          }}
        />
      )}
      {created && <CreatedModal credential={created} type={typeOf.get(created.type)} onClose={() => setCreated(null)} />}
      {rotating && (
        <RotateModal
          credential={rotating}
          type={typeOf.get(rotating.type)}
          onClose={() => setRotating(null)}
          onDone={(c, rotated) => {
            setRotating(null);
            toast.success(rotated ? `Rotated ${c.name}` : `Saved ${c.name}`, rotated ? "Runs from now on use the new value." : undefined);
            load();
          }}
        />
      )}
      {deleting && (
        <DeleteModal
          credential={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            toast.success(`Deleted ${deleting.name}`);
            setDeleting(null);
            load();
          }}
        />
      )}
    </div>
  );
}
