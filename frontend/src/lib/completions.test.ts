import { describe, expect, it } from "vitest";
import { complete, knownPaths, offeredNodes, pathAtCursor, schemaPaths, valuePaths, type PathSources } from "./completions";

const HTTP_OUT = {
  type: "object",
  properties: { status: { type: "integer" }, headers: { type: "object" }, body: {} },
};

const sources: PathSources = {
  upstream: ["fetch", "start"],
  inputExample: { city: "Paris" },
  outputSchemas: { fetch: HTTP_OUT },
  lastInput: { city: "Oslo", days: 3 },
  lastOutputs: { fetch: { status: 200, body: { items: [{ title: "a", tags: ["x"] }] } }, later: { secret: 1 } },
};

describe("path collection", () => {
  it("walks a schema's properties and list items as [0]", () => {
    const paths = schemaPaths({ type: "object", properties: { a: { type: "array", items: { type: "object", properties: { b: { type: "string" } } } } } }, "x");
    expect(paths).toEqual(["x.a", "x.a[0]", "x.a[0].b"]);
  });
  it("walks a value's keys and a list's first item, quoting keys that are not identifiers", () => {
    expect(valuePaths({ a: [{ b: 1 }], "odd key": 2 }, "input")).toEqual(["input.a", "input.a[0]", "input.a[0].b", "input['odd key']"]);
  });
  it("merges the kind's output schema with the last run's actual output, and the input's example with the last run's input", () => {
    const known = knownPaths(sources);
    expect(known.get("nodes.fetch.output.status")).toBe("last run");
    expect(known.get("nodes.fetch.output.headers")).toBe("schema");
    expect(known.has("nodes.fetch.output.body.items[0].title")).toBe(true);
    expect(known.has("input.city") && known.has("input.days")).toBe(true);
  });
  it("offers only upstream nodes after `nodes.`, never a downstream node the last run also ran", () => {
    const known = knownPaths(sources);
    expect(offeredNodes(known)).toEqual(["fetch", "start"]);
    expect([...known.keys()].some((p) => p.startsWith("nodes.later"))).toBe(false);
  });
  it("offers secrets in templates only", () => {
    expect(complete("", knownPaths(sources, "template")).options.map((o) => o.label)).toEqual(["input", "nodes", "run", "secrets"]);
    expect(complete("", knownPaths(sources, "jmespath")).options.map((o) => o.label)).toEqual(["input", "nodes", "run"]);
  });
});

describe("an edge condition", () => {
  it("also completes `output`, the source node's own output, from its schema and the last run", () => {
    const known = knownPaths({ ...sources, edge: { schema: HTTP_OUT, last: { status: 200, body: { ok: true } } } }, "jmespath");
    expect(complete("", known).options.map((o) => o.label)).toEqual(["input", "nodes", "output", "run"]);
    expect(complete("output.", known).options.map((o) => o.label)).toEqual(["body", "headers", "status"]);
    expect(complete("output.body.", known).options.map((o) => o.label)).toEqual(["ok"]);
  });
});

describe("completing at the cursor", () => {
  const known = knownPaths(sources);
  it("finds the path inside an open {{ and nowhere else in a template", () => {
    expect(pathAtCursor("Hello {{ nodes.fe", "template")).toEqual({ path: "nodes.fe", from: 9 });
    expect(pathAtCursor("Hello {{ input }} and", "template")).toBeNull();
    expect(pathAtCursor("plain text", "template")).toBeNull();
    expect(pathAtCursor("{{", "template")).toEqual({ path: "", from: 2 });
  });
  it("finds the trailing path of an expression", () => {
    expect(pathAtCursor("length(nodes.fetch.output.bo", "jmespath")).toEqual({ path: "nodes.fetch.output.bo", from: 7 });
  });
  it("offers the next segment after the last dot, replacing what is typed of it", () => {
    const r = complete("nodes.fetch.output.b", known);
    expect(r.options.map((o) => o.label)).toEqual(["body"]);
    expect(r.from).toBe("nodes.fetch.output.".length);
    expect(complete("nodes.fetch.", known).options.map((o) => o.path)).toEqual(["nodes.fetch.output"]);
  });
  it("offers a list's [0] at the bracket", () => {
    const r = complete("nodes.fetch.output.body.items[", known);
    expect(r.options.map((o) => o.label)).toEqual(["[0]"]);
    expect(r.from).toBe("nodes.fetch.output.body.items".length);
  });
});
