// An expression or template field (issue 13): a lazy-loaded CodeMirror editor (ExpressionEditor) that
// completes `input.*` and the upstream nodes' known output paths, shows the server's validation problems of
// the field inline and under it, and a live preview of the text rendered by the API against the flow's last
// run (debounced; the server renders with the domain's own renderer, so the preview is what a run would get).
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { ApiError, errorMessage } from "../lib/api";
import { knownPaths, type ExpressionMode } from "../lib/completions";
import { api13 } from "../lib/contract13";
import { keys } from "../lib/queryKeys";
import { useExpressionScope } from "../editor/expressionScope";

const ExpressionEditor = lazy(() => import("./ExpressionEditor"));

/** How long the text must stay unchanged before it is previewed. */
export const PREVIEW_AFTER_MS = 400;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return v;
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

export function ExpressionField({
  id,
  name,
  label,
  value,
  mode,
  multiline,
  json,
  readOnly,
  problems,
  placeholder,
  suggestions,
  onChange,
}: {
  id: string;
  /** The config field's name (test ids). */
  name: string;
  /** The field's label: the editor's accessible name. */
  label: string;
  value: string;
  mode: ExpressionMode;
  multiline: boolean;
  /** The text is a JSON document whose strings hold templates (a JSON config field). */
  json?: boolean;
  readOnly: boolean;
  /** The server's validation problems of this field (from the last save or live validation). */
  problems: string[];
  placeholder?: string;
  /** Values offered outside `{{ }}` (an llm node's allowed models). */
  suggestions?: string[];
  onChange: (text: string) => void;
}) {
  const scope = useExpressionScope();
  const known = useMemo(() => knownPaths(scope?.sources ?? { upstream: [] }, mode), [scope?.sources, mode]);
  const text = useDebounced(value, PREVIEW_AFTER_MS);
  const wanted = !!scope?.preview && text.trim() !== "" && (mode !== "template" || text.includes("{{"));
  const preview = useQuery({
    queryKey: keys.preview(scope?.ws ?? "", scope?.flowId ?? "", scope?.nodeId ?? "", mode, json ?? false, scope?.runId ?? null, text),
    queryFn: () =>
      api13.preview(scope!.ws, scope!.flowId, {
        node: scope!.nodeId,
        text,
        kind: mode,
        json: json ?? false,
        edge: !!scope!.sources.edge,
        run: scope!.runId,
      }),
    enabled: wanted && !!scope?.runId,
    retry: false,
    staleTime: 30_000,
  });
  const previewError =
    preview.error instanceof ApiError
      ? /^node: /.test(preview.error.message)
        ? "save the draft to preview this node"
        : preview.error.message.replace(/^text: /, "")
      : preview.error
        ? errorMessage(preview.error)
        : null;

  return (
    <div className="expression-field" data-testid={`expr-${name}`} data-mode={mode}>
      <Suspense fallback={<div className="input mono expression-loading" aria-hidden>{value || placeholder || "\u00a0"}</div>}>
        <ExpressionEditor
          id={id}
          label={label}
          value={value}
          mode={mode}
          multiline={multiline}
          readOnly={readOnly}
          problems={problems}
          known={() => known}
          suggestions={suggestions}
          placeholder={placeholder}
          onChange={onChange}
        />
      </Suspense>
      {problems.map((m, i) => (
        <div key={i} className="field-error" role="alert" data-testid={`problem-${name}`}>{m}</div>
      ))}
      {scope && wanted && (
        <div className={`expr-preview ${previewError ? "bad" : ""}`} data-testid={`preview-${name}`} aria-live="polite">
          <span className="expr-preview-head">
            Preview{scope.runLabel ? ` · ${scope.runLabel}` : ""}
          </span>
          {!scope.runId ? (
            <span className="muted"> no run yet: test-run the draft to preview against its data</span>
          ) : preview.isFetching && !preview.data && !previewError ? (
            <span className="muted"> rendering…</span>
          ) : previewError ? (
            <span className="expr-preview-error"> {previewError}</span>
          ) : preview.data ? (
            <pre className="expr-preview-value">{shown(preview.data.value)}{preview.data.truncated ? " (cut at 64 KiB)" : ""}</pre>
          ) : null}
        </div>
      )}
    </div>
  );
}
