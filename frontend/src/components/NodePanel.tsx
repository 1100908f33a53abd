// The editor's side panel for one node: id, name, config form, template hint, error policy.
import { useEffect, useState } from "react";
import { useModelSuggestions } from "../editor/useModelSuggestions";
import { NODE_ID_RE } from "../lib/flowConvert";
import { useSession } from "../session";
import type { FlowNode, NodeType, RetryPolicy } from "../types";
import { CONFIG_FORMS } from "./AgentNodeForms";
import { ExpressionField } from "./ExpressionField";
import { SchemaForm } from "./SchemaForm";
import { TypeIcon } from "./nodeStyle";
import { useToast } from "./Toasts";
import { Section } from "./ui";

type NodeBody = Omit<FlowNode, "id" | "position">;

function IdField({ id, taken, readOnly, onRename }: { id: string; taken: (id: string) => boolean; readOnly: boolean; onRename: (id: string) => void }) {
  const [text, setText] = useState(id);
  useEffect(() => setText(id), [id]);
  const error = text === id ? null : !NODE_ID_RE.test(text) ? "Letters, digits and _; must not start with a digit; at most 64." : taken(text) ? "Another node has this id." : null;
  const commit = () => {
    if (text !== id && !error) onRename(text);
    else if (error) setText(id);
  };
  return (
    <div className="field">
      <label className="field-label" htmlFor="node-id">Node id</label>
      <input
        id="node-id"
        className={`input mono ${error ? "invalid" : ""}`}
        value={text}
        readOnly={readOnly}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === "Enter" && commit()}
      />
      {error ? <div className="field-error">{error}</div> : <div className="field-help">The state name in Step Functions; templates refer to it as <code>{`nodes.${id}`}</code>.</div>}
    </div>
  );
}

function NumberInput({ label, value, onChange, readOnly, help, placeholder }: { label: string; value: number | undefined; onChange: (v: number | undefined) => void; readOnly: boolean; help?: string; placeholder?: string }) {
  const [text, setText] = useState(value === undefined ? "" : String(value));
  useEffect(() => {
    setText((current) => {
      const t = current.trim();
      const same = t === "" ? value === undefined : Number(t) === value;
      return same ? current : value === undefined ? "" : String(value);
    });
  }, [value]);
  const bad = text.trim() !== "" && !Number.isFinite(Number(text));
  return (
    <div className="field">
      <label className="field-label">{label}</label>
      <input
        className={`input mono ${bad ? "invalid" : ""}`}
        value={text}
        readOnly={readOnly}
        placeholder={placeholder}
        onChange={(e) => {
          setText(e.target.value);
          const t = e.target.value.trim();
          if (t === "") onChange(undefined);
          else if (Number.isFinite(Number(t))) onChange(Number(t));
        }}
      />
      {help && <div className="field-help">{help}</div>}
    </div>
  );
}

export function NodePanel({
  id,
  body,
  nodeType,
  upstream,
  issues,
  readOnly,
  taken,
  onChange,
  onRename,
  onDelete,
}: {
  id: string;
  body: NodeBody;
  nodeType: NodeType | undefined;
  upstream: string[];
  issues: { message: string; field?: string }[];
  readOnly: boolean;
  taken: (id: string) => boolean;
  onChange: (body: NodeBody) => void;
  onRename: (id: string) => void;
  onDelete: () => void;
}) {
  const [advanced, setAdvanced] = useState(Boolean(body.retry || body.timeout_seconds || body.on_error === "continue"));
  const toast = useToast();
  const { workspace } = useSession();
  // A kind with a form of its own (agents picked by name, a crew's lists) uses it; the rest get SchemaForm.
  const CustomForm = CONFIG_FORMS[body.type];
  const models = useModelSuggestions(workspace.id, (body.type === "llm" || body.type === "crew") && !readOnly);
  const copy = (text: string) => {
    void navigator.clipboard?.writeText(text).then(
      () => toast.info("Copied to the clipboard", text),
      () => toast.info("Reference", text),
    );
  };
  const fieldIssues: Record<string, string[]> = {};
  const otherIssues: string[] = [];
  for (const i of issues) {
    const m = i.field?.match(/config\.([A-Za-z0-9_]+)/);
    if (m) (fieldIssues[m[1]] ??= []).push(i.message);
    else otherIssues.push(i.message);
  }
  const setRetry = (patch: Partial<RetryPolicy> | null) => {
    if (patch === null) {
      const { retry: _r, ...rest } = body;
      onChange(rest);
    } else onChange({ ...body, retry: { max_attempts: 2, interval_seconds: 2, backoff_rate: 2, ...body.retry, ...patch } });
  };

  return (
    <div className="side-panel" data-testid="node-panel">
      <div className="side-head">
        <TypeIcon type={body.type} size={18} />
        <div className="side-head-text">
          <div className="strong">{body.name || id}</div>
          <div className="muted small">{body.type} node</div>
        </div>
      </div>
      {nodeType?.description && <p className="side-desc">{nodeType.description}</p>}
      {body.type === "condition" && (
        <p className="side-desc">Wire the <b className="t-true">TRUE</b> and <b className="t-false">FALSE</b> handles to the branches to take when the expression is truthy or falsy.</p>
      )}
      {issues.length > 0 && (
        <div className="callout callout-error compact">
          {issues.length} problem{issues.length > 1 ? "s" : ""} in this node
          {otherIssues.length > 0 && (
            <ul>
              {otherIssues.map((m, i) => <li key={i}>{m}</li>)}
            </ul>
          )}
        </div>
      )}
      <Section title="General">
        <IdField id={id} taken={taken} readOnly={readOnly} onRename={onRename} />
        <div className="field">
          <label className="field-label" htmlFor="node-name">Display name</label>
          <input
            id="node-name"
            className="input"
            value={body.name ?? ""}
            readOnly={readOnly}
            placeholder="optional"
            onChange={(e) => {
              const { name: _n, ...rest } = body;
              onChange(e.target.value ? { ...rest, name: e.target.value } : rest);
            }}
          />
        </div>
      </Section>
      <Section title="Configuration">
        {nodeType && CustomForm ? (
          <CustomForm
            key={`${id}:${body.type}`}
            workspaceId={workspace.id}
            schema={nodeType.config_schema}
            templated={nodeType.templated_fields}
            config={body.config ?? {}}
            readOnly={readOnly}
            fieldIssues={fieldIssues}
            suggestions={models.length ? { model: models } : undefined}
            onChange={(config) => onChange({ ...body, config })}
          />
        ) : nodeType ? (
          <SchemaForm
            key={`${id}:${body.type}`}
            schema={nodeType.config_schema}
            templated={nodeType.templated_fields}
            config={body.config ?? {}}
            readOnly={readOnly}
            fieldIssues={fieldIssues}
            suggestions={models.length ? { model: models, fallback_models: models.filter((m) => m !== "default") } : undefined}
            onChange={(config) => onChange({ ...body, config })}
          />
        ) : (
          <>
            <div className="callout callout-warn compact">Unknown node type “{body.type}”: edit its config as JSON.</div>
            <pre className="json">{JSON.stringify(body.config, null, 2)}</pre>
          </>
        )}
        {nodeType && nodeType.templated_fields.length > 0 && (
          <div className="template-hint">
            <div className="small strong">Templates</div>
            <div className="small muted">
              Fields marked <code>{"{{ }}"}</code> accept <code>{"{{ input.x }}"}</code> and <code>{"{{ nodes.<id>.output.… }}"}</code>.
            </div>
            <div className="chips">
              <code className="chip" title="Copy" onClick={() => copy("{{ input }}")}>{"{{ input }}"}</code>
              {upstream.map((u) => (
                <code key={u} className="chip" title="Copy" onClick={() => copy(`{{ nodes.${u}.output }}`)}>
                  {`nodes.${u}.output`}
                </code>
              ))}
              {upstream.length === 0 && <span className="small muted">No upstream nodes yet: connect one to reference its output.</span>}
            </div>
          </div>
        )}
      </Section>
      <div className="panel-section">
        <button className="disclosure" onClick={() => setAdvanced((a) => !a)} aria-expanded={advanced}>
          <span>{advanced ? "▾" : "▸"}</span> Error handling, retries and timeout
        </button>
        {advanced && (
          <div className="advanced">
            <div className="field">
              <label className="field-label">On error</label>
              <select className="input" value={body.on_error ?? "fail"} disabled={readOnly} onChange={(e) => onChange({ ...body, on_error: e.target.value as "fail" | "continue" })}>
                <option value="fail">Fail the run</option>
                <option value="continue">Continue (skip what depends only on this node)</option>
              </select>
            </div>
            <NumberInput
              label="Timeout (seconds)"
              value={body.timeout_seconds}
              readOnly={readOnly}
              placeholder="type default"
              onChange={(v) => {
                const { timeout_seconds: _t, ...rest } = body;
                onChange(v === undefined ? rest : { ...rest, timeout_seconds: v });
              }}
            />
            <label className="switch">
              <input type="checkbox" checked={!!body.retry} disabled={readOnly} onChange={(e) => setRetry(e.target.checked ? {} : null)} />
              <span>Custom retry policy</span>
            </label>
            {body.retry && (
              <div className="grid3">
                <NumberInput label="Retries" value={body.retry.max_attempts} readOnly={readOnly} onChange={(v) => setRetry({ max_attempts: v ?? 0 })} />
                <NumberInput label="Interval (s)" value={body.retry.interval_seconds} readOnly={readOnly} onChange={(v) => setRetry({ interval_seconds: v ?? 1 })} />
                <NumberInput label="Backoff" value={body.retry.backoff_rate} readOnly={readOnly} onChange={(v) => setRetry({ backoff_rate: v ?? 1 })} />
              </div>
            )}
          </div>
        )}
      </div>
      {!readOnly && (
        <div className="side-foot">
          <button className="btn btn-sm btn-ghost danger" onClick={onDelete}>Delete node</button>
        </div>
      )}
    </div>
  );
}

export function EdgePanel({
  from,
  to,
  sourceType,
  condition,
  issues,
  readOnly,
  onChange,
  onDelete,
}: {
  from: string;
  to: string;
  sourceType: string | undefined;
  condition: string | undefined;
  issues: string[];
  readOnly: boolean;
  onChange: (condition: string | undefined) => void;
  onDelete: () => void;
}) {
  return (
    <div className="side-panel" data-testid="edge-panel">
      <div className="side-head">
        <span className="type-icon edge-icon">→</span>
        <div className="side-head-text">
          <div className="strong mono">{from} → {to}</div>
          <div className="muted small">edge</div>
        </div>
      </div>
      {issues.length > 0 && (
        <div className="callout callout-error compact">
          <ul>{issues.map((m, i) => <li key={i}>{m}</li>)}</ul>
        </div>
      )}
      <Section title="Condition">
        {sourceType === "condition" ? (
          <div className="field">
            <label className="field-label">Branch</label>
            <select className="input" value={condition ?? ""} disabled={readOnly} onChange={(e) => onChange(e.target.value || undefined)}>
              <option value="">Always</option>
              <option value="true">When the condition is true</option>
              <option value="false">When the condition is false</option>
            </select>
          </div>
        ) : (
          <div className="field">
            <label className="field-label">JMESPath expression</label>
            <ExpressionField
              id="edge-condition"
              name="condition"
              label="JMESPath expression"
              value={condition ?? ""}
              mode="jmespath"
              multiline
              readOnly={readOnly}
              problems={[]}
              placeholder="always taken when empty, e.g. output.status == `200`"
              onChange={(t) => onChange(t.trim() ? t : undefined)}
            />
            <div className="field-help">
              Evaluated over <code>{"{output, input, nodes}"}</code> after <b>{from}</b> finishes; the edge is taken when the result is truthy.
            </div>
          </div>
        )}
      </Section>
      {!readOnly && (
        <div className="side-foot">
          <button className="btn btn-sm btn-ghost danger" onClick={onDelete}>Delete edge</button>
        </div>
      )}
    </div>
  );
}
