import { describe, expect, it } from "vitest";
import { changedLines, jsonErrors, jsonFieldLine, lineDiff, lineOf, markdownErrors, parseJson, specText, syncBody } from "./agents";

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

describe("JSON field lines from the JSON tree", () => {
  const spec = {
    name: "a",
    tools: [
      { name: "http", config: { credential: "x" } },
      { name: "calculator", config: { name: "not the tool's name" } },
    ],
    memory: "none",
  };
  const text = specText(spec);
  const lineWith = (needle: string, from = 1) => text.split("\n").findIndex((l, i) => i + 1 >= from && l.includes(needle)) + 1;
  it("follows the path through arrays, not the first key of that name anywhere", () => {
    // Given two `name` keys inside tools and one at the top, When the API names tools.1.config.name
    const second = lineWith('"calculator"');
    // Then the line is the second tool's config's name, below the calculator line
    expect(jsonFieldLine(text, "spec.tools.1.config.name")).toBe(lineWith('"not the tool', second));
    expect(jsonFieldLine(text, "spec.tools.1.name")).toBe(second);
    expect(jsonFieldLine(text, "spec.name")).toBe(2);
  });
  it("answers the deepest part of a path that resolves, and null when nothing does", () => {
    expect(jsonFieldLine(text, "spec.tools.0.config.nope")).toBe(lineWith('"config"'));
    expect(jsonFieldLine(text, "spec.tools.7")).toBe(lineWith('"tools"'));
    expect(jsonFieldLine(text, "spec.nope")).toBeNull();
    expect(jsonFieldLine(text, undefined)).toBeNull();
  });
  it("still finds keys in JSON that is not pretty-printed or has an error elsewhere", () => {
    expect(jsonFieldLine('{"a": 1,\n "b": {"c": 2}}', "b.c")).toBe(2);
    expect(jsonFieldLine('{\n  "a": ,\n  "memory": "x"\n}', "spec.memory")).toBe(3);
  });
  it("counts lines by offset", () => {
    expect(lineOf("a\nb\nc", 0)).toBe(1);
    expect(lineOf("a\nb\nc", 4)).toBe(3);
  });
});

describe("keeping the panes in sync", () => {
  it("sends markdown as it is and JSON once it parses", () => {
    expect(syncBody("markdown", "---\nname: x\n---")).toEqual({ body: { markdown: "---\nname: x\n---" } });
    expect(syncBody("json", '{"name": "x"}')).toEqual({ body: { spec: { name: "x" } } });
  });
  it("asks nothing for JSON that does not parse and says on which line it breaks", () => {
    const asked = syncBody("json", '{\n  "name": "x"\n  "role": "r"\n}');
    expect("error" in asked && asked.error.line).toBe(3);
  });
});

describe("version diff (jsdiff)", () => {
  it("numbers each line on its side and counts a changed line twice", () => {
    const a = "---\nname: A\ngoal: citing your sources.\n---\n";
    const b = "---\nname: A\ngoal: citing two sources.\n---\n";
    const diff = lineDiff(a, b);
    expect(diff.map((d) => [d.kind, d.a, d.b])).toEqual([
      ["same", 1, 1],
      ["same", 2, 2],
      ["removed", 3, null],
      ["added", null, 3],
      ["same", 4, 4],
    ]);
    expect(changedLines(diff)).toBe(2);
  });
  it("treats a missing last newline as no change and diffs empty texts", () => {
    expect(changedLines(lineDiff("a\nb", "a\nb\n"))).toBe(0);
    expect(lineDiff("", "x").map((d) => d.kind)).toEqual(["removed", "added"]);
  });
});
