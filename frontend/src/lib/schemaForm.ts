// Turn a node type's config JSON Schema (pydantic's output) into form fields, and form text back into values.
import type { JsonSchema } from "../types";

export type FieldKind = "string" | "text" | "number" | "integer" | "boolean" | "enum" | "list" | "json";

export interface FieldSpec {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  nullable: boolean;
  description?: string;
  default?: unknown;
  options?: unknown[];
  min?: number;
  max?: number;
  templated: boolean;
}

/** Follow a local `$ref` (`#/$defs/X`) against the root schema. */
export function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; i < 10 && s && typeof s.$ref === "string"; i++) {
    const path = s.$ref.replace(/^#\//, "").split("/");
    let target: unknown = root;
    for (const p of path) target = (target as Record<string, unknown> | undefined)?.[p];
    if (!target) break;
    const { $ref: _ignored, ...rest } = s;
    s = { ...(target as JsonSchema), ...rest };
  }
  return s;
}

/** Unwrap `anyOf: [X, {type: null}]` (pydantic's Optional) into X plus a nullable flag. */
export function unwrapNullable(schema: JsonSchema, root: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const s = deref(schema, root);
  const variants = s.anyOf ?? s.oneOf;
  if (variants) {
    const nonNull = variants.filter((v) => v.type !== "null");
    const nullable = nonNull.length < variants.length;
    if (nonNull.length === 1) {
      const { anyOf: _a, oneOf: _o, ...rest } = s;
      return { schema: { ...deref(nonNull[0], root), ...rest }, nullable };
    }
    return { schema: s, nullable };
  }
  if (Array.isArray(s.type) && s.type.includes("null")) {
    const types = s.type.filter((t) => t !== "null");
    return { schema: { ...s, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { schema: s, nullable: false };
}

const LONG_TEXT = /prompt|system|expression|template|body|script|code|query_text/i;

export function kindOf(name: string, s: JsonSchema): FieldKind {
  if (Array.isArray(s.enum) && s.enum.length) return "enum";
  if (s.const !== undefined) return "enum";
  const t = Array.isArray(s.type) ? undefined : s.type;
  switch (t) {
    case "string":
      return (s.maxLength ?? Infinity) > 10_000 || LONG_TEXT.test(name) ? "text" : "string";
    case "number":
      return "number";
    case "integer":
      return "integer";
    case "boolean":
      return "boolean";
    case "array": {
      // A list of plain strings (e.g. an llm node's fallback_models) is a list input; other arrays stay JSON.
      const items = s.items;
      const plain = items && !Array.isArray(items.type) && items.type === "string" && !items.enum && !items.anyOf && !items.$ref;
      return plain ? "list" : "json";
    }
    default:
      return "json"; // object, unions and untyped (Any)
  }
}

function humanise(name: string): string {
  const s = name.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `titles`: label fields by their schema `title` when they have one (hand-written forms, e.g. an approval's);
 * node configs keep the field name (pydantic titles every field). */
export function fieldsFor(root: JsonSchema, templated: string[] = [], opts: { titles?: boolean } = {}): FieldSpec[] {
  const props = root.properties ?? {};
  const required = new Set(root.required ?? []);
  return Object.entries(props).map(([name, raw]) => {
    const { schema, nullable } = unwrapNullable(raw, root);
    const kind = kindOf(name, schema);
    const min = schema.minimum ?? schema.exclusiveMinimum;
    const max = schema.maximum ?? schema.exclusiveMaximum;
    return {
      name,
      label: opts.titles && typeof raw.title === "string" && raw.title.trim() ? raw.title : humanise(name),
      kind,
      required: required.has(name),
      nullable,
      description: (raw.description ?? schema.description) as string | undefined,
      default: raw.default !== undefined ? raw.default : schema.default,
      options: kind === "enum" ? (schema.enum ?? [schema.const]) : undefined,
      min: typeof min === "number" ? min : undefined,
      max: typeof max === "number" ? max : undefined,
      templated: templated.includes(name),
    };
  });
}

/** The text a field shows for a value (JSON fields show pretty JSON; absent values show ""). */
export function toText(spec: FieldSpec, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (spec.kind === "json") return JSON.stringify(value, null, 2);
  if (spec.kind === "list") return Array.isArray(value) ? value.map(String).join("\n") : String(value);
  return String(value);
}

export type Parsed = { ok: true; value: unknown; remove: boolean } | { ok: false; error: string };

/** Parse what the user typed. Empty optional input removes the key so the server default applies. */
export function parseField(spec: FieldSpec, text: string): Parsed {
  const t = spec.kind === "text" || spec.kind === "string" ? text : text.trim();
  if (t === "") return { ok: true, value: undefined, remove: true };
  switch (spec.kind) {
    case "string":
    case "text":
      return { ok: true, value: text, remove: false };
    case "number":
    case "integer": {
      const n = Number(t);
      if (!Number.isFinite(n)) return { ok: false, error: "enter a number" };
      if (spec.kind === "integer" && !Number.isInteger(n)) return { ok: false, error: "enter a whole number" };
      if (spec.min !== undefined && n < spec.min) return { ok: false, error: `at least ${spec.min}` };
      if (spec.max !== undefined && n > spec.max) return { ok: false, error: `at most ${spec.max}` };
      return { ok: true, value: n, remove: false };
    }
    case "boolean":
      return { ok: true, value: t === "true", remove: false };
    case "list":
      return { ok: true, value: parseList(t), remove: false };
    case "enum": {
      const match = (spec.options ?? []).find((o) => String(o) === t);
      return match === undefined ? { ok: false, error: "choose a value" } : { ok: true, value: match, remove: false };
    }
    case "json":
      try {
        return { ok: true, value: JSON.parse(t), remove: false };
      } catch (e) {
        return { ok: false, error: `invalid JSON: ${(e as Error).message}` };
      }
  }
}

/** Required fields of a new node, filled with their defaults or an empty value of the right kind. */
export function initialConfig(root: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fieldsFor(root)) {
    if (!f.required) continue;
    if (f.default !== undefined) out[f.name] = f.default;
    else if (f.kind === "enum" && f.options?.length) out[f.name] = f.options[0];
  }
  return out;
}

/** A list input's lines as the list of strings it means: trimmed, without empty lines. */
export function parseList(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}
