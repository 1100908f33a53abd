// A code editor (CodeMirror 6 through @uiw/react-codemirror) for one form of a spec: markdown or JSON
// highlighting, and the errors as lint diagnostics on their line (underlined, marked in the gutter, the
// message on hover); the errors are also listed below it, each jumping to its line.
import { json } from "@codemirror/lang-json";
import { markdown } from "@codemirror/lang-markdown";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import type { Text } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import CodeMirror from "@uiw/react-codemirror";
import { useEffect, useMemo, useRef } from "react";
import type { LineError } from "../lib/agents";
import { frontMatter } from "../lib/frontMatter";

/** The lint diagnostics of errors that name a line: the whole line, clamped to the document. */
export function diagnosticsFor(doc: Text, errors: LineError[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of errors) {
    if (e.line === null) continue;
    const line = doc.line(Math.min(Math.max(1, e.line), doc.lines));
    out.push({ from: line.from, to: line.to, severity: "error", message: e.message, source: `line ${e.line}` });
  }
  return out;
}

export function CodePane({
  label,
  value,
  onChange,
  errors,
  readOnly,
  language,
  testid,
}: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  errors: LineError[];
  readOnly?: boolean;
  language: "markdown" | "json";
  testid: string;
}) {
  const view = useRef<EditorView | null>(null);
  const extensions = useMemo(
    () => [language === "json" ? json() : markdown({ extensions: [frontMatter] }), lintGutter(), EditorView.contentAttributes.of({ "aria-label": label })],
    [language, label],
  );

  // The diagnostics follow the errors (and the text they were found in: CodeMirror's own effect has already
  // put a changed `value` in the document when this runs, a child's effects running first).
  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, diagnosticsFor(v.state.doc, errors)));
  }, [errors, value]);

  const jump = (line: number | null) => {
    const v = view.current;
    if (!v || line === null) return;
    const at = v.state.doc.line(Math.min(Math.max(1, line), v.state.doc.lines));
    v.dispatch({ selection: { anchor: at.from, head: at.to }, scrollIntoView: true });
    v.focus();
  };

  return (
    <div className="code-pane" data-testid={testid} data-language={language}>
      <div className="code-pane-head">
        <span className="strong">{label}</span>
        {errors.length ? (
          <span className="code-pane-status bad" data-testid={`${testid}-status`}>{errors.length} problem{errors.length > 1 ? "s" : ""}</span>
        ) : (
          <span className="code-pane-status ok" data-testid={`${testid}-status`}>valid</span>
        )}
      </div>
      <CodeMirror
        className="code-mirror"
        value={value}
        height="460px"
        editable={!readOnly}
        readOnly={readOnly}
        extensions={extensions}
        basicSetup={{ foldGutter: false, highlightActiveLine: !readOnly, autocompletion: false }}
        onCreateEditor={(v) => {
          view.current = v;
          v.dispatch(setDiagnostics(v.state, diagnosticsFor(v.state.doc, errors)));
        }}
        onChange={(text) => onChange(text)}
      />
      {errors.length > 0 && (
        <ul className="code-errors" data-testid={`${testid}-errors`}>
          {errors.map((e, i) => (
            <li key={i} data-line={e.line ?? ""}>
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
