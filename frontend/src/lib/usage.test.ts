import { describe, expect, it } from "vitest";
import {
  axisUsd,
  budgetBar,
  dateIn,
  daysBetween,
  limitsProblem,
  MAX_STACKED_DAYS,
  OTHER_KEY,
  parseLimit,
  rangeProblem,
  stackByDay,
  thisMonth,
  tokensByDay,
  topItems,
} from "./usage";
import type { Budget, UsageItem } from "../types";

function item(key: string, total_usd: number, extra: Partial<UsageItem> = {}): UsageItem {
  return {
    key,
    label: extra.label ?? key,
    llm_usd: total_usd,
    compute_usd: 0,
    orchestration_usd: 0,
    total_usd,
    tokens_in: 0,
    tokens_out: 0,
    node_runs: 1,
    ...extra,
  };
}

const budget = (b: Partial<Budget>): Budget => ({ monthly_soft_usd: null, monthly_hard_usd: null, month_to_date_usd: 0, soft_crossed_at: null, ...b });

describe("date ranges in the browser's time zone", () => {
  it("gives the calendar date of an instant in the zone, not in UTC", () => {
    // Given 23:30 UTC on the last day of November
    const instant = new Date("2026-11-30T23:30:00Z");
    // Then it is still November 30th in New York but already December 1st in Tokyo
    expect(dateIn(instant, "America/New_York")).toBe("2026-11-30");
    expect(dateIn(instant, "Asia/Tokyo")).toBe("2026-12-01");
  });

  it("defaults to this month so far, from the 1st to today, in the zone", () => {
    const instant = new Date("2026-11-30T23:30:00Z");
    expect(thisMonth(instant, "UTC")).toEqual({ from: "2026-11-01", to: "2026-11-30" });
    expect(thisMonth(instant, "Asia/Tokyo")).toEqual({ from: "2026-12-01", to: "2026-12-01" });
  });

  it("lists every day of a range inclusively, across a DST change and a month end", () => {
    expect(daysBetween("2026-10-30", "2026-11-02")).toEqual(["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]);
    expect(daysBetween("2026-03-28", "2026-03-30")).toHaveLength(3); // Europe's DST change is on the 29th
    expect(daysBetween("2026-11-02", "2026-11-01")).toEqual([]);
    expect(daysBetween("nope", "2026-11-01")).toEqual([]);
  });

  it("refuses a reversed, incomplete or too long range", () => {
    expect(rangeProblem("2026-11-01", "2026-11-26")).toBeNull();
    expect(rangeProblem("2026-11-26", "2026-11-01")).toMatch(/after the end/);
    expect(rangeProblem("", "2026-11-01")).toMatch(/both dates/);
    expect(rangeProblem("2026-01-01", "2026-12-31")).toMatch(String(MAX_STACKED_DAYS));
  });
});

describe("cost per day stacked by flow or model", () => {
  const days = ["2026-11-01", "2026-11-02", "2026-11-03"];

  it("makes one row per day and one series per key, largest total first, with zeros where a day has none", () => {
    // Given two days with answers (by model) and one without
    const perDay = {
      "2026-11-01": [item("openai/gpt-4.1", 0.5), item("default", 0.1)],
      "2026-11-03": [item("default", 0.2), item("anthropic/claude-3.5", 2)],
    };
    // When they are stacked
    const { series, rows } = stackByDay(days, perDay);
    // Then the series are ordered by their total over the range
    expect(series.map((s) => [s.key, s.total])).toEqual([
      ["anthropic/claude-3.5", 2],
      ["openai/gpt-4.1", 0.5],
      ["default", expect.closeTo(0.3, 10)],
    ]);
    // And their chart keys are safe (model names have dots and slashes, which charts read as paths)
    expect(series.map((s) => s.dataKey)).toEqual(["s0", "s1", "s2"]);
    // And every day has a row, the empty one at zero
    expect(rows.map((r) => r.day)).toEqual(days);
    expect(rows[0]).toMatchObject({ s0: 0, s1: 0.5, s2: 0.1, total: 0.6 });
    expect(rows[1]).toEqual({ day: "2026-11-02", total: 0, s0: 0, s1: 0, s2: 0 });
    expect(rows[2]).toMatchObject({ s0: 2, s1: 0, s2: 0.2, total: 2.2 });
  });

  it("merges the smallest series into Other past the limit, keeping each day's total", () => {
    // Given five flows on one day and a limit of three series
    const perDay = { "2026-11-01": [item("a", 5), item("b", 4), item("c", 3), item("d", 2), item("e", 1)] };
    // When they are stacked
    const { series, rows } = stackByDay(["2026-11-01"], perDay, 3);
    // Then the two largest stay and the other three are one series
    expect(series.map((s) => s.key)).toEqual(["a", "b", OTHER_KEY]);
    expect(series[2]).toMatchObject({ label: "Other (3)", total: 6 });
    expect(rows[0]).toMatchObject({ s0: 5, s1: 4, other: 6, total: 15 });
  });

  it("keeps every series when they fit, and labels a series by the API's label", () => {
    const perDay = { "2026-11-01": [item("f1", 1, { label: "Nightly report" }), item("f2", 1, { label: "Alerts" })] };
    const { series } = stackByDay(["2026-11-01"], perDay, 2);
    // Equal totals are ordered by label
    expect(series.map((s) => s.label)).toEqual(["Alerts", "Nightly report"]);
    expect(series.some((s) => s.key === OTHER_KEY)).toBe(false);
  });

  it("adds a key that appears on several days into one series", () => {
    const perDay = { "2026-11-01": [item("f1", 1)], "2026-11-02": [item("f1", 2)], "2026-11-03": [item("f1", 3)] };
    const { series, rows } = stackByDay(days, perDay);
    expect(series).toHaveLength(1);
    expect(series[0].total).toBe(6);
    expect(rows.map((r) => r.s0)).toEqual([1, 2, 3]);
  });

  it("is empty but still has the days when nothing ran", () => {
    const { series, rows } = stackByDay(days, {});
    expect(series).toEqual([]);
    expect(rows.map((r) => r.total)).toEqual([0, 0, 0]);
  });
});

describe("tokens and the top flows", () => {
  it("reads tokens per day from a group_by=day answer, zero on missing days", () => {
    const items = [item("2026-11-01", 1, { tokens_in: 100, tokens_out: 20 }), item("2026-11-03", 1, { tokens_in: 5, tokens_out: 1 })];
    expect(tokensByDay(["2026-11-01", "2026-11-02", "2026-11-03"], items)).toEqual([
      { day: "2026-11-01", tokens_in: 100, tokens_out: 20 },
      { day: "2026-11-02", tokens_in: 0, tokens_out: 0 },
      { day: "2026-11-03", tokens_in: 5, tokens_out: 1 },
    ]);
  });

  it("orders flows by cost, largest first, and keeps the first n", () => {
    const top = topItems([item("a", 1), item("b", 3), item("c", 2)], 2);
    expect(top.map((i) => i.key)).toEqual(["b", "c"]);
  });
});

describe("the budget bar", () => {
  it("scales to the hard limit and places spend and the soft limit on it", () => {
    // Given $30 spent of a $50 soft and $100 hard limit
    const bar = budgetBar(budget({ month_to_date_usd: 30, monthly_soft_usd: 50, monthly_hard_usd: 100 }));
    // Then the bar ends at the hard limit
    expect(bar).toEqual({ spentPct: 30, softPct: 50, hardPct: 100, scaleUsd: 100, state: "ok", usedOfLimitPct: 30 });
  });

  it("says the soft limit is crossed, and the hard one", () => {
    expect(budgetBar(budget({ month_to_date_usd: 50, monthly_soft_usd: 50, monthly_hard_usd: 100 })).state).toBe("soft");
    expect(budgetBar(budget({ month_to_date_usd: 100, monthly_soft_usd: 50, monthly_hard_usd: 100 })).state).toBe("hard");
  });

  it("grows the scale past the hard limit when spend overshoots it, so the limits move left", () => {
    const bar = budgetBar(budget({ month_to_date_usd: 200, monthly_soft_usd: 50, monthly_hard_usd: 100 }));
    expect(bar).toMatchObject({ spentPct: 100, softPct: 25, hardPct: 50, scaleUsd: 200, state: "hard", usedOfLimitPct: 200 });
  });

  it("uses the soft limit alone when there is no hard one", () => {
    const bar = budgetBar(budget({ month_to_date_usd: 10, monthly_soft_usd: 40 }));
    expect(bar).toMatchObject({ spentPct: 25, softPct: 100, hardPct: null, state: "ok", usedOfLimitPct: 25 });
  });

  it("has no state and a full bar of spend without limits, and an empty bar with nothing spent", () => {
    expect(budgetBar(budget({ month_to_date_usd: 12 }))).toMatchObject({ spentPct: 100, softPct: null, hardPct: null, state: "none", usedOfLimitPct: null });
    expect(budgetBar(budget({}))).toMatchObject({ spentPct: 0, scaleUsd: 0, state: "none" });
  });

  it("treats a zero hard limit as crossed by any spend", () => {
    const bar = budgetBar(budget({ month_to_date_usd: 0.01, monthly_hard_usd: 0 }));
    expect(bar).toMatchObject({ state: "hard", hardPct: 0, usedOfLimitPct: Infinity });
  });
});

describe("editing the limits", () => {
  it("reads an amount, an empty field as none, and refuses anything else", () => {
    expect(parseLimit("")).toEqual({ ok: true, value: null });
    expect(parseLimit(" $25.50 ")).toEqual({ ok: true, value: 25.5 });
    expect(parseLimit("0")).toEqual({ ok: true, value: 0 });
    expect(parseLimit("-1").ok).toBe(false);
    expect(parseLimit("ten").ok).toBe(false);
  });

  it("refuses a soft limit above the hard one", () => {
    expect(limitsProblem(100, 50)).toMatch(/above/);
    expect(limitsProblem(50, 100)).toBeNull();
    expect(limitsProblem(null, 5)).toBeNull();
  });
});

describe("labels and axis ticks", () => {
  it("names the model group of node runs without a model call", () => {
    const { series } = stackByDay(["2026-11-01"], { "2026-11-01": [item("", 0.000025, { label: "" }), item("openai/gpt-4o", 1)] });
    expect(series.map((s) => s.label)).toEqual(["openai/gpt-4o", "no model call"]);
  });
  it("keeps the digits that tell ticks of millionths apart", () => {
    expect(axisUsd(0)).toBe("$0");
    expect(axisUsd(25)).toBe("$25");
    expect(axisUsd(0.5)).toBe("$0.50");
    expect(axisUsd(0.000025)).toBe("$0.000025");
    expect(axisUsd(0.0000075)).toBe("$0.0000075");
    expect(axisUsd(0.00001)).toBe("$0.00001");
    expect(new Set([0.000005, 0.00001, 0.000015, 0.00002].map(axisUsd)).size).toBe(4);
  });
});
