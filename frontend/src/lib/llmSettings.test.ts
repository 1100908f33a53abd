import { describe, expect, it } from "vitest";
import { addTags, fromForm, modelSuggestions, parseRate, removeTag, toForm } from "./llmSettings";

describe("the allowed-models tag input", () => {
  it("adds typed models once each, split on commas, spaces and new lines", () => {
    expect(addTags(["openai/gpt-4o"], " anthropic/claude-3.5, openai/gpt-4o\nmistral/small ")).toEqual([
      "openai/gpt-4o",
      "anthropic/claude-3.5",
      "mistral/small",
    ]);
    expect(addTags(["a"], "  ,  ")).toEqual(["a"]);
  });
  it("removes one tag", () => {
    expect(removeTag(["a", "b", "c"], "b")).toEqual(["a", "c"]);
  });
});

describe("the settings form", () => {
  const settings = { allowed_models: ["a", "b"], default_model: "a", requests_per_minute: 60, tokens_per_minute: null, providers: [] };

  it("round-trips the API's settings, empty limits meaning none", () => {
    // Given the settings as the API answers them / When they fill the form and are saved unchanged
    const form = toForm(settings);
    expect(form).toEqual({ allowed: ["a", "b"], defaultModel: "a", rpm: "60", tpm: "" });
    // Then the PUT body is the same four fields
    expect(fromForm(form)).toEqual({ ok: true, body: { allowed_models: ["a", "b"], default_model: "a", requests_per_minute: 60, tokens_per_minute: null } });
  });

  it("refuses a limit that is no whole number, and a default model outside the allowed ones", () => {
    const r = fromForm({ allowed: ["a"], defaultModel: "z", rpm: "1.5", tpm: "0" });
    expect(r.ok).toBe(false);
    expect(!r.ok && Object.keys(r.errors).sort()).toEqual(["default_model", "requests_per_minute", "tokens_per_minute"]);
  });

  it("allows any default model when no list restricts them, and none at all", () => {
    expect(fromForm({ allowed: [], defaultModel: "z", rpm: "", tpm: "" })).toMatchObject({ ok: true, body: { default_model: "z" } });
    expect(fromForm({ allowed: ["a"], defaultModel: " ", rpm: "", tpm: "" })).toMatchObject({ ok: true, body: { default_model: null } });
  });

  it("reads per-minute limits", () => {
    expect(parseRate("")).toEqual({ ok: true, value: null });
    expect(parseRate("120")).toEqual({ ok: true, value: 120 });
    expect(parseRate("-3").ok).toBe(false);
  });
});

describe("model suggestions for the llm node", () => {
  it("offers default, the workspace default, then the allowed models, once each", () => {
    expect(modelSuggestions({ allowed_models: ["b", "a"], default_model: "a" })).toEqual(["default", "a", "b"]);
    expect(modelSuggestions({ allowed_models: [], default_model: null })).toEqual(["default"]);
  });
  it("offers nothing when the settings could not be read", () => {
    expect(modelSuggestions(null)).toEqual([]);
  });
});
