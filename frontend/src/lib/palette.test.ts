import { describe, expect, it } from "vitest";
import catalog from "./fixtures/node-types.json";
import { categoryOf, paletteGroups } from "./palette";
import type { NodeType } from "../types";

// The fixture is /v1/node-types as the API answers today: no `category` yet.
const types = catalog.items as unknown as NodeType[];
const names = (groups: ReturnType<typeof paletteGroups>) => groups.map((g) => [g.category, g.types.map((t) => t.type)]);

describe("categoryOf", () => {
  it("uses the registry's category when the API sends one", () => {
    // Given node types that carry a category, in any case
    // When their category is asked / Then the registry's word is used, known ones spelled the palette's way
    expect(categoryOf({ type: "http", category: "Connectors" })).toBe("Connectors");
    expect(categoryOf({ type: "agent", category: "ai" })).toBe("AI");
    expect(categoryOf({ type: "approval", category: "human" })).toBe("Human");
    expect(categoryOf({ type: "llm", category: "Connectors" })).toBe("Connectors");
  });

  it("falls back to a grouping by type name when the category is absent or blank", () => {
    // Given the seven first kinds without a category / Then they are grouped by what they do
    const got = Object.fromEntries(["input", "output", "condition", "transform", "wait", "http", "llm"].map((t) => [t, categoryOf({ type: t })]));
    expect(got).toEqual({ input: "Flow", output: "Flow", condition: "Logic", transform: "Logic", wait: "Logic", http: "Connectors", llm: "AI" });
    expect(categoryOf({ type: "llm", category: " " })).toBe("AI");
    expect(categoryOf({ type: "llm", category: null })).toBe("AI");
    // And an unknown kind without a category is not lost
    expect(categoryOf({ type: "sms" })).toBe("Other");
  });
});

describe("paletteGroups", () => {
  it("groups the catalogue by category in palette order", () => {
    // Given the API's node types (the fixture is regenerated from the backend) / When grouped without a query
    const groups = paletteGroups(types);
    // Then each kind is under its category, Flow first and AI before Connectors
    expect(names(groups)).toEqual([
      ["Flow", ["input", "output", "webhook_response"]],
      ["Logic", ["transform", "condition", "wait"]],
      ["AI", ["llm", "rag_search", "rag_upsert", "agent", "crew"]],
      ["Connectors", ["http"]],
      ["People", ["approval"]],
    ]);
  });

  it("puts categories it does not know after the known ones, and Other last", () => {
    // (without a category: as an older API answers)
    const mk = (type: string, category?: string) =>
      ({ type, category, description: "", icon: "", templated_fields: [], config_schema: {} }) as unknown as NodeType;
    const groups = paletteGroups([mk("sms"), mk("approval", "Human"), mk("db", "Data"), mk("input")]);
    expect(groups.map((g) => g.category)).toEqual(["Flow", "Data", "Human", "Other"]);
  });

  it("narrows by type name and description, case-insensitively, dropping empty groups", () => {
    // When the user types part of a type name
    expect(names(paletteGroups(types, "HTT"))).toEqual([["Connectors", ["http"]]]);
    // When the user types words from a description (every word must match)
    const byDescription = paletteGroups(types, "upstream expression");
    expect(names(byDescription)).toEqual([["Logic", ["transform"]]]);
    // When nothing matches / Then there is no group at all (the palette says so)
    expect(paletteGroups(types, "zebra quartz")).toEqual([]);
  });

  it("treats a blank query as no query", () => {
    expect(paletteGroups(types, "   ").flatMap((g) => g.types)).toHaveLength(types.length);
  });
});
