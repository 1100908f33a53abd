// Display helpers: times, durations, money, tokens.

export function relTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h}h ago`;
  const d = Math.round(h / 24);
  if (d < 30) return `${d}d ago`;
  return new Date(t).toLocaleDateString();
}

export function absTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString()}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s % 60);
  if (m < 60) return `${m}m ${rest}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function usd(v: number | string | null | undefined): string {
  if (v === null || v === undefined || v === "") return "—";
  const n = typeof v === "string" ? Number(v) : v;
  if (!Number.isFinite(n)) return String(v);
  if (n === 0) return "$0.00";
  if (n < 0.01) return `$${n.toFixed(6).replace(/0+$/, "")}`;
  return `$${n.toFixed(n < 1 ? 4 : 2)}`;
}

export function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return v.toLocaleString();
}

export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 12)}…` : id;
}

/** When a RETRYING node tries again, relative to `now`: "next attempt in 12 s", "in 3 min", or "due now". */
export function nextAttempt(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "next attempt time unknown";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return `next attempt at ${iso}`;
  const s = Math.ceil((t - now) / 1000);
  if (s <= 0) return "next attempt due now";
  if (s < 90) return `next attempt in ${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `next attempt in ${m} min`;
  return `next attempt in ${Math.round(m / 60)} h`;
}
