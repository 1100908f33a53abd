// A small CodeMirror JSON editor (the same @uiw/react-codemirror + lang-json setup as the agent spec editor's
// CodePane), default-exported so callers lazy-load it: CodeMirror stays out of the main bundle.
import { json } from "@codemirror/lang-json";
import { EditorView } from "@codemirror/view";
import CodeMirror from "@uiw/react-codemirror";
import { useMemo } from "react";

export default function JsonCodeEditor({
  label,
  value,
  onChange,
  readOnly,
  height = "180px",
}: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  readOnly?: boolean;
  height?: string;
}) {
  const extensions = useMemo(() => [json(), EditorView.contentAttributes.of({ "aria-label": label })], [label]);
  return (
    <CodeMirror
      className="code-mirror"
      value={value}
      height={height}
      editable={!readOnly}
      readOnly={readOnly}
      extensions={extensions}
      basicSetup={{ foldGutter: false, highlightActiveLine: !readOnly, autocompletion: false }}
      onChange={(text) => onChange(text)}
    />
  );
}
