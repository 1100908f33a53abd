// The CodeMirror completion source of an expression or template field: the path at the cursor
// (lib/completions.ts `pathAtCursor`) and its next segments among the node's known paths.
import type { Completion, CompletionContext, CompletionResult, CompletionSource } from "@codemirror/autocomplete";
import { complete, pathAtCursor, type ExpressionMode } from "../lib/completions";

export function expressionSource(mode: ExpressionMode, known: () => Map<string, string>): CompletionSource {
  return (ctx: CompletionContext): CompletionResult | null => {
    const before = ctx.state.doc.sliceString(0, ctx.pos);
    const at = pathAtCursor(before, mode);
    if (!at) return null;
    // An expression field offers its roots at a word's start only when asked (Ctrl-Space) or once typing began.
    if (mode !== "template" && at.path === "" && !ctx.explicit) return null;
    const r = complete(at.path, known());
    if (!r.options.length) return null;
    const options: Completion[] = r.options.map((o) => ({
      label: o.label,
      detail: o.detail,
      type: o.label.startsWith("[") ? "constant" : at.path.includes(".") ? "property" : "variable",
      apply: o.label,
    }));
    return { from: at.from + r.from, options, validFor: /^[\w-]*$/ };
  };
}
