// What an expression or template field can complete (issue 13): the paths of the data a node sees when it runs,
// `{input, nodes: {<id>: {output}}, run: {id}}` (the runtime's NodeContext.data), collected from what is known
// before it runs (the input node's example, each upstream kind's output_schema) and from the flow's last run
// (its input and its nodes' outputs). Pure: the editor (components/ExpressionEditor.tsx) asks it at the cursor.
import type { JsonSchema } from "../types";
import { deref } from "./schemaForm";

/** How a field's text is read: a string with `{{ path }}` tags, or an expression over the whole data. */
export type ExpressionMode = "template" | "jmespath" | "jsonata";

/** The roots a template may start with (nexod.domain.templating.ROOTS); expressions see the same data without secrets. */
export const TEMPLATE_ROOTS = ["input", "nodes", "run", "secrets"] as const;
export const EXPRESSION_ROOTS = ["input", "nodes", "run"] as const;

export interface PathSources {
  /** The node's upstream ancestors (the server refuses a template reading any other node). */
  upstream: string[];
  /** The input node's JSON Schema or example input, when the flow has one. */
  inputSchema?: JsonSchema | null;
  inputExample?: unknown;
  /** Each upstream node's kind's output_schema, by node id. */
  outputSchemas?: Record<string, JsonSchema | null | undefined>;
  /** The last run: its input and its nodes' outputs, by node id. */
  lastInput?: unknown;
  lastOutputs?: Record<string, unknown>;
  /** An edge condition: it also sees `output`, the source node's own output (its kind's schema, the last run's). */
  edge?: { schema?: JsonSchema | null; last?: unknown };
}

export interface PathOption {
  /** The next segment as shown (`title`, `[0]`). */
  label: string;
  /** The full path the option completes to. */
  path: string;
  /** Where it is known from: "schema", "last run", "root", "node". */
  detail: string;
}

const MAX_DEPTH = 8;
const MAX_PATHS = 2000;
const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function key(name: string): string {
  return IDENT.test(name) ? `.${name}` : `['${name.replace(/'/g, "")}']`;
}

/** Paths inside a JSON Schema (properties; array items as `[0]`), each prefixed by `prefix`. */
export function schemaPaths(schema: JsonSchema | null | undefined, prefix: string, root?: JsonSchema, depth = 0, out: string[] = []): string[] {
  if (!schema || typeof schema !== "object" || depth > MAX_DEPTH || out.length > MAX_PATHS) return out;
  const s = deref(schema, root ?? schema);
  const variants = [...(s.anyOf ?? []), ...(s.oneOf ?? [])];
  for (const v of variants) schemaPaths(v, prefix, root ?? schema, depth + 1, out);
  for (const [name, sub] of Object.entries(s.properties ?? {})) {
    const p = prefix + key(name);
    out.push(p);
    schemaPaths(sub, p, root ?? schema, depth + 1, out);
  }
  if (s.items && !Array.isArray(s.items)) {
    const p = `${prefix}[0]`;
    out.push(p);
    schemaPaths(s.items, p, root ?? schema, depth + 1, out);
  }
  return out;
}

/** Paths inside an actual value (object keys; a list's first item as `[0]`), each prefixed by `prefix`. */
export function valuePaths(value: unknown, prefix: string, depth = 0, out: string[] = []): string[] {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH || out.length > MAX_PATHS) return out;
  if (Array.isArray(value)) {
    if (value.length) {
      const p = `${prefix}[0]`;
      out.push(p);
      valuePaths(value[0], p, depth + 1, out);
    }
    return out;
  }
  for (const [name, sub] of Object.entries(value as Record<string, unknown>)) {
    const p = prefix + key(name);
    out.push(p);
    valuePaths(sub, p, depth + 1, out);
  }
  return out;
}

/** Every known path, with where it is known from (the last run's wins over a schema's when both know one). */
export function knownPaths(src: PathSources, mode: ExpressionMode = "template"): Map<string, string> {
  const found = new Map<string, string>();
  const add = (paths: string[], detail: string) => {
    for (const p of paths) if (!found.has(p) || detail === "last run") found.set(p, detail);
  };
  for (const r of mode === "template" ? TEMPLATE_ROOTS : EXPRESSION_ROOTS) found.set(r, "root");
  found.set("run.id", "the run's id");
  add(schemaPaths(src.inputSchema, "input"), "schema");
  add(valuePaths(src.inputExample, "input"), "example");
  add(valuePaths(src.lastInput, "input"), "last run");
  if (src.edge) {
    found.set("output", "the node's output");
    add(schemaPaths(src.edge.schema ?? null, "output"), "schema");
    add(valuePaths(src.edge.last, "output"), "last run");
  }
  for (const id of src.upstream) {
    const base = `nodes${key(id)}`;
    found.set(base, "node");
    found.set(`${base}.output`, "output");
    add(schemaPaths(src.outputSchemas?.[id] ?? null, `${base}.output`), "schema");
    if (src.lastOutputs && id in src.lastOutputs) add(valuePaths(src.lastOutputs[id], `${base}.output`), "last run");
  }
  return found;
}

/** The path being typed at the end of `before` (the text before the cursor), or null when the cursor is not in one.
 * Templates: only inside an open `{{ … `; expressions: the trailing run of path characters. */
export function pathAtCursor(before: string, mode: ExpressionMode): { path: string; from: number } | null {
  let start = 0;
  if (mode === "template") {
    const open = before.lastIndexOf("{{");
    if (open < 0 || before.indexOf("}}", open) >= 0) return null;
    start = open + 2;
    while (start < before.length && /\s/.test(before[start])) start++;
  }
  const tail = /[A-Za-z0-9_\-.[\]'"]*$/.exec(before.slice(start));
  const path = tail ? tail[0] : "";
  if (mode === "template" && start + path.length !== before.length) return null; // e.g. `{{ a + b` : not a path
  return { path, from: before.length - path.length };
}

/** The options for a partly typed path: the next segments after its last `.` or `[`, starting with what follows it. */
export function complete(typed: string, known: Map<string, string>): { from: number; options: PathOption[] } {
  const cut = Math.max(typed.lastIndexOf("."), typed.lastIndexOf("["));
  const parent = cut < 0 ? "" : typed.slice(0, cut);
  const partial = cut < 0 ? typed : typed.slice(cut);
  const seen = new Map<string, PathOption>();
  for (const [path, detail] of known) {
    if (!path.startsWith(parent)) continue;
    const rest = path.slice(parent.length);
    if (parent && !(rest.startsWith(".") || rest.startsWith("["))) continue;
    // the next segment: a leading separator, then up to the following one
    const m = /^(\.[^.[]*|\[[^\]]*\]|[^.[]+)/.exec(rest);
    if (!m || !m[1].startsWith(partial)) continue;
    const seg = m[1];
    if (!seen.has(seg)) seen.set(seg, { label: seg.replace(/^\./, ""), path: parent + seg, detail: known.get(parent + seg) ?? detail });
  }
  const options = [...seen.values()].sort((a, b) => a.label.localeCompare(b.label));
  // The options replace from the segment's start: after the `.` for a key, at the `[` for an index.
  const from = cut < 0 ? 0 : typed[cut] === "." ? cut + 1 : cut;
  return { from, options };
}

/** The node ids whose outputs are offered after `nodes.`: exactly the upstream ancestors. */
export function offeredNodes(known: Map<string, string>): string[] {
  return complete("nodes.", known).options.map((o) => o.label);
}
