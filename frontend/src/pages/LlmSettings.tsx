// The workspace's LLM settings: which models nodes may use, the default model, per-minute limits, and which
// providers have a key (admins edit; others read).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { forgetModelSuggestions } from "../editor/useModelSuggestions";
import { api, errorMessage } from "../lib/api";
import { placeError } from "../lib/credentials";
import { addTags, fromForm, removeTag, toForm, type SettingsForm } from "../lib/llmSettings";
import { keys } from "../lib/queryKeys";
import { paths, useTitle } from "../lib/router";
import type { LlmSettings } from "../types";
import { useSession } from "../session";
import { useToast } from "../components/Toasts";
import { ErrorState, Spinner } from "../components/ui";

function TagInput({ tags, onChange, readOnly }: { tags: string[]; onChange: (t: string[]) => void; readOnly: boolean }) {
  const [text, setText] = useState("");
  const commit = () => {
    if (text.trim()) onChange(addTags(tags, text));
    setText("");
  };
  return (
    <div className="tag-input" data-testid="allowed-models">
      {tags.map((t) => (
        <span key={t} className="tag" data-testid="model-tag">
          <span className="mono">{t}</span>
          {!readOnly && <button type="button" className="tag-x" aria-label={`Remove ${t}`} onClick={() => onChange(removeTag(tags, t))}>×</button>}
        </span>
      ))}
      {!readOnly && (
        <input
          id="llm-allowed"
          className="tag-text mono"
          value={text}
          placeholder={tags.length ? "add a model…" : "e.g. openai/gpt-4o-mini, then Enter"}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" || e.key === ",") {
              e.preventDefault();
              commit();
            } else if (e.key === "Backspace" && !text && tags.length) onChange(tags.slice(0, -1));
          }}
          onBlur={commit}
        />
      )}
      {readOnly && tags.length === 0 && <span className="muted small">Any model: no list restricts them.</span>}
    </div>
  );
}

export function LlmSettingsPage() {
  const { workspace } = useSession();
  const toast = useToast();
  const admin = workspace.role === "admin";
  const qc = useQueryClient();
  const q = useQuery({ queryKey: keys.llmSettings(workspace.id), queryFn: () => api.getLlmSettings(workspace.id), staleTime: 0 });
  const settings: LlmSettings | null = q.data ?? null;
  const error = q.error ? errorMessage(q.error) : null;
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [serverErrors, setServerErrors] = useState<Record<string, string[]>>({});
  const [other, setOther] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useTitle(`LLM settings · ${workspace.name}`);
  const load = () => void q.refetch();
  // The form starts from each answer of the server (the first load, a save).
  useEffect(() => {
    if (q.data) setForm(toForm(q.data));
  }, [q.data]);

  const parsed = form ? fromForm(form) : null;
  const localErrors = parsed && !parsed.ok ? parsed.errors : {};
  const changed = !!(settings && form && JSON.stringify(form) !== JSON.stringify(toForm(settings)));
  const err = (field: string) => localErrors[field] ?? serverErrors[field]?.[0];

  const save = async () => {
    if (!parsed?.ok) return;
    setBusy(true);
    setServerErrors({});
    setOther(null);
    try {
      const s = await api.putLlmSettings(workspace.id, parsed.body);
      qc.setQueryData(keys.llmSettings(workspace.id), s);
      setForm(toForm(s));
      forgetModelSuggestions(workspace.id);
      toast.success("LLM settings saved");
    } catch (e) {
      const p = placeError(e, { allowed_models: parsed.body.allowed_models });
      setServerErrors(p.fields);
      setOther(p.other);
    } finally {
      setBusy(false);
    }
  };

  const readOnly = !admin;
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>LLM settings</h1>
        </div>
      </div>
      {error && !settings ? (
        <ErrorState title="Could not load the LLM settings" message={error} onRetry={load} />
      ) : !settings || !form ? (
        <Spinner label="Loading…" />
      ) : (
        <>
          {!admin && <div className="callout callout-info">Only admins change these settings; you are a <b>{workspace.role}</b> here.</div>}
          <div className="card form-card">
            <h3>Models</h3>
            <div className="field">
              <label className="field-label" htmlFor="llm-allowed">Allowed models</label>
              <TagInput tags={form.allowed} readOnly={readOnly} onChange={(allowed) => setForm({ ...form, allowed })} />
              {err("allowed_models") ? <div className="field-error">{err("allowed_models")}</div> : <div className="field-help">LLM nodes may only use these models (with their fallbacks); empty allows any.</div>}
            </div>
            <div className="field">
              <label className="field-label" htmlFor="llm-default">Default model</label>
              <input id="llm-default" className="input mono" list="llm-default-options" value={form.defaultModel} readOnly={readOnly} placeholder="none" onChange={(e) => setForm({ ...form, defaultModel: e.target.value })} />
              <datalist id="llm-default-options">{form.allowed.map((m) => <option key={m} value={m} />)}</datalist>
              {err("default_model") ? <div className="field-error">{err("default_model")}</div> : <div className="field-help">Used by nodes whose model is <code>default</code>.</div>}
            </div>
            <h3>Rate limits</h3>
            <div className="grid2">
              <div className="field">
                <label className="field-label" htmlFor="llm-rpm">Requests per minute</label>
                <input id="llm-rpm" className="input mono" inputMode="numeric" value={form.rpm} readOnly={readOnly} placeholder="no limit" onChange={(e) => setForm({ ...form, rpm: e.target.value })} />
                {err("requests_per_minute") && <div className="field-error">{err("requests_per_minute")}</div>}
              </div>
              <div className="field">
                <label className="field-label" htmlFor="llm-tpm">Tokens per minute</label>
                <input id="llm-tpm" className="input mono" inputMode="numeric" value={form.tpm} readOnly={readOnly} placeholder="no limit" onChange={(e) => setForm({ ...form, tpm: e.target.value })} />
                {err("tokens_per_minute") && <div className="field-error">{err("tokens_per_minute")}</div>}
              </div>
            </div>
            <div className="field-help">Across every run of the workspace; a node over the limit waits, then retries.</div>
            {other && <div className="callout callout-error">{other}</div>}
            {admin && (
              <div className="row gap">
                <button className="btn btn-primary" data-testid="save-llm-settings" disabled={!changed || !parsed?.ok || busy} onClick={() => void save()}>Save</button>
                {changed && <button className="btn btn-ghost" onClick={() => setForm(toForm(settings))}>Discard changes</button>}
              </div>
            )}
          </div>
          <div className="card">
            <table className="table" data-testid="llm-providers">
              <thead>
                <tr>
                  <th>Provider</th>
                  <th>Key</th>
                </tr>
              </thead>
              <tbody>
                {settings.providers.length === 0 && (
                  <tr><td colSpan={2} className="muted">No provider is configured. Add an <code>llm_provider</code> credential on the <a href={`#${paths.credentials(workspace.id)}`}>Credentials</a> page.</td></tr>
                )}
                {settings.providers.map((name) => (
                  <tr key={name} data-testid="llm-provider" data-provider={name}>
                    <td className="mono">{name}</td>
                    <td>
                      <a href={`#${paths.credentials(workspace.id)}`}>key set: an <code>llm_provider</code> credential</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
