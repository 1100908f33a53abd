import { describe, expect, it } from "vitest";
import { jsonErrors, jsonFieldLine, lineDiff, markdownErrors, parseJson, specText } from "./agents";

describe("markdown errors", () => {
  it("keeps the line the API names for each problem", () => {
    const details = [
      { line: 7, section: "front matter", message: "line 7 (front matter): max_iterations: Input should be a valid integer" },
      { line: null, message: "(Goal): the '# Goal' section is missing" },
    ];
    expect(markdownErrors(details, "bad")).toEqual([
      { line: 7, message: details[0].message },
      { line: null, message: details[1].message },
    ]);
  });
  it("falls back to the error message when there are no details", () => {
    expect(markdownErrors(null, "bad spec")).toEqual([{ line: null, message: "bad spec" }]);
  });
});

describe("JSON errors", () => {
  const text = specText({ name: "a", role: "r", tools: [{ name: "http", config: { credential: "x y" } }] });
  it("places a field's error on the line of its key", () => {
    expect(jsonFieldLine(text, "spec.role")).toBe(3);
    expect(jsonFieldLine(text, "spec.tools.0.config")).toBe(7);
    expect(jsonErrors(text, [{ field: "spec.missing", message: "m" }], "x")).toEqual([{ line: null, message: "spec.missing: m" }]);
    expect(jsonErrors(text, [{ field: "spec.role", message: "spec.role: bad" }], "x")).toEqual([{ line: 3, message: "spec.role: bad" }]);
  });
  it("says on which line text stops being JSON", () => {
    const broken = '{\n  "name": "a",\n  "role": \n}';
    const parsed = parseJson(broken);
    expect("error" in parsed && parsed.error.line).toBe(4);
    expect(parseJson('{"a": 1}')).toEqual({ value: { a: 1 } });
  });
});

describe("line diff", () => {
  it("keeps common lines and marks what was removed and added", () => {
    const diff = lineDiff("a\nb\nc", "a\nB\nc\nd");
    expect(diff.map((d) => `${d.kind[0]}${d.text}`)).toEqual(["sa", "rb", "aB", "sc", "ad"]);
    expect(diff.filter((d) => d.kind === "same").map((d) => [d.a, d.b])).toEqual([[1, 1], [3, 3]]);
  });
  it("of equal texts is all the same", () => {
    expect(lineDiff("x\ny", "x\ny").every((d) => d.kind === "same")).toBe(true);
  });
});
