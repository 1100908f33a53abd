// Approvals in the console (issue 11): the decision form's values and errors, expiry, the inbox badge, the run
// view's approval per node and what approval events change. Pure: the components and hooks do the I/O.
import { ApiError } from "./api";
import { fieldsFor } from "./schemaForm";
import type { Approval, ApprovalStatus, JsonSchema, RunEvent } from "../types";

export type Decision = "approve" | "reject";

/** A refused decision, placed where the person looks: on a form field, on the comment, or above the buttons. */
export interface PlacedDecisionError {
  /** Messages by top-level form field. */
  fields: Record<string, string[]>;
  comment: string | null;
  /** Shown above the buttons: a conflict, a refusal, or an error naming no field of the form. */
  other: string | null;
  kind: "conflict" | "forbidden" | "invalid" | "gone" | "unauthorized" | "other";
}

function stripField(message: string, field: string): string {
  return message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
}

/** Where the API's answer to a decision goes. 422 names its field (`fields.<name>[.<nested>]`, `comment`,
 * `decision`); 409 is decided already; 403 not an approver. */
export function placeDecisionError(e: unknown, formFields: string[] = []): PlacedDecisionError {
  const message = e instanceof Error ? e.message : String(e);
  const out: PlacedDecisionError = { fields: {}, comment: null, other: null, kind: "other" };
  if (!(e instanceof ApiError)) {
    out.other = message;
    return out;
  }
  if (e.status === 409) return { ...out, kind: "conflict", other: `Already decided: ${message}` };
  if (e.status === 403) return { ...out, kind: "forbidden", other: `You may not decide this approval: ${message}` };
  if (e.status === 410) return { ...out, kind: "gone", other: message };
  if (e.status === 401) return { ...out, kind: "unauthorized", other: message };
  if (e.status !== 422) return { ...out, other: message };
  out.kind = "invalid";
  const named: { field: string; message: string }[] = [];
  const d = e.details;
  if (Array.isArray(d)) {
    for (const item of d as { field?: unknown; message?: unknown }[])
      if (typeof item?.field === "string") named.push({ field: item.field, message: typeof item.message === "string" ? item.message : message });
  } else if (d && typeof d === "object" && typeof (d as { field?: unknown }).field === "string") {
    const field = (d as { field: string }).field;
    named.push({ field, message: stripField(message, field) });
  }
  const known = new Set(formFields);
  const others: string[] = [];
  for (const { field, message: m } of named) {
    const [head, name, ...rest] = field.split(".");
    if (head === "fields" && name !== undefined && (known.size === 0 || known.has(name))) {
      const text = rest.length ? `${rest.join(".")}: ${m}` : m;
      out.fields[name] = [...(out.fields[name] ?? []), text];
    } else if (head === "comment") out.comment = m;
    else others.push(`${field}: ${m}`);
  }
  if (!named.length) others.push(message);
  out.other = others.length ? others.join("; ") : null;
  return out;
}

/** The form's JSON Schema when it has fields to fill, else null (an approval without a form, or an empty one).
 * Required fields come first: the API stores the form as Postgres jsonb, which does not keep the author's key
 * order (shorter keys first), so the order that survives is the `required` list's. */
export function formSchema(form: JsonSchema | null | undefined): JsonSchema | null {
  if (!form || typeof form !== "object" || !form.properties || !Object.keys(form.properties).length) return null;
  const required = (form.required ?? []).filter((k) => form.properties && k in form.properties);
  const names = [...required, ...Object.keys(form.properties).filter((k) => !required.includes(k))];
  return { ...form, properties: Object.fromEntries(names.map((k) => [k, form.properties![k]])) };
}

/** The names of the form's fields, in order. */
export function formFieldNames(form: JsonSchema | null | undefined): string[] {
  const s = formSchema(form);
  return s ? fieldsFor(s).map((f) => f.name) : [];
}

/** The form's starting values: each field's `default`. */
export function initialFields(form: JsonSchema | null | undefined): Record<string, unknown> {
  const s = formSchema(form);
  const out: Record<string, unknown> = {};
  if (!s) return out;
  for (const f of fieldsFor(s)) if (f.default !== undefined && f.default !== null) out[f.name] = f.default;
  return out;
}

function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.round(h / 24)}d`;
}

/** "expires in 3h", "expired 5m ago", or null when it never expires. `soon`: under an hour left. */
export function expiry(expiresAt: string | null | undefined, now = Date.now()): { label: string; soon: boolean; past: boolean } | null {
  if (!expiresAt) return null;
  const t = Date.parse(expiresAt);
  if (Number.isNaN(t)) return null;
  const left = (t - now) / 1000;
  if (left <= 0) return { label: `expired ${span(-left)} ago`, soon: false, past: true };
  return { label: `expires in ${span(left)}`, soon: left < 3600, past: false };
}

/** The nav badge: nothing for 0, the count, or "50+" when the first page was full. */
export function badgeLabel(count: number, more: boolean): string | null {
  if (count <= 0) return null;
  return more ? `${count}+` : String(count);
}

/** The pending approvals of a page that the caller may still decide (not the ones they decided already). */
export function decidable(items: Approval[]): Approval[] {
  return items.filter((a) => a.status === "pending" && a.may_decide);
}

export const STATUS_LABEL: Record<ApprovalStatus, string> = {
  pending: "Waiting",
  approved: "Approved",
  rejected: "Rejected",
  expired: "Expired",
  withdrawn: "Withdrawn",
};

/** The approval to show on a node of a run: the pending one, else the newest (a loop may ask more than once). */
export function approvalForNode(items: Approval[], nodeId: string): Approval | undefined {
  const mine = items.filter((a) => a.node_id === nodeId);
  return mine.find((a) => a.status === "pending") ?? [...mine].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))[0];
}

const APPROVAL_EVENT = /^approval\.(requested|decided|expired|withdrawn)$/;

export function isApprovalEvent(e: Pick<RunEvent, "type">): boolean {
  return APPROVAL_EVENT.test(e.type);
}

/** The approval id an approval event names (`data.approval`). */
export function eventApprovalId(e: Pick<RunEvent, "data">): string | null {
  const id = (e.data as { approval?: unknown } | null)?.approval;
  return typeof id === "string" ? id : null;
}

/** Approvals after events, until the next fetch: an expired one is expired, a decided or withdrawn one can no
 * longer be decided. `refetch`: an event the list cannot apply by itself (a new request, a decision's outcome). */
export function applyApprovalEvents(items: Approval[], events: Pick<RunEvent, "type" | "data">[]): { items: Approval[]; refetch: boolean } {
  let next = items;
  let refetch = false;
  for (const e of events) {
    if (!isApprovalEvent(e)) continue;
    refetch = true;
    const id = eventApprovalId(e);
    if (!id || e.type === "approval.requested") continue;
    const status: ApprovalStatus | null = e.type === "approval.expired" ? "expired" : e.type === "approval.withdrawn" ? "withdrawn" : null;
    next = next.map((a) => (a.id === id ? { ...a, may_decide: false, ...(status ? { status } : {}) } : a));
  }
  return { items: next, refetch };
}

/** Approval nodes of a run as a key that changes when one of them changes status (a cue to fetch approvals). */
export function approvalNodesKey(nodes: { node_id: string; type?: string | null; status: string }[]): string {
  return nodes
    .filter((n) => n.type === "approval")
    .map((n) => `${n.node_id}:${n.status}`)
    .sort()
    .join(",");
}

/** Approval nodes that are running but show no pending approval yet (it is being recorded): fetch again. */
export function awaitingRecord(nodes: { node_id: string; type?: string | null; status: string }[], items: Approval[]): string[] {
  return nodes
    .filter((n) => n.type === "approval" && n.status === "RUNNING")
    .map((n) => n.node_id)
    .filter((id) => !items.some((a) => a.node_id === id && a.status === "pending"));
}

/** One line for a decided approval: "Approved by local|ben: go". */
export function outcomeLine(a: Pick<Approval, "status" | "outcome" | "decisions">): string | null {
  if (a.status === "pending") return null;
  const outcome = (a.outcome ?? {}) as { decision?: unknown; by?: unknown; comment?: unknown };
  const by = Array.isArray(outcome.by) ? outcome.by.join(", ") : typeof outcome.by === "string" ? outcome.by : null;
  const head = STATUS_LABEL[a.status];
  const who = by && by !== "timeout" ? ` by ${by}` : by === "timeout" ? " (nobody decided in time)" : "";
  const comment = typeof outcome.comment === "string" && outcome.comment ? `: ${outcome.comment}` : "";
  return `${head}${who}${comment}`;
}
