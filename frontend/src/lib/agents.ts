// The spec editor's pure parts: where an error is (line numbers for markdown and JSON), a line diff
// between two versions, and the spec a new agent starts from.

/** One problem the editor shows on its line (1-based); `line` null: the whole document. */
export interface LineError {
  line: number | null;
  message: string;
}

interface Detail {
  line?: number | null;
  field?: string;
  message?: string;
}

/** The markdown errors of an API refusal: each detail names its line (and section). */
export function markdownErrors(details: unknown, fallback: string): LineError[] {
  if (!Array.isArray(details) || !details.length) return [{ line: null, message: fallback }];
  return details.map((d: Detail) => ({ line: typeof d.line === "number" ? d.line : null, message: d.message ?? fallback }));
}

/** The line of `"key":` for a field path like `spec.tools.0.config` in pretty-printed JSON (best effort:
 * the deepest named key that is found, else the first line). */
export function jsonFieldLine(text: string, field: string | undefined): number | null {
  if (!field) return null;
  const keys = field.replace(/^spec\.?/, "").split(".").filter((k) => k && !/^\d+$/.test(k));
  const lines = text.split("\n");
  for (let k = keys.length - 1; k >= 0; k--) {
    const needle = `"${keys[k]}":`;
    const at = lines.findIndex((l) => l.trimStart().startsWith(needle));
    if (at >= 0) return at + 1;
  }
  return null;
}

/** The JSON errors of an API refusal, placed on the line of the field each names. */
export function jsonErrors(text: string, details: unknown, fallback: string): LineError[] {
  if (!Array.isArray(details) || !details.length) return [{ line: null, message: fallback }];
  return details.map((d: Detail) => {
    const message = d.message ?? fallback;
    const named = d.field && !message.startsWith(d.field) ? `${d.field}: ${message}` : message;
    return { line: jsonFieldLine(text, d.field), message: named };
  });
}

/** Parse JSON, or say on which line it breaks. */
export function parseJson(text: string): { value: unknown } | { error: LineError } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const message = (e as Error).message;
    const pos = /position (\d+)/.exec(message);
    const lineCol = /line (\d+)/.exec(message);
    // V8 names a position, or quotes the text around an unexpected token; Firefox names the line.
    const token = /Unexpected token '([^']+)', (?:\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON/.exec(message);
    let line: number | null = null;
    if (lineCol) line = Number(lineCol[1]);
    else if (pos) line = text.slice(0, Number(pos[1])).split("\n").length;
    else if (/end of JSON input/.test(message)) line = text.split("\n").length;
    else if (token) {
      const at = text.indexOf(token[2]);
      if (at >= 0) line = text.slice(0, at + Math.max(0, token[2].lastIndexOf(token[1]))).split("\n").length;
    }
    return { error: { line, message: `not valid JSON: ${message}` } };
  }
}

export type DiffLine = { kind: "same" | "added" | "removed"; text: string; a: number | null; b: number | null };

/** A line diff (longest common subsequence): what turns `a` into `b`. */
export function lineDiff(a: string, b: string): DiffLine[] {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push({ kind: "same", text: x[i], a: i + 1, b: j + 1 });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ kind: "removed", text: x[i], a: i + 1, b: null });
      i++;
    } else {
      out.push({ kind: "added", text: y[j], a: null, b: j + 1 });
      j++;
    }
  }
  return out;
}

/** What a new agent starts from: valid, and short enough to read at a glance. */
export const NEW_AGENT_SPEC = {
  name: "New agent",
  role: "Research assistant",
  goal: "Answer the question in the task, citing your sources.",
  backstory: "You are careful and brief. You say so when you do not know.",
};

/** The JSON pane's text for a spec (the API's JSON form, two-space indent). */
export function specText(spec: unknown): string {
  return JSON.stringify(spec, null, 2);
}
