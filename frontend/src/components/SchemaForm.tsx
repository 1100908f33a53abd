// A node config form generated from the node type's JSON Schema, with a raw-JSON mode.
import { useEffect, useMemo, useState } from "react";
import type { ExpressionMode } from "../lib/completions";
import { fieldsFor, parseField, toText, type FieldSpec } from "../lib/schemaForm";
import type { JsonSchema } from "../types";
import { ExpressionField } from "./ExpressionField";

type Config = Record<string, unknown>;

/** A list of strings, one input per item, each offering the field's suggestions. */
function StringList({
  id,
  values,
  readOnly,
  listId,
  onChange,
}: {
  id: string;
  values: string[];
  readOnly: boolean;
  listId?: string;
  onChange: (values: string[]) => void;
}) {
  // Rows as typed (an empty new row stays until it is filled or removed); the value drops empty rows.
  const [rows, setRows] = useState<string[]>(values.length ? values : []);
  useEffect(() => {
    setRows((cur) => (JSON.stringify(cur.filter((r) => r.trim())) === JSON.stringify(values) ? cur : values));
  }, [values]);
  const set = (next: string[]) => {
    setRows(next);
    onChange(next.map((r) => r.trim()).filter(Boolean));
  };
  return (
    <div className="string-list" id={id} data-testid="string-list">
      {rows.map((r, i) => (
        <div key={i} className="string-list-row">
          <input
            className="input mono"
            aria-label={`Item ${i + 1}`}
            value={r}
            list={listId}
            readOnly={readOnly}
            onChange={(e) => set(rows.map((x, j) => (j === i ? e.target.value : x)))}
          />
          {!readOnly && (
            <button type="button" className="btn btn-sm btn-ghost" aria-label={`Remove item ${i + 1}`} onClick={() => set(rows.filter((_, j) => j !== i))}>×</button>
          )}
        </div>
      ))}
      {!readOnly && (
        <button type="button" className="btn btn-sm" data-testid="string-list-add" onClick={() => setRows([...rows, ""])}>+ Add</button>
      )}
      {readOnly && rows.length === 0 && <span className="muted small">none</span>}
    </div>
  );
}

function Field({
  spec,
  value,
  readOnly,
  secret,
  idPrefix = "f",
  suggestions,
  onChange,
  onError,
  expression,
  problems,
}: {
  spec: FieldSpec;
  value: unknown;
  readOnly: boolean;
  /** A template or expression field: a code editor with completions, inline problems and a live preview. */
  expression?: ExpressionMode | null;
  /** The server's validation problems of this field (shown inside an expression field). */
  problems?: string[];
  /** Values to offer (a datalist); the field still accepts anything. */
  suggestions?: string[];
  /** A write-only secret: a password input the browser does not autofill. */
  secret?: boolean;
  idPrefix?: string;
  onChange: (value: unknown, remove: boolean) => void;
  /** The field's own parse error (text that is not a value yet), or null when it holds a value. */
  onError?: (error: string | null) => void;
}) {
  const [text, setText] = useState(() => toText(spec, value));
  const [error, setError] = useState<string | null>(null);
  const inputId = `${idPrefix}-${spec.name}`;
  const listId = suggestions?.length ? `${inputId}-options` : undefined;
  useEffect(() => onError?.(error), [error]); // eslint-disable-line react-hooks/exhaustive-deps

  // Follow outside changes (raw JSON edits, renames) without reformatting what the user is typing: only when
  // the text no longer means the value (so "0." or compact JSON stay as typed).
  useEffect(() => {
    if (error) return;
    setText((current) => {
      const p = parseField(spec, current);
      const same = p.ok && (p.remove ? value === undefined || value === null : JSON.stringify(p.value) === JSON.stringify(value));
      return same ? current : toText(spec, value);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  const commit = (t: string) => {
    setText(t);
    const p = parseField(spec, t);
    if (p.ok) {
      setError(null);
      onChange(p.value, p.remove);
    } else setError(p.error);
  };

  const placeholder =
    spec.default !== undefined && spec.default !== null
      ? `default: ${typeof spec.default === "object" ? JSON.stringify(spec.default) : String(spec.default)}`
      : spec.templated
        ? "{{ nodes.<id>.output… }}"
        : "";

  let control;
  if (expression && !secret) {
    control = (
      <ExpressionField
        id={inputId}
        name={spec.name}
        label={spec.label}
        value={text}
        mode={expression}
        multiline={spec.kind !== "string"}
        json={spec.kind === "json"}
        readOnly={readOnly}
        problems={problems ?? []}
        placeholder={placeholder}
        suggestions={suggestions}
        onChange={commit}
      />
    );
  } else switch (spec.kind) {
    case "boolean": {
      const checked = value === undefined ? spec.default === true : value === true;
      control = (
        <label className="switch">
          <input id={inputId} type="checkbox" checked={checked} disabled={readOnly} onChange={(e) => onChange(e.target.checked, false)} />
          <span>{checked ? "On" : "Off"}</span>
        </label>
      );
      break;
    }
    case "enum":
      control = (
        <select id={inputId} className="input" value={text} disabled={readOnly} onChange={(e) => commit(e.target.value)}>
          {!spec.required && <option value="">{spec.default !== undefined ? `(default: ${String(spec.default)})` : "(not set)"}</option>}
          {(spec.options ?? []).map((o) => (
            <option key={String(o)} value={String(o)}>{String(o)}</option>
          ))}
        </select>
      );
      break;
    case "list":
      control = (
        <StringList
          id={inputId}
          values={Array.isArray(value) ? value.map(String) : []}
          readOnly={readOnly}
          listId={listId}
          onChange={(v) => onChange(v.length ? v : undefined, v.length === 0)}
        />
      );
      break;
    case "text":
    case "json":
      control = (
        <textarea
          id={inputId}
          className={`input mono ${error ? "invalid" : ""}`}
          rows={spec.kind === "json" ? 4 : 5}
          value={text}
          placeholder={spec.kind === "json" ? (placeholder || "JSON") : placeholder}
          readOnly={readOnly}
          spellCheck={false}
          onChange={(e) => commit(e.target.value)}
        />
      );
      break;
    default:
      control = (
        <input
          id={inputId}
          className={`input ${spec.kind !== "string" ? "mono" : ""} ${error ? "invalid" : ""}`}
          type={secret && spec.kind === "string" ? "password" : "text"}
          autoComplete={secret ? "new-password" : undefined}
          inputMode={spec.kind === "number" || spec.kind === "integer" ? "decimal" : undefined}
          value={text}
          placeholder={placeholder}
          readOnly={readOnly}
          list={listId}
          onChange={(e) => commit(e.target.value)}
        />
      );
  }

  return (
    <div className="field" data-field={spec.name}>
      <label htmlFor={inputId} className="field-label">
        {spec.label}
        {spec.required && <span className="req">*</span>}
        {spec.kind === "json" && <span className="field-tag">JSON</span>}
        {spec.templated && <span className="field-tag tpl">{"{{ }}"}</span>}
      </label>
      {control}
      {listId && !expression && (
        <datalist id={listId} data-testid={`suggestions-${spec.name}`}>
          {suggestions!.map((o) => <option key={o} value={o} />)}
        </datalist>
      )}
      {error ? <div className="field-error">{error}</div> : spec.description ? <div className="field-help">{spec.description}</div> : null}
    </div>
  );
}

export function SchemaForm({
  schema,
  templated,
  config,
  readOnly,
  onChange,
  fieldIssues,
  isSecret,
  formOnly,
  idPrefix,
  suggestions,
  titles,
  onFieldError,
}: {
  schema: JsonSchema;
  templated: string[];
  config: Config;
  readOnly: boolean;
  onChange: (config: Config) => void;
  fieldIssues?: Record<string, string[]>;
  /** Fields typed as write-only secrets (password inputs). */
  isSecret?: (field: string) => boolean;
  /** No raw-JSON mode (a credential value must not be echoed back as text). */
  formOnly?: boolean;
  /** Prefix of the inputs' ids, so two forms on a page do not share ids. */
  idPrefix?: string;
  /** Values a string or list field offers, by field name (e.g. an llm node's allowed models). */
  suggestions?: Record<string, string[]>;
  /** Label fields by their schema `title` (a hand-written form such as an approval's). */
  titles?: boolean;
  /** A field's parse error appeared (a message) or went (null): a form that sends values can refuse to send. */
  onFieldError?: (field: string, error: string | null) => void;
}) {
  const fields = useMemo(() => fieldsFor(schema, templated, { titles }), [schema, templated, titles]);
  const [raw, setRaw] = useState(false);
  const [rawText, setRawText] = useState("");
  const [rawError, setRawError] = useState<string | null>(null);
  const known = new Set(fields.map((f) => f.name));
  // Templated string and JSON fields are templates; an `expression` beside a `language` is in that language.
  const modeOf = (f: FieldSpec): ExpressionMode | null => {
    if (f.templated && (f.kind === "string" || f.kind === "text" || f.kind === "json")) return "template";
    if (f.name === "expression" && known.has("language")) return config.language === "jsonata" ? "jsonata" : "jmespath";
    return null;
  };
  const unknown = Object.keys(config).filter((k) => !known.has(k));

  const openRaw = () => {
    setRawText(JSON.stringify(config, null, 2));
    setRawError(null);
    setRaw(true);
  };

  return (
    <div className="schema-form">
      {!formOnly && <div className="seg" role="tablist">
        <button role="tab" className={!raw ? "on" : ""} aria-selected={!raw} onClick={() => setRaw(false)} disabled={raw && !!rawError}>
          Form
        </button>
        <button role="tab" className={raw ? "on" : ""} aria-selected={raw} onClick={openRaw}>
          Raw JSON
        </button>
      </div>}
      {raw && !formOnly ? (
        <div className="field">
          <textarea
            className={`input mono ${rawError ? "invalid" : ""}`}
            rows={14}
            value={rawText}
            readOnly={readOnly}
            spellCheck={false}
            aria-label="Raw config JSON"
            onChange={(e) => {
              setRawText(e.target.value);
              try {
                const v = JSON.parse(e.target.value);
                if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("config must be a JSON object");
                setRawError(null);
                onChange(v as Config);
              } catch (err) {
                setRawError((err as Error).message);
              }
            }}
          />
          {rawError && <div className="field-error">{rawError}</div>}
        </div>
      ) : (
        <>
          {fields.length === 0 && <div className="muted small">This node type has no settings.</div>}
          {fields.map((f) => (
            <div key={f.name}>
              <Field
                spec={f}
                value={config[f.name]}
                readOnly={readOnly}
                secret={isSecret?.(f.name)}
                idPrefix={idPrefix}
                suggestions={suggestions?.[f.name]}
                expression={modeOf(f)}
                problems={fieldIssues?.[f.name]}
                onError={onFieldError ? (err) => onFieldError(f.name, err) : undefined}
                onChange={(v, remove) => {
                  const next = { ...config };
                  if (remove) delete next[f.name];
                  else next[f.name] = v;
                  onChange(next);
                }}
              />
              {!modeOf(f) && fieldIssues?.[f.name]?.map((m, i) => (
                <div key={i} className="field-error">{m}</div>
              ))}
            </div>
          ))}
          {unknown.length > 0 && (
            <div className="field-error">Unknown settings {unknown.map((u) => `'${u}'`).join(", ")}: edit them in Raw JSON.</div>
          )}
        </>
      )}
    </div>
  );
}
