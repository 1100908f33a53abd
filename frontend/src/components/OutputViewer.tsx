// A node's output (or rendered input) as a JSON tree, a table (for lists of objects) or raw JSON, with copy and
// download; long strings are folded behind "show more".
import { useState } from "react";
import { download } from "../lib/download";
import { cellText, fold, tableColumns, tableRows, viewsOf, type OutputViewKind } from "../lib/outputView";

function Folded({ text }: { text: string }) {
  const [open, setOpen] = useState(false);
  const { head, hidden } = fold(text);
  if (!hidden || open) return <span className="jt-str">{JSON.stringify(text)}</span>;
  return (
    <span className="jt-str">
      {JSON.stringify(head).slice(0, -1)}…"{" "}
      <button className="link-btn small" onClick={() => setOpen(true)} data-testid="unfold">show {hidden} more</button>
    </span>
  );
}

function Scalar({ value }: { value: unknown }) {
  if (typeof value === "string") return <Folded text={value} />;
  if (value === null) return <span className="jt-null">null</span>;
  if (typeof value === "number") return <span className="jt-num">{value}</span>;
  if (typeof value === "boolean") return <span className="jt-bool">{String(value)}</span>;
  return <span>{String(value)}</span>;
}

function TreeNode({ name, value, depth }: { name: string | null; value: unknown; depth: number }) {
  const label = name !== null ? <span className="jt-key">{name}: </span> : null;
  if (value === null || typeof value !== "object") {
    return (
      <div className="jt-row">
        {label}
        <Scalar value={value} />
      </div>
    );
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <details className="jt-node" open={depth < 2}>
      <summary>
        {label}
        <span className="muted">{summary}</span>
      </summary>
      <div className="jt-children">
        {entries.map(([k, v]) => (
          <TreeNode key={k} name={k} value={v} depth={depth + 1} />
        ))}
      </div>
    </details>
  );
}

function Table({ value }: { value: unknown }) {
  const t = tableRows(value);
  if (!t) return null;
  const cols = tableColumns(t.rows);
  return (
    <div className="ov-table-wrap">
      {t.path && <div className="muted small">{t.path} · {t.rows.length} rows</div>}
      <table className="ov-table" data-testid="output-table">
        <thead>
          <tr>{cols.map((c) => <th key={c}>{c}</th>)}</tr>
        </thead>
        <tbody>
          {t.rows.map((r, i) => (
            <tr key={i}>
              {cols.map((c) => {
                const { head, hidden } = fold(cellText(r[c]), 80);
                return <td key={c} title={hidden ? cellText(r[c]) : undefined}>{head}{hidden ? "…" : ""}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function OutputViewer({ value, empty = "—", fileName = "output.json", maxHeight = 320, testId }: {
  value: unknown;
  empty?: string;
  fileName?: string;
  maxHeight?: number;
  testId?: string;
}) {
  const views = viewsOf(value);
  // Only a view the user picked is kept: the value may arrive in steps (a preview string, then the object), and
  // the first value's best view must not stick to the next one.
  const [view, setView] = useState<OutputViewKind | null>(null);
  const [copied, setCopied] = useState(false);
  if (value === undefined || value === null) return <div className="json-empty" data-testid={testId}>{empty}</div>;
  const shown = view !== null && views.includes(view) ? view : views[0];
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <div className="ov" data-testid={testId} data-view={shown}>
      <div className="ov-bar">
        {views.length > 1 && (
          <div className="seg" role="tablist">
            {views.map((v) => (
              <button key={v} className={v === shown ? "on" : ""} role="tab" aria-selected={v === shown} onClick={() => setView(v)} data-testid={`view-${v}`}>
                {v === "tree" ? "Tree" : v === "table" ? "Table" : "Raw"}
              </button>
            ))}
          </div>
        )}
        <span className="spacer" />
        <button
          className="btn btn-ghost btn-sm"
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => {
              setCopied(true);
              window.setTimeout(() => setCopied(false), 1200);
            });
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
        <button className="btn btn-ghost btn-sm" onClick={() => download(fileName, value)} data-testid="download-output">Download</button>
      </div>
      <div className="ov-body" style={{ maxHeight }}>
        {shown === "tree" && <div className="jt"><TreeNode name={null} value={value} depth={0} /></div>}
        {shown === "table" && <Table value={value} />}
        {shown === "raw" && <pre className="json">{text}</pre>}
      </div>
    </div>
  );
}
