// A plain-text editor with line numbers whose gutter marks the lines that have errors; the errors are
// listed below it, each jumping to its line. (A textarea: the console has no code editor component yet.)
import { useRef } from "react";
import type { LineError } from "../lib/agents";

export function CodePane({
  label,
  value,
  onChange,
  errors,
  readOnly,
  testid,
}: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  errors: LineError[];
  readOnly?: boolean;
  testid: string;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = value.split("\n").length;
  const bad = new Map<number, string[]>();
  for (const e of errors) if (e.line !== null) bad.set(e.line, [...(bad.get(e.line) ?? []), e.message]);

  const jump = (line: number | null) => {
    const el = area.current;
    if (!el || line === null) return;
    const starts = value.split("\n").slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const end = starts + (value.split("\n")[line - 1]?.length ?? 0);
    el.focus();
    el.setSelectionRange(starts, end);
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 18;
    el.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  return (
    <div className="code-pane" data-testid={testid}>
      <div className="code-pane-head">
        <span className="strong">{label}</span>
        {errors.length ? (
          <span className="code-pane-status bad" data-testid={`${testid}-status`}>{errors.length} problem{errors.length > 1 ? "s" : ""}</span>
        ) : (
          <span className="code-pane-status ok" data-testid={`${testid}-status`}>valid</span>
        )}
      </div>
      <div className="code-pane-body">
        <div className="code-gutter" ref={gutter} aria-hidden>
          {Array.from({ length: lines }, (_, i) => i + 1).map((n) => (
            <div key={n} className={bad.has(n) ? "gutter-line gutter-error" : "gutter-line"} title={bad.get(n)?.join("\n")} data-line={n}>
              {n}
            </div>
          ))}
        </div>
        <textarea
          ref={area}
          className="code-text"
          spellCheck={false}
          wrap="off"
          value={value}
          readOnly={readOnly}
          aria-label={label}
          onChange={(e) => onChange(e.target.value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
      {errors.length > 0 && (
        <ul className="code-errors" data-testid={`${testid}-errors`}>
          {errors.map((e, i) => (
            <li key={i}>
              <button className="link-button" onClick={() => jump(e.line)} disabled={e.line === null}>
                {e.line !== null ? `Line ${e.line}` : "Document"}
              </button>{" "}
              {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
