// Triggers (issue 12) in the console: the API calls (through lib/api.ts's `request`), the cron helper's
// presets and their EventBridge Scheduler expressions, fire times in the user's zone, the signed curl
// example of a webhook (the README's), and the shapes SQS and EventBridge deliveries take.
import type { components } from "./api-schema";
import { request } from "./api";

type Schemas = components["schemas"];
export type Trigger = Schemas["Trigger"];
export type TriggerWithSecret = Schemas["TriggerWithSecret"];
export type TriggerDelivery = Schemas["TriggerDelivery"];
export type DeliveryOutcome = Schemas["DeliveryOutcome"];
export type SchedulePreviewResult = Schemas["SchedulePreviewResult"];
export type TriggerKind = Trigger["kind"];
export const TRIGGER_KINDS: TriggerKind[] = ["schedule", "webhook", "sqs", "eventbridge"];
export const KIND_LABEL: Record<TriggerKind, string> = {
  schedule: "Schedule",
  webhook: "Webhook",
  sqs: "SQS",
  eventbridge: "EventBridge",
};
export type WebhookPreset = "nexod" | "github" | "stripe" | "slack";
export const WEBHOOK_PRESETS: { value: WebhookPreset; label: string; header: string }[] = [
  { value: "nexod", label: "Nexod (X-Nexod-Signature)", header: "X-Nexod-Signature" },
  { value: "github", label: "GitHub (X-Hub-Signature-256)", header: "X-Hub-Signature-256" },
  { value: "stripe", label: "Stripe (Stripe-Signature)", header: "Stripe-Signature" },
  { value: "slack", label: "Slack (X-Slack-Signature)", header: "X-Slack-Signature" },
];

export interface TriggerBody {
  kind: TriggerKind;
  config: Record<string, unknown>;
  enabled?: boolean;
  version?: number | null;
  input_mapping?: string | null;
  secret?: string;
}
export type TriggerChange = Partial<Pick<TriggerBody, "config" | "enabled" | "version" | "input_mapping">>;
export interface PreviewBody {
  expression: string;
  timezone?: string;
  start_date?: string;
  end_date?: string;
  count?: number;
}

const enc = encodeURIComponent;
const base = (ws: string, flow: string) => `/v1/workspaces/${enc(ws)}/flows/${enc(flow)}/triggers`;
const one = (ws: string, flow: string, id: string) => `${base(ws, flow)}/${enc(id)}`;

export const triggersApi = {
  list: (ws: string, flow: string) => request<{ items: Trigger[] }>("GET", base(ws, flow)),
  get: (ws: string, flow: string, id: string) => request<Trigger>("GET", one(ws, flow, id)),
  create: (ws: string, flow: string, body: TriggerBody) => request<TriggerWithSecret>("POST", base(ws, flow), body),
  update: (ws: string, flow: string, id: string, body: TriggerChange) => request<Trigger>("PUT", one(ws, flow, id), body),
  remove: (ws: string, flow: string, id: string) => request<unknown>("DELETE", one(ws, flow, id)),
  setEnabled: (ws: string, flow: string, id: string, on: boolean) =>
    request<Trigger>("POST", `${one(ws, flow, id)}/${on ? "enable" : "disable"}`),
  test: (ws: string, flow: string, id: string, payload: unknown) =>
    request<DeliveryOutcome>("POST", `${one(ws, flow, id)}/test`, { payload }),
  rotateSecret: (ws: string, flow: string, id: string) =>
    request<TriggerWithSecret>("POST", `${one(ws, flow, id)}/rotate-secret`, {}),
  preview: (ws: string, body: PreviewBody) =>
    request<SchedulePreviewResult>("POST", `/v1/workspaces/${enc(ws)}/triggers/preview`, body),
};

// -- the cron helper ---------------------------------------------------------------------------------
export type CronPreset =
  | { kind: "minutes"; every: number }
  | { kind: "hourly"; minute: number }
  | { kind: "daily"; hour: number; minute: number }
  | { kind: "weekdays"; hour: number; minute: number }
  | { kind: "custom"; expression: string };
export type CronPresetKind = CronPreset["kind"];
export const PRESET_LABEL: Record<CronPresetKind, string> = {
  minutes: "Every N minutes",
  hourly: "Hourly",
  daily: "Daily at",
  weekdays: "Weekdays at",
  custom: "Custom",
};

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.floor(Number.isFinite(n) ? n : lo)));

/** The EventBridge Scheduler expression of a preset (`rate(…)` or a 6-field `cron(…)`, one `?`). */
export function presetExpression(p: CronPreset): string {
  switch (p.kind) {
    case "minutes": {
      const n = clamp(p.every, 1, 1440);
      return `rate(${n} ${n === 1 ? "minute" : "minutes"})`;
    }
    case "hourly":
      return `cron(${clamp(p.minute, 0, 59)} * * * ? *)`;
    case "daily":
      return `cron(${clamp(p.minute, 0, 59)} ${clamp(p.hour, 0, 23)} * * ? *)`;
    case "weekdays":
      return `cron(${clamp(p.minute, 0, 59)} ${clamp(p.hour, 0, 23)} ? * MON-FRI *)`;
    case "custom":
      return p.expression.trim();
  }
}

/** The preset an expression was made from, else `custom` (so editing a trigger opens the right form). */
export function presetOf(expression: string): CronPreset {
  const text = expression.trim();
  let m = /^rate\((\d+) minutes?\)$/.exec(text);
  if (m) return { kind: "minutes", every: Number(m[1]) };
  m = /^cron\((\d{1,2}) \* \* \* \? \*\)$/.exec(text);
  if (m) return { kind: "hourly", minute: Number(m[1]) };
  m = /^cron\((\d{1,2}) (\d{1,2}) \* \* \? \*\)$/.exec(text);
  if (m) return { kind: "daily", hour: Number(m[2]), minute: Number(m[1]) };
  m = /^cron\((\d{1,2}) (\d{1,2}) \? \* MON-FRI \*\)$/.exec(text);
  if (m) return { kind: "weekdays", hour: Number(m[2]), minute: Number(m[1]) };
  return { kind: "custom", expression: text };
}

/** A preset of another kind, keeping what carries over (the time of day). */
export function switchPreset(from: CronPreset, kind: CronPresetKind): CronPreset {
  const hour = "hour" in from ? from.hour : 9;
  const minute = "minute" in from ? from.minute : 0;
  switch (kind) {
    case "minutes":
      return { kind, every: from.kind === "minutes" ? from.every : 15 };
    case "hourly":
      return { kind, minute };
    case "daily":
    case "weekdays":
      return { kind, hour, minute };
    case "custom":
      return { kind, expression: presetExpression(from) };
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "HH:MM" of a preset's time of day; the other way, `parseTime`. */
export function timeOf(p: { hour: number; minute: number }): string {
  return `${pad(p.hour)}:${pad(p.minute)}`;
}
export function parseTime(text: string): { hour: number; minute: number } | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  return hour <= 23 && minute <= 59 ? { hour, minute } : null;
}

/** A sentence for a preset, in the schedule's own zone. */
export function describePreset(p: CronPreset, timezone: string): string {
  switch (p.kind) {
    case "minutes":
      return p.every === 1 ? "Every minute" : `Every ${p.every} minutes`;
    case "hourly":
      return `Every hour at minute ${p.minute}`;
    case "daily":
      return `Every day at ${timeOf(p)} (${timezone})`;
    case "weekdays":
      return `Monday to Friday at ${timeOf(p)} (${timezone})`;
    case "custom":
      return "Custom expression: cron(minutes hours day-of-month month day-of-week year), rate(N unit) or at(yyyy-mm-ddThh:mm:ss)";
  }
}

// -- time zones and times ----------------------------------------------------------------------------
/** The browser's zone (Intl), e.g. Europe/Berlin; UTC when it cannot tell. */
export function userTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Every IANA zone the browser knows (Intl.supportedValuesOf), UTC first; a short list where unsupported. */
export function timeZones(): string[] {
  let zones: string[] = [];
  try {
    const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
    zones = intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : [];
  } catch {
    zones = [];
  }
  if (zones.length === 0) zones = ["Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];
  const user = userTimeZone();
  return ["UTC", ...new Set([user, ...zones].filter((z) => z !== "UTC"))];
}

/** A fire time in a zone: "Mon, 30 Mar 2026, 09:00" (24-hour clock, the zone's own wall time). */
export function formatInZone(iso: string, timeZone: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(locale ?? "en-GB", {
      timeZone,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    }).format(d);
  } catch {
    return d.toISOString();
  }
}

/** A `<input type="datetime-local">` value (the user's wall time) as an ISO instant, or undefined. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** An ISO instant as a `<input type="datetime-local">` value in the user's zone. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// -- webhooks ----------------------------------------------------------------------------------------
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A copyable shell snippet that signs `"<timestamp>.<body>"` with the secret using openssl and posts it,
 * as the README's walkthrough does. Without the secret, `$HOOK_SECRET` stands in for it. */
export function curlExample(url: string, secret: string | null, body = '{"hello": "world"}'): string {
  return [
    `HOOK_URL=${shellQuote(url)}`,
    `HOOK_SECRET=${secret ? shellQuote(secret) : '"$HOOK_SECRET"  # the secret shown when the webhook was made'}`,
    `BODY=${shellQuote(body)}; TS=$(date +%s)`,
    `SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$HOOK_SECRET" | sed 's/^.* //')`,
    `curl -s -X POST "$HOOK_URL" -H "Content-Type: application/json" -H "X-Nexod-Timestamp: $TS" \\`,
    `  -H "X-Nexod-Signature: sha256=$SIG" -d "$BODY"`,
  ].join("\n");
}

/** Where a provider preset sends from: the steps to paste the URL and the secret into it. */
export function presetHint(preset: string): string {
  switch (preset) {
    case "github":
      return "In the repository's Settings → Webhooks: Payload URL = the URL, Content type = application/json, Secret = the secret.";
    case "stripe":
      return "Create a webhook endpoint with the URL in Stripe, then set this trigger's secret to its signing secret (whsec_…) with Rotate secret.";
    case "slack":
      return "Use the URL as the Request URL of the Slack app; set this trigger's secret to the app's signing secret with Rotate secret.";
    default:
      return "Sign each request: X-Nexod-Timestamp (unix seconds) and X-Nexod-Signature: sha256=HMAC-SHA256(secret, \"<timestamp>.<body>\"); 5 minutes' leeway.";
  }
}

// -- SQS and EventBridge -----------------------------------------------------------------------------
/** What the `ingress` side may add to a trigger's GET (queue URL, bus, rule name, message shape): read
 * robustly, since older APIs answer none of it. */
export interface IngressDetails {
  queueUrl?: string;
  bus?: string;
  ruleName?: string;
  shape?: unknown;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v ? v : undefined;
}

export function ingressDetails(trigger: Trigger): IngressDetails {
  const t = trigger as unknown as Record<string, unknown>;
  const nested = (t.ingress && typeof t.ingress === "object" ? t.ingress : {}) as Record<string, unknown>;
  const pick = (...keys: string[]) => {
    for (const k of keys) {
      const v = nested[k] ?? t[k];
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  };
  const config = (trigger.config ?? {}) as Record<string, unknown>;
  return {
    queueUrl: str(pick("queue_url", "queueUrl")),
    bus: str(pick("bus", "bus_name", "event_bus")) ?? str(config.bus),
    ruleName: str(pick("rule_name", "rule")),
    shape: pick("message_shape", "event_shape", "shape", "example"),
  };
}

/** The SQS message a trigger takes: `{workspace, trigger, payload, idempotency_key?}`. */
export function sqsMessage(ws: string, triggerId: string, payload: unknown = { hello: "world" }): Record<string, unknown> {
  return { workspace: ws, trigger: triggerId, payload, idempotency_key: "order-1 (optional)" };
}

/** An EventBridge event as a matching pattern sees it; the run input is the event (or the mapping of it). */
export function eventExample(pattern: unknown): Record<string, unknown> {
  const p = (pattern && typeof pattern === "object" ? pattern : {}) as Record<string, unknown>;
  const first = (v: unknown, fallback: string) => (Array.isArray(v) && typeof v[0] === "string" ? v[0] : fallback);
  return {
    version: "0",
    id: "…",
    source: first(p.source, "my.app"),
    "detail-type": first(p["detail-type"], "order.created"),
    time: "2026-11-26T12:00:00Z",
    detail: { hello: "world" },
  };
}

/** The event pattern JSON of the editor: an object, or the reason it is not one. */
export function parsePattern(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, value: {} };
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) return { ok: false, error: "an event pattern is a JSON object" };
    return { ok: true, value: v as Record<string, unknown> };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** "live" or "v3 (pinned)". */
export function versionLabel(version: number | null | undefined): string {
  return version ? `v${version} (pinned)` : "live";
}

/** How far ahead a future instant is: "in 40s", "in 5m", "in 3h", "in 2d"; "due" once it has come. */
export function untilTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((t - now) / 1000);
  if (s <= 0) return "due";
  if (s < 60) return `in ${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `in ${m}m`;
  const h = Math.round(m / 60);
  if (h < 48) return `in ${h}h`;
  return `in ${Math.round(h / 24)}d`;
}
