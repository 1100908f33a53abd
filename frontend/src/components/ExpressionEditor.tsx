// The CodeMirror part of an ExpressionField (issue 13), default-exported so the field lazy-loads it: CodeMirror
// stays out of the console's initial bundle. Completes the node's known paths at the cursor, and shows the
// server's validation problems of the field as lint diagnostics (on the `{{ … }}` a problem names, else the
// whole text).
import { autocompletion } from "@codemirror/autocomplete";
import { setDiagnostics, type Diagnostic } from "@codemirror/lint";
import type { Text } from "@codemirror/state";
import { Prec } from "@codemirror/state";
import { EditorView, keymap, placeholder as placeholderText } from "@codemirror/view";
import CodeMirror from "@uiw/react-codemirror";
import { useEffect, useMemo, useRef } from "react";
import type { ExpressionMode } from "../lib/completions";
import { expressionSource } from "./expressionSource";

/** Diagnostics of a field's problems: each on the template tag whose path it quotes, else on the whole text. */
export function problemDiagnostics(doc: Text, problems: string[]): Diagnostic[] {
  const text = doc.toString();
  return problems.map((message) => {
    const quoted = /'\{\{\s*(.+?)\s*\}\}'/.exec(message)?.[1];
    let from = 0;
    let to = text.length;
    if (quoted) {
      const tag = new RegExp(`\\{\\{\\s*${quoted.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*\\}\\}`).exec(text);
      if (tag) [from, to] = [tag.index, tag.index + tag[0].length];
    }
    return { from, to: Math.max(to, from), severity: "error", message, source: "server" };
  });
}

export default function ExpressionEditor({
  id,
  label,
  value,
  mode,
  multiline,
  readOnly,
  problems,
  known,
  suggestions,
  placeholder,
  onChange,
}: {
  id: string;
  label: string;
  value: string;
  mode: ExpressionMode;
  multiline: boolean;
  readOnly: boolean;
  problems: string[];
  known: () => Map<string, string>;
  suggestions?: string[];
  placeholder?: string;
  onChange: (text: string) => void;
}) {
  const view = useRef<EditorView | null>(null);
  const knownRef = useRef(known);
  knownRef.current = known;
  const extensions = useMemo(
    () => [
      autocompletion({ override: [expressionSource(mode, () => knownRef.current(), suggestions)], icons: false }),
      EditorView.contentAttributes.of({ "aria-label": label, id, "data-mode": mode }),
      ...(placeholder ? [placeholderText(placeholder)] : []),
      // A single-line field stays one line: Enter accepts a completion (its keymap comes first) or does nothing.
      ...(multiline ? [EditorView.lineWrapping] : [Prec.low(keymap.of([{ key: "Enter", run: () => true }]))]),
    ],
    [mode, label, id, multiline, placeholder, suggestions],
  );
  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, problemDiagnostics(v.state.doc, problems)));
  }, [problems, value]);

  return (
    <CodeMirror
      className={`code-mirror expression-editor ${multiline ? "multi" : "single"} ${problems.length ? "invalid" : ""}`}
      value={value}
      minHeight={multiline ? "84px" : undefined}
      editable={!readOnly}
      readOnly={readOnly}
      extensions={extensions}
      basicSetup={{
        lineNumbers: multiline,
        foldGutter: false,
        highlightActiveLine: false,
        highlightActiveLineGutter: false,
        autocompletion: false,
        closeBrackets: false,
        searchKeymap: false,
      }}
      onCreateEditor={(v) => {
        view.current = v;
        v.dispatch(setDiagnostics(v.state, problemDiagnostics(v.state.doc, problems)));
      }}
      onChange={(text) => onChange(text)}
    />
  );
}
