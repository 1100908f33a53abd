// The node palette's grouping and search: which category a node type belongs to and what a query shows.
import type { NodeType } from "../types";

/** Categories in the order the palette shows them; any other category follows, alphabetically. */
export const CATEGORY_ORDER = ["Flow", "Logic", "AI", "Connectors"] as const;
const OTHER = "Other";

// Until every API answers with the registry's `category`, the seven first kinds are grouped by name.
const BY_TYPE: Record<string, string> = {
  input: "Flow",
  output: "Flow",
  condition: "Logic",
  transform: "Logic",
  wait: "Logic",
  http: "Connectors",
  llm: "AI",
  agent: "AI",
  crew: "AI",
};
const KNOWN = new Map<string, string>(CATEGORY_ORDER.map((c) => [c.toLowerCase(), c]));

/** The palette category of a node type: the registry's `category` when given, else one guessed from its name
 * (an older API answers without it). */
export function categoryOf(t: { type: string; category?: string | null }): string {
  const given = t.category?.trim();
  if (given) return KNOWN.get(given.toLowerCase()) ?? given.charAt(0).toUpperCase() + given.slice(1);
  return BY_TYPE[t.type] ?? OTHER;
}

function rank(category: string): number {
  const i = (CATEGORY_ORDER as readonly string[]).indexOf(category);
  return i >= 0 ? i : category === OTHER ? CATEGORY_ORDER.length + 1 : CATEGORY_ORDER.length;
}

/** Whether every word of the query occurs in the type's name, description or category (case-insensitive). */
export function matches(t: NodeType, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hay = `${t.type}\n${t.description}\n${categoryOf(t)}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}

export interface PaletteGroup {
  category: string;
  types: NodeType[];
}

/** The types that match `query`, grouped by category in palette order; empty groups are left out. */
export function paletteGroups(types: readonly NodeType[], query = ""): PaletteGroup[] {
  const groups = new Map<string, NodeType[]>();
  for (const t of types) {
    if (!matches(t, query)) continue;
    const c = categoryOf(t);
    groups.set(c, [...(groups.get(c) ?? []), t]);
  }
  return [...groups]
    .map(([category, ts]) => ({ category, types: ts }))
    .sort((a, b) => rank(a.category) - rank(b.category) || a.category.localeCompare(b.category));
}
