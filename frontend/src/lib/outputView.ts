// Pure helpers of the node output viewer (components/OutputViewer.tsx): which views a value offers, the table of
// a list of objects, and folding long strings.

/** Strings longer than this are folded in the tree and the table. */
export const FOLD_AT = 160;

export type OutputViewKind = "tree" | "table" | "raw";

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The list a table shows: the value itself when it is a list of objects, else the one field of an object that
 * is (e.g. `{items: [...]}`, `{rows: [...]}`), else null. */
export function tableRows(value: unknown): { path: string; rows: Record<string, unknown>[] } | null {
  const asRows = (v: unknown): Record<string, unknown>[] | null =>
    Array.isArray(v) && v.length > 0 && v.every(isPlainObject) ? (v as Record<string, unknown>[]) : null;
  const direct = asRows(value);
  if (direct) return { path: "", rows: direct };
  if (isPlainObject(value)) {
    const lists = Object.entries(value).filter(([, v]) => asRows(v));
    if (lists.length === 1) return { path: lists[0][0], rows: lists[0][1] as Record<string, unknown>[] };
  }
  return null;
}

/** The table's columns: every key of every row, in first-seen order. */
export function tableColumns(rows: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

/** The views a value offers, best first. */
export function viewsOf(value: unknown): OutputViewKind[] {
  if (value === null || value === undefined || typeof value !== "object") return ["raw"];
  return tableRows(value) ? ["tree", "table", "raw"] : ["tree", "raw"];
}

/** A cell's text: scalars as they are, objects as compact JSON. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** A long string cut at FOLD_AT, and how many characters the fold hides (0 when it is short enough). */
export function fold(s: string, at = FOLD_AT): { head: string; hidden: number } {
  return s.length <= at ? { head: s, hidden: 0 } : { head: s.slice(0, at), hidden: s.length - at };
}
