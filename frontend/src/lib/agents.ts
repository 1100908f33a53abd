// The spec editor's pure parts: where an error is (line numbers for markdown and JSON), a line diff
// between two versions, and the spec a new agent starts from.
import { jsonLanguage } from "@codemirror/lang-json";
import type { SyntaxNode } from "@lezer/common";
import { diffLines } from "diff";

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

/** The path segments of a field like `spec.tools.0.config` (the `spec.` prefix dropped: the pane shows the spec). */
export function fieldPath(field: string): (string | number)[] {
  return field
    .replace(/^spec\.?/, "")
    .split(".")
    .filter((k) => k !== "")
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k));
}

/** The value nodes of an Object (by property name) or an Array (by index) in the Lezer JSON tree. */
function childAt(node: SyntaxNode, key: string | number, text: string): SyntaxNode | null {
  if (node.name === "Object" && typeof key === "string") {
    for (let p = node.firstChild; p; p = p.nextSibling) {
      if (p.name !== "Property") continue;
      const name = p.getChild("PropertyName");
      if (!name) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text.slice(name.from, name.to));
      } catch {
        continue;
      }
      if (parsed === key) return p;
    }
    return null;
  }
  if (node.name === "Array" && typeof key === "number") {
    let i = 0;
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.type.isError || ["[", "]", ","].includes(c.name)) continue;
      if (i++ === key) return c;
    }
  }
  return null;
}

/** The line (1-based) of the value a field path names in JSON text, parsed with CodeMirror's own JSON grammar
 * (Lezer): the property's line for an object key, the item's line for an array index. A path that does not
 * resolve all the way answers the deepest part that does, or null when not even its first key is there. */
export function jsonFieldLine(text: string, field: string | undefined): number | null {
  if (!field) return null;
  const path = fieldPath(field);
  if (!path.length) return null;
  const tree = jsonLanguage.parser.parse(text);
  let node: SyntaxNode | null = tree.topNode.firstChild;
  let found: SyntaxNode | null = null;
  for (const key of path) {
    if (!node) break;
    const next = childAt(node, key, text);
    if (!next) break;
    found = next;
    // A property holds its value after the name and the colon; an array item is the value itself.
    node = next.name === "Property" ? next.lastChild : next;
  }
  return found ? lineOf(text, found.from) : null;
}

/** The 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
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

/** A line diff (jsdiff's Myers diff): what turns `a` into `b`, each line numbered in the side(s) it is on. */
export function lineDiff(a: string, b: string): DiffLine[] {
  const out: DiffLine[] = [];
  let i = 1;
  let j = 1;
  // Every line ends with a newline for the diff, so a last line without one compares equal to itself.
  const whole = (t: string) => (t.endsWith("\n") ? t : `${t}\n`);
  for (const change of diffLines(whole(a), whole(b))) {
    const lines = change.value.split("\n");
    if (change.value.endsWith("\n")) lines.pop(); // the newline ends the last line; it starts no new one
    for (const text of lines) {
      if (change.added) out.push({ kind: "added", text, a: null, b: j++ });
      else if (change.removed) out.push({ kind: "removed", text, a: i++, b: null });
      else out.push({ kind: "same", text, a: i++, b: j++ });
    }
  }
  return out;
}

/** How many lines a diff changes (a changed line counts once removed and once added). */
export function changedLines(diff: DiffLine[]): number {
  return diff.filter((d) => d.kind !== "same").length;
}

export { NEW_AGENT_SPEC } from "./agentNodes";

/** The JSON pane's text for a spec (the API's JSON form, two-space indent). */
export function specText(spec: unknown): string {
  return JSON.stringify(spec, null, 2);
}

/** What one pane's text asks of the validate route: the markdown as it is, the JSON pane's spec once it parses
 * (JSON that does not parse is an error on its line, and no request). */
export function syncBody(pane: "markdown" | "json", text: string): { body: { markdown: string } | { spec: unknown } } | { error: LineError } {
  if (pane === "markdown") return { body: { markdown: text } };
  const parsed = parseJson(text);
  return "error" in parsed ? { error: parsed.error } : { body: { spec: parsed.value } };
}
