import { describe, expect, it } from "vitest";
import catalog from "./fixtures/node-types.json";
import { fieldsFor, initialConfig, parseField, toText } from "./schemaForm";
import type { NodeType } from "../types";

// The fixture is /v1/node-types as produced by nexod.domain.nodes.node_type_catalog().
const types = Object.fromEntries((catalog.items as unknown as NodeType[]).map((t) => [t.type, t]));
const fields = (t: string) => Object.fromEntries(fieldsFor(types[t].config_schema, types[t].templated_fields).map((f) => [f.name, f]));

describe("fieldsFor", () => {
  it("renders an http node's schema as typed fields", () => {
    const f = fields("http");
    expect(f.method.kind).toBe("enum");
    expect(f.method.options).toContain("POST");
    expect(f.url).toMatchObject({ kind: "string", required: true, templated: true });
    expect(f.headers.kind).toBe("json");
    expect(f.timeout_seconds.kind).toBe("number");
    expect(f.follow_redirects.kind).toBe("boolean");
    expect(f.max_redirects).toMatchObject({ kind: "integer", min: 0, max: 20 });
  });

  it("unwraps Optional fields and uses multi-line text for prompts", () => {
    const f = fields("llm");
    expect(f.system).toMatchObject({ kind: "text", nullable: true, required: false });
    expect(f.prompt).toMatchObject({ kind: "text", required: true, templated: true });
    expect(f.max_tokens).toMatchObject({ kind: "integer", nullable: true });
    expect(f.temperature.default).toBe(0.2);
  });

  it("treats untyped and object fields as JSON", () => {
    expect(fields("output").value.kind).toBe("json");
    expect(fields("input").example).toMatchObject({ kind: "json", nullable: true });
  });

  it("follows $ref into $defs", () => {
    const f = fieldsFor({
      type: "object",
      properties: { mode: { $ref: "#/$defs/Mode" } },
      $defs: { Mode: { type: "string", enum: ["a", "b"] } },
    });
    expect(f[0]).toMatchObject({ kind: "enum", options: ["a", "b"] });
  });
});

describe("parseField", () => {
  const f = fields("http");
  it("parses numbers within bounds", () => {
    expect(parseField(f.max_redirects, "3")).toEqual({ ok: true, value: 3, remove: false });
    expect(parseField(f.max_redirects, "2.5")).toMatchObject({ ok: false });
    expect(parseField(f.max_redirects, "99")).toMatchObject({ ok: false, error: "at most 20" });
  });
  it("parses JSON and reports bad JSON", () => {
    expect(parseField(f.headers, '{"a": "b"}')).toEqual({ ok: true, value: { a: "b" }, remove: false });
    expect(parseField(f.headers, "{a:")).toMatchObject({ ok: false });
  });
  it("removes the key for empty input", () => {
    expect(parseField(f.url, "")).toEqual({ ok: true, value: undefined, remove: true });
  });
  it("keeps enum values typed", () => {
    expect(parseField({ ...f.method, options: [1, 2] }, "2")).toEqual({ ok: true, value: 2, remove: false });
  });
  it("shows JSON values pretty", () => {
    expect(toText(f.headers, { a: "b" })).toBe('{\n  "a": "b"\n}');
    expect(toText(f.url, undefined)).toBe("");
  });
});

describe("initialConfig", () => {
  it("fills only required fields that have a default", () => {
    expect(initialConfig(types.wait.config_schema)).toEqual({});
    expect(initialConfig({ type: "object", required: ["m"], properties: { m: { enum: ["x", "y"] } } })).toEqual({ m: "x" });
  });
});

describe("lists of strings", () => {
  // The llm node's config as pydantic will describe it once `fallback_models: list[str]` lands.
  const llm = {
    type: "object",
    properties: {
      model: { type: "string", default: "default" },
      fallback_models: { type: "array", items: { type: "string" }, title: "Fallback Models" },
      stop: { anyOf: [{ type: "array", items: { type: "string" } }, { type: "null" }], default: null },
      output_schema: { anyOf: [{ type: "object", additionalProperties: true }, { type: "null" }], default: null },
      pairs: { type: "array", items: { type: "integer" } },
      modes: { type: "array", items: { type: "string", enum: ["a", "b"] } },
    },
  };

  it("gives a list of plain strings a list input, optional or not; other arrays and objects stay JSON", () => {
    const f = Object.fromEntries(fieldsFor(llm).map((x) => [x.name, x]));
    expect(f.fallback_models.kind).toBe("list");
    expect(f.stop).toMatchObject({ kind: "list", nullable: true });
    expect(f.output_schema.kind).toBe("json");
    expect(f.pairs.kind).toBe("json");
    expect(f.modes.kind).toBe("json");
  });

  it("shows one item per line and reads lines back as the list, dropping blank ones", () => {
    const spec = fieldsFor(llm).find((x) => x.name === "fallback_models")!;
    expect(toText(spec, ["openai/gpt-4o-mini", "anthropic/claude-3.5"])).toBe("openai/gpt-4o-mini\nanthropic/claude-3.5");
    expect(parseField(spec, " openai/gpt-4o-mini \n\n anthropic/claude-3.5\n")).toEqual({
      ok: true,
      value: ["openai/gpt-4o-mini", "anthropic/claude-3.5"],
      remove: false,
    });
    // An empty list input removes the key, so the server's default (no fallbacks) applies
    expect(parseField(spec, "  \n ")).toEqual({ ok: true, value: undefined, remove: true });
  });
});
