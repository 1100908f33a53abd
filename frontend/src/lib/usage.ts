// Pure shaping of the usage and budget answers for the Usage page: date ranges in the browser's time zone,
// cost per day stacked by flow or model, the budget bar. No React, no fetching: tested in usage.test.ts.
import type { Budget, UsageItem } from "../types";

/** The browser's IANA time zone (what the usage API groups days by). */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function dateIn(instant: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** This month so far in a time zone: the 1st to today. */
export function thisMonth(now: Date, tz: string): { from: string; to: string } {
  const today = dateIn(now, tz);
  return { from: `${today.slice(0, 8)}01`, to: today };
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Every date from `from` to `to` inclusive (calendar arithmetic in UTC, so no DST gaps); [] when reversed. */
export function daysBetween(from: string, to: string): string[] {
  if (!DAY_RE.test(from) || !DAY_RE.test(to)) return [];
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length <= 3660; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** The longest range the stacked chart asks day by day (one request per day). */
export const MAX_STACKED_DAYS = 62;

export function rangeProblem(from: string, to: string): string | null {
  if (!DAY_RE.test(from) || !DAY_RE.test(to)) return "Pick both dates.";
  if (from > to) return "The start is after the end.";
  if (daysBetween(from, to).length > MAX_STACKED_DAYS) return `Pick at most ${MAX_STACKED_DAYS} days.`;
  return null;
}

export interface Series {
  /** A safe chart data key (`s0`, `s1`, … or `other`): flow ids and model names contain dots and slashes,
   * which chart libraries read as property paths. */
  dataKey: string;
  key: string;
  label: string;
  total: number;
}

export interface DayRow {
  day: string;
  total: number;
  [dataKey: string]: number | string;
}

export interface Stacked {
  series: Series[];
  rows: DayRow[];
}

export const OTHER_KEY = "other";

/** How an item is named: its label, else its key; the model group of node runs that called no model has key "". */
export function itemLabel(it: Pick<UsageItem, "key" | "label">): string {
  return it.label || it.key || "no model call";
}

/** A dollar axis tick: whole dollars from $10, cents from $0.01, and enough decimals below (runs without an
 * LLM cost are a few millionths of a dollar: `$0.000025`, not `$0.00` on every tick). */
export function axisUsd(v: number): string {
  if (!Number.isFinite(v) || v === 0) return "$0";
  const a = Math.abs(v);
  const sign = v < 0 ? "-" : "";
  if (a >= 10) return `${sign}$${Math.round(a)}`;
  if (a >= 0.01) return `${sign}$${a.toFixed(2)}`;
  const decimals = Math.min(8, Math.ceil(-Math.log10(a)) + 1);
  return `${sign}$${a.toFixed(decimals).replace(/0+$/, "")}`;
}

/**
 * Cost per day stacked by flow or model. `perDay` holds, for each day, the items of a `group_by=flow|model`
 * answer for that day alone. Series are ordered by their total over the range, largest first; past
 * `maxSeries` the smallest are merged into one "Other" series. Days without an answer are zero. Amounts are
 * `total_usd`.
 */
export function stackByDay(days: string[], perDay: Record<string, UsageItem[] | undefined>, maxSeries = 8): Stacked {
  const totals = new Map<string, { label: string; total: number }>();
  for (const d of days) {
    for (const it of perDay[d] ?? []) {
      const cur = totals.get(it.key) ?? { label: itemLabel(it), total: 0 };
      cur.total += it.total_usd;
      totals.set(it.key, cur);
    }
  }
  const ordered = [...totals.entries()]
    .map(([key, v]) => ({ key, label: v.label, total: v.total }))
    .sort((a, b) => b.total - a.total || a.label.localeCompare(b.label));
  const overflow = ordered.length > maxSeries;
  const kept = overflow ? ordered.slice(0, Math.max(maxSeries - 1, 0)) : ordered;
  const series: Series[] = kept.map((s, i) => ({ dataKey: `s${i}`, ...s }));
  const keyOf = new Map(series.map((s) => [s.key, s.dataKey]));
  if (overflow) {
    const rest = ordered.slice(kept.length);
    series.push({ dataKey: OTHER_KEY, key: OTHER_KEY, label: `Other (${rest.length})`, total: rest.reduce((a, s) => a + s.total, 0) });
  }
  const rows = days.map((day) => {
    const row: DayRow = { day, total: 0 };
    for (const s of series) row[s.dataKey] = 0;
    for (const it of perDay[day] ?? []) {
      const k = keyOf.get(it.key) ?? OTHER_KEY;
      row[k] = (row[k] as number) + it.total_usd;
      row.total += it.total_usd;
    }
    return row;
  });
  return { series, rows };
}

/** Tokens per day from a `group_by=day` answer (item keys are dates); days without an item are zero. */
export function tokensByDay(days: string[], items: UsageItem[]): { day: string; tokens_in: number; tokens_out: number }[] {
  const byKey = new Map(items.map((i) => [i.key.slice(0, 10), i]));
  return days.map((day) => ({ day, tokens_in: byKey.get(day)?.tokens_in ?? 0, tokens_out: byKey.get(day)?.tokens_out ?? 0 }));
}

/** The flows that cost most, largest first. */
export function topItems(items: UsageItem[], n = 10): UsageItem[] {
  return [...items].sort((a, b) => b.total_usd - a.total_usd || a.label.localeCompare(b.label)).slice(0, n);
}

export interface BudgetBar {
  /** Where month-to-date, the soft and the hard limit sit on the bar, in percent of its length. */
  spentPct: number;
  softPct: number | null;
  hardPct: number | null;
  /** The amount at the bar's right end. */
  scaleUsd: number;
  state: "none" | "ok" | "soft" | "hard";
  /** Month-to-date as a percentage of the hard limit (else the soft one); null without limits. */
  usedOfLimitPct: number | null;
}

const pct = (v: number, scale: number) => (scale > 0 ? Math.min(100, Math.max(0, (v / scale) * 100)) : 0);

/** The budget bar: the scale is the largest of the hard limit, the soft limit and the month-to-date spend. */
export function budgetBar(b: Budget): BudgetBar {
  const spent = Math.max(0, b.month_to_date_usd);
  const soft = b.monthly_soft_usd;
  const hard = b.monthly_hard_usd;
  const scale = Math.max(spent, soft ?? 0, hard ?? 0);
  const limit = hard ?? soft;
  const state = hard !== null && spent >= hard ? "hard" : soft !== null && spent >= soft ? "soft" : limit === null ? "none" : "ok";
  return {
    spentPct: pct(spent, scale),
    softPct: soft === null ? null : pct(soft, scale),
    hardPct: hard === null ? null : pct(hard, scale),
    scaleUsd: scale,
    state,
    usedOfLimitPct: limit === null ? null : limit > 0 ? (spent / limit) * 100 : spent > 0 ? Infinity : 0,
  };
}

/** A limit as typed: empty means none (null); otherwise a non-negative amount. */
export function parseLimit(text: string): { ok: true; value: number | null } | { ok: false; error: string } {
  const t = text.trim().replace(/^\$/, "");
  if (t === "") return { ok: true, value: null };
  const n = Number(t);
  if (!Number.isFinite(n) || n < 0) return { ok: false, error: "enter an amount in USD, or leave empty for none" };
  return { ok: true, value: n };
}

/** The soft limit must not exceed the hard one (both optional). */
export function limitsProblem(soft: number | null, hard: number | null): string | null {
  return soft !== null && hard !== null && soft > hard ? "The soft limit is above the hard limit." : null;
}
