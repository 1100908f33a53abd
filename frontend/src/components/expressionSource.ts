// The CodeMirror completion source of an expression or template field: the path at the cursor
// (lib/completions.ts `pathAtCursor`) and its next segments among the node's known paths.
import type { Completion, CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { complete, pathAtCursor, type ExpressionMode } from "../lib/completions";

export function expressionSource(mode: ExpressionMode, known: () => Map<string, string>, suggestions?: string[]): (ctx: CompletionContext) => CompletionResult | null {
  return (ctx: CompletionContext): CompletionResult | null => {
    const before = ctx.state.doc.sliceString(0, ctx.pos);
    const at = pathAtCursor(before, mode);
    if (!at) {
      // Outside any `{{ }}`: the field's own suggestions (whole values), when it has some and holds no template.
      if (!suggestions?.length || ctx.state.doc.toString().includes("{{")) return null;
      const options = suggestions.filter((s) => s.startsWith(before)).map((s) => ({ label: s, type: "text" }));
      return options.length && (ctx.explicit || before !== "") ? { from: 0, options, filter: false } : null;
    }
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
