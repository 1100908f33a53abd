import { describe, expect, it } from "vitest";
import { cellText, fold, FOLD_AT, tableColumns, tableRows, viewsOf } from "./outputView";

describe("output views", () => {
  it("offers a table for a list of objects, directly or as the one list field of an object", () => {
    // Given a list of rows, an object holding one such list, and values that are not tables
    const rows = [{ a: 1 }, { a: 2, b: "x" }];
    // Then the table view is offered for the first two only
    expect(viewsOf(rows)).toEqual(["tree", "table", "raw"]);
    expect(tableRows({ items: rows, count: 2 })).toEqual({ path: "items", rows });
    expect(viewsOf({ items: rows, other: rows })).toEqual(["tree", "raw"]); // two lists: which one is ambiguous
    expect(viewsOf([1, 2])).toEqual(["tree", "raw"]);
    expect(viewsOf([])).toEqual(["tree", "raw"]);
    expect(viewsOf("text")).toEqual(["raw"]);
    expect(viewsOf(null)).toEqual(["raw"]);
  });

  it("collects every row's keys as columns in first-seen order and renders cells compactly", () => {
    expect(tableColumns([{ a: 1 }, { b: 2, a: 3 }, { c: null }])).toEqual(["a", "b", "c"]);
    expect(cellText({ x: [1] })).toBe('{"x":[1]}');
    expect(cellText(null)).toBe("");
    expect(cellText(false)).toBe("false");
  });

  it("folds strings longer than the limit and says how much is hidden", () => {
    const long = "x".repeat(FOLD_AT + 25);
    expect(fold(long)).toEqual({ head: "x".repeat(FOLD_AT), hidden: 25 });
    expect(fold("short")).toEqual({ head: "short", hidden: 0 });
  });
});
