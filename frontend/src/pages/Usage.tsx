// Usage and cost of a workspace: cost per day stacked by flow or model, tokens per day, the flows that cost
// most, and the monthly budget (admins edit its limits). Charts are recharts; the data shaping is lib/usage.ts.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, errorMessage } from "../lib/api";
import { absTime, num, usd } from "../lib/format";
import { keys } from "../lib/queryKeys";
import { paths, useTitle } from "../lib/router";
import {
  axisUsd,
  browserTimeZone,
  budgetBar,
  daysBetween,
  limitsProblem,
  parseLimit,
  itemLabel,
  rangeProblem,
  stackByDay,
  thisMonth,
  tokensByDay,
  topItems,
} from "../lib/usage";
import type { Budget, UsageItem, UsageReport } from "../types";
import { useSession } from "../session";
import { useToast } from "../components/Toasts";
import { Empty, ErrorState, Spinner } from "../components/ui";

const COLORS = ["#6366f1", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#94a3b8"];
const PARALLEL = 6;

/** Runs `fn` over `xs` with at most `limit` calls in flight, keeping the order of `xs`. */
async function mapLimited<T, R>(xs: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, xs.length) }, worker));
  return out;
}

type Loaded = { days: string[]; byDay: UsageReport; byFlow: UsageReport; perDay: Record<string, UsageItem[]> };

function BudgetCard({ admin }: { admin: boolean }) {
  const { workspace } = useSession();
  const toast = useToast();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: keys.budget(workspace.id), queryFn: () => api.getBudget(workspace.id), staleTime: 0 });
  const budget: Budget | null = q.data ?? null;
  const error = q.error ? errorMessage(q.error) : null;
  const [soft, setSoft] = useState("");
  const [hard, setHard] = useState("");
  const [busy, setBusy] = useState(false);
  const load = () => void q.refetch();
  // The limit fields start from each budget the server answers.
  useEffect(() => {
    if (!q.data) return;
    setSoft(q.data.monthly_soft_usd === null ? "" : String(q.data.monthly_soft_usd));
    setHard(q.data.monthly_hard_usd === null ? "" : String(q.data.monthly_hard_usd));
  }, [q.data]);

  if (error && !budget) return <div className="card"><ErrorState title="Could not load the budget" message={error} onRetry={load} /></div>;
  if (!budget) return <div className="card"><Spinner label="Loading the budget…" /></div>;

  const bar = budgetBar(budget);
  const ps = parseLimit(soft);
  const ph = parseLimit(hard);
  const problem = !ps.ok ? `Soft limit: ${ps.error}` : !ph.ok ? `Hard limit: ${ph.error}` : limitsProblem(ps.value, ph.value);
  const changed = ps.ok && ph.ok && (ps.value !== budget.monthly_soft_usd || ph.value !== budget.monthly_hard_usd);
  const save = async () => {
    if (!ps.ok || !ph.ok) return;
    setBusy(true);
    try {
      const b = await api.putBudget(workspace.id, { monthly_soft_usd: ps.value, monthly_hard_usd: ph.value });
      qc.setQueryData(keys.budget(workspace.id), b);
      toast.success("Budget saved");
    } catch (e) {
      toast.error("Could not save the budget", errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const data = [{ name: "This month", spent: budget.month_to_date_usd }];
  const color = bar.state === "hard" ? "#ef4444" : bar.state === "soft" ? "#f59e0b" : "#6366f1";

  return (
    <div className="card form-card" data-testid="budget" data-state={bar.state}>
      <h3>Monthly budget</h3>
      <div className="budget-line">
        <span className="strong" data-testid="budget-spent">{usd(budget.month_to_date_usd)}</span> spent this month
        {bar.usedOfLimitPct !== null && Number.isFinite(bar.usedOfLimitPct) && (
          <span className="muted"> · {Math.round(bar.usedOfLimitPct)}% of the {budget.monthly_hard_usd !== null ? "hard" : "soft"} limit</span>
        )}
        {bar.state === "hard" && <span className="pill pill-danger">hard limit reached: LLM calls are refused</span>}
        {bar.state === "soft" && <span className="pill pill-warn">soft limit crossed{budget.soft_crossed_at ? ` ${absTime(budget.soft_crossed_at)}` : ""}</span>}
      </div>
      {bar.scaleUsd > 0 && (
        <div className="budget-chart">
          <ResponsiveContainer width="100%" height={70}>
            <BarChart data={data} layout="vertical" margin={{ top: 14, right: 24, bottom: 0, left: 0 }}>
              <XAxis type="number" domain={[0, bar.scaleUsd]} tickFormatter={axisUsd} fontSize={11} />
              <YAxis type="category" dataKey="name" hide />
              <Tooltip formatter={(v) => usd(Number(v))} />
              <Bar dataKey="spent" name="Month to date" fill={color} barSize={18} isAnimationActive={false} />
              {budget.monthly_soft_usd !== null && (
                <ReferenceLine x={budget.monthly_soft_usd} stroke="#f59e0b" strokeDasharray="4 2" label={{ value: "soft", position: "top", fontSize: 11 }} />
              )}
              {budget.monthly_hard_usd !== null && (
                <ReferenceLine x={budget.monthly_hard_usd} stroke="#ef4444" label={{ value: "hard", position: "top", fontSize: 11 }} />
              )}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
      {admin ? (
        <div className="budget-form">
          <div className="field">
            <label className="field-label" htmlFor="budget-soft">Soft limit (USD / month)</label>
            <input id="budget-soft" className="input mono" inputMode="decimal" value={soft} placeholder="none" onChange={(e) => setSoft(e.target.value)} />
            <div className="field-help">Crossing it is recorded and shown; nothing stops.</div>
          </div>
          <div className="field">
            <label className="field-label" htmlFor="budget-hard">Hard limit (USD / month)</label>
            <input id="budget-hard" className="input mono" inputMode="decimal" value={hard} placeholder="none" onChange={(e) => setHard(e.target.value)} />
            <div className="field-help">Reaching it refuses further LLM calls until the month ends.</div>
          </div>
          <div className="budget-actions">
            <button className="btn btn-primary" data-testid="save-budget" disabled={!changed || !!problem || busy} onClick={() => void save()}>Save limits</button>
          </div>
          {problem && <div className="field-error">{problem}</div>}
        </div>
      ) : (
        <div className="muted small">
          Soft limit {budget.monthly_soft_usd === null ? "none" : usd(budget.monthly_soft_usd)} · hard limit{" "}
          {budget.monthly_hard_usd === null ? "none" : usd(budget.monthly_hard_usd)}. Only admins change them.
        </div>
      )}
    </div>
  );
}

export function Usage() {
  const { workspace } = useSession();
  const admin = workspace.role === "admin";
  const tz = useMemo(() => browserTimeZone(), []);
  const initial = useMemo(() => thisMonth(new Date(), tz), [tz]);
  const [from, setFrom] = useState(initial.from);
  const [to, setTo] = useState(initial.to);
  const [stackBy, setStackBy] = useState<"flow" | "model">("flow");
  useTitle(`Usage · ${workspace.name}`);
  const problem = rangeProblem(from, to);

  // One query per range and stacking: the day and flow totals, then one answer per day (the API groups by one
  // dimension, the stack is day × flow or model).
  const usage = useQuery({
    queryKey: keys.usage(workspace.id, { from, to, tz, stackBy }),
    enabled: !problem,
    staleTime: 0,
    retry: false,
    queryFn: async (): Promise<Loaded> => {
      const q = { from, to, tz };
      const days = daysBetween(from, to);
      const [byDay, byFlow] = await Promise.all([
        api.usage(workspace.id, { ...q, group_by: "day" }),
        api.usage(workspace.id, { ...q, group_by: "flow" }),
      ]);
      const reports = await mapLimited(days, PARALLEL, (d) => api.usage(workspace.id, { from: d, to: d, tz, group_by: stackBy }));
      const perDay: Record<string, UsageItem[]> = {};
      days.forEach((d, i) => (perDay[d] = reports[i].items));
      return { days, byDay, byFlow, perDay };
    },
  });
  const data: Loaded | null = !problem && usage.data ? usage.data : null;
  const error = !problem && usage.error ? errorMessage(usage.error) : null;
  const load = () => void usage.refetch();

  const stacked = useMemo(() => (data ? stackByDay(data.days, data.perDay) : null), [data]);
  const tokens = useMemo(() => (data ? tokensByDay(data.days, data.byDay.items) : []), [data]);
  const top = useMemo(() => (data ? topItems(data.byFlow.items) : []), [data]);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Usage</h1>
        </div>
        <div className="row gap usage-range">
          <label className="field-label" htmlFor="usage-from">From</label>
          <input id="usage-from" type="date" className="input input-sm" value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
          <label className="field-label" htmlFor="usage-to">to</label>
          <input id="usage-to" type="date" className="input input-sm" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
          <span className="muted small" data-testid="usage-tz" title="Days are counted in your browser's time zone">{tz}</span>
        </div>
      </div>
      {problem && <div className="callout callout-warn">{problem}</div>}
      {error && <ErrorState title="Could not load usage" message={error} onRetry={load} />}
      {!problem && !error && !data && <div className="card"><Spinner label="Loading usage…" /></div>}
      {data && stacked && (
        <>
          <div className="stat-row" data-testid="usage-totals">
            <div className="stat"><div className="stat-label">Total cost</div><div className="stat-value">{usd(data.byDay.total.total_usd)}</div></div>
            <div className="stat"><div className="stat-label">LLM</div><div className="stat-value">{usd(data.byDay.total.llm_usd)}</div></div>
            <div className="stat"><div className="stat-label">Compute</div><div className="stat-value">{usd(data.byDay.total.compute_usd)}</div></div>
            <div className="stat"><div className="stat-label">Orchestration</div><div className="stat-value">{usd(data.byDay.total.orchestration_usd)}</div></div>
            <div className="stat"><div className="stat-label">Tokens in / out</div><div className="stat-value">{num(data.byDay.total.tokens_in)} / {num(data.byDay.total.tokens_out)}</div></div>
            <div className="stat"><div className="stat-label">Node runs</div><div className="stat-value">{num(data.byDay.total.node_runs)}</div></div>
          </div>
          <div className="card form-card">
            <div className="row gap chart-head">
              <h3>Cost per day</h3>
              <div className="seg" role="tablist" aria-label="Stack by">
                <button role="tab" aria-selected={stackBy === "flow"} className={stackBy === "flow" ? "on" : ""} data-testid="stack-flow" onClick={() => setStackBy("flow")}>By flow</button>
                <button role="tab" aria-selected={stackBy === "model"} className={stackBy === "model" ? "on" : ""} data-testid="stack-model" onClick={() => setStackBy("model")}>By model</button>
              </div>
            </div>
            {stacked.series.length === 0 ? (
              <Empty title="No cost in this range">Runs in these days will show here.</Empty>
            ) : (
              <div data-testid="cost-chart">
                <ResponsiveContainer width="100%" height={280}>
                  <BarChart data={stacked.rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
                    <CartesianGrid strokeDasharray="3 3" vertical={false} />
                    <XAxis dataKey="day" tickFormatter={(d: string) => d.slice(5)} fontSize={11} />
                    <YAxis tickFormatter={axisUsd} fontSize={11} width={60} />
                    <Tooltip formatter={(v) => usd(Number(v))} />
                    <Legend />
                    {stacked.series.map((s, i) => (
                      <Bar key={s.dataKey} dataKey={s.dataKey} name={s.label} stackId="cost" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
                    ))}
                  </BarChart>
                </ResponsiveContainer>
              </div>
            )}
          </div>
          <div className="card form-card">
            <h3>Tokens per day</h3>
            <ResponsiveContainer width="100%" height={200}>
              <BarChart data={tokens} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="day" tickFormatter={(d: string) => d.slice(5)} fontSize={11} />
                <YAxis tickFormatter={(v: number) => num(v)} fontSize={11} width={70} />
                <Tooltip formatter={(v) => num(Number(v))} />
                <Legend />
                <Bar dataKey="tokens_in" name="Tokens in" stackId="tokens" fill="#0ea5e9" isAnimationActive={false} />
                <Bar dataKey="tokens_out" name="Tokens out" stackId="tokens" fill="#6366f1" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <div className="card card-gap">
            <table className="table" data-testid="top-flows">
              <thead>
                <tr>
                  <th>Flow</th>
                  <th className="right">Cost</th>
                  <th className="right">LLM</th>
                  <th className="right">Tokens in / out</th>
                  <th className="right">Node runs</th>
                </tr>
              </thead>
              <tbody>
                {top.length === 0 && (
                  <tr><td colSpan={5} className="muted">No flow ran in this range.</td></tr>
                )}
                {top.map((f) => (
                  <tr key={f.key} data-testid="top-flow-row" data-flow={f.key}>
                    <td><a href={`#${paths.flow(workspace.id, f.key)}`}>{itemLabel(f)}</a></td>
                    <td className="right mono">{usd(f.total_usd)}</td>
                    <td className="right mono">{usd(f.llm_usd)}</td>
                    <td className="right mono">{num(f.tokens_in)} / {num(f.tokens_out)}</td>
                    <td className="right mono">{num(f.node_runs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <BudgetCard admin={admin} />
    </div>
  );
}
