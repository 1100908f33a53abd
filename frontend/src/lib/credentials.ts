// Pure helpers of the Credentials, Members and allow-list pages: template snippets, which value fields are
// typed as passwords, what a value form sends, and the API's 422 errors placed next to the field they name.
import { ApiError } from "./api";
import type { CredentialType, JsonSchema } from "../types";

/** The `{{ secrets.… }}` references a flow may use for a credential: the short form first when its type has one. */
export function secretSnippets(name: string, fields: string[], type?: Pick<CredentialType, "default_field"> | null): string[] {
  const out: string[] = [];
  if (type?.default_field && fields.includes(type.default_field)) out.push(`{{ secrets.${name} }}`);
  for (const f of fields) out.push(`{{ secrets.${name}.${f} }}`);
  return out;
}

// Value fields that locate or name something rather than authenticate: shown as plain text while typed.
// Every other field (key, token, password, value, a database url that embeds a password, generic pairs) is a
// password input. Either way the console never shows a stored value: the API never returns one.
const PLAIN_FIELDS = new Set([
  "host",
  "port",
  "database",
  "username",
  "provider",
  "base_url",
  "api_version",
  "region",
  "role_arn",
  "sslmode",
  "security",
  "from_address",
  "name",
]);

/** A field marked `writeOnly` or `format: password` in the value schema (pydantic's SecretStr) is secret;
 * unmarked fields are secret unless they only locate or name something. */
export function isSecretField(field: string, schema?: JsonSchema): boolean {
  const prop = schema?.properties?.[field];
  if (prop && (prop.writeOnly === true || prop.format === "password")) return true;
  return !PLAIN_FIELDS.has(field);
}

/** A value as the form holds it, without unset fields (so the type's defaults apply). */
export function cleanValue(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out;
}

export interface Pair {
  key: string;
  value: string;
}

/** Key/value rows of a generic credential as its value: blank rows are dropped, keys trimmed. */
export function pairsToValue(pairs: Pair[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const key = p.key.trim();
    if (!key && !p.value) continue;
    out[key] = p.value;
  }
  return out;
}

/** True when the type's value is free key/value pairs (no declared fields). */
export function isPairsType(type: Pick<CredentialType, "value_schema">): boolean {
  return !type.value_schema.properties && type.value_schema.additionalProperties !== undefined;
}

export interface PlacedErrors {
  /** Messages for the page's own inputs (`name`, `type`, `description`, `allowed_hosts`…). */
  fields: Record<string, string[]>;
  /** Messages for the value form, by value field (`value.key` -> `key`). */
  value: Record<string, string[]>;
  /** What could not be placed next to a field. */
  other: string | null;
}

/**
 * Places an API error next to the field it names. The API names it in `details.field` (domain refusals:
 * `value.key`) or in each entry of a `details` list (request validation: `allowed_hosts.2`); its message starts
 * with `field: `. `lists` gives what was sent for list fields, so an entry is named by its text, not its index.
 */
export function placeError(e: unknown, lists: Record<string, string[]> = {}): PlacedErrors {
  const out: PlacedErrors = { fields: {}, value: {}, other: null };
  const message = e instanceof Error ? e.message : String(e);
  const details = e instanceof ApiError ? e.details : null;
  const found: { field: string; message: string }[] = [];
  if (Array.isArray(details)) {
    for (const d of details as { field?: unknown; message?: unknown }[])
      if (typeof d?.field === "string" && d.field !== "(body)") found.push({ field: d.field, message: typeof d.message === "string" ? d.message : message });
  } else if (details && typeof details === "object") {
    const field = (details as { field?: unknown }).field;
    if (typeof field === "string" && field) found.push({ field, message: message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message });
  }
  if (!found.length) {
    out.other = message;
    return out;
  }
  for (const f of found) {
    const [head, next, ...rest] = f.field.split(".");
    const push = (into: Record<string, string[]>, key: string, text: string) => (into[key] = [...(into[key] ?? []), text]);
    if (head === "value" && next !== undefined) push(out.value, next, f.message);
    else if (next !== undefined && /^\d+$/.test(next) && !rest.length) {
      const sent = lists[head]?.[Number(next)];
      push(out.fields, head, `${sent !== undefined ? `'${sent}'` : `item ${Number(next) + 1}`}: ${f.message}`);
    } else push(out.fields, head, f.message);
  }
  return out;
}

/** An allow-list as typed (one host or host:port per line, or separated by commas or spaces): trimmed, unique. */
export function parseHosts(text: string): string[] {
  const seen = new Set<string>();
  for (const h of text.split(/[\s,]+/)) {
    const t = h.trim().toLowerCase();
    if (t) seen.add(t);
  }
  return [...seen];
}

/** Flows whose live version uses a credential, from a 409 of DELETE (`details.flows`). */
export function blockingFlows(e: unknown): { flow_id: string; flow_name: string }[] | null {
  if (!(e instanceof ApiError) || e.status !== 409) return null;
  const flows = (e.details as { flows?: unknown } | null)?.flows;
  return Array.isArray(flows) ? (flows as { flow_id: string; flow_name: string }[]) : [];
}
