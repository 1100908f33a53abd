// Pure helpers of the LLM settings page and the llm node form: the allowed-models tag input, the form's
// values, the model suggestions. Tested in llmSettings.test.ts.
import type { LlmSettings, LlmSettingsUpdate } from "../types";

/** Adds what was typed (one or more models, split on commas, spaces or new lines) to the tags, once each. */
export function addTags(tags: string[], typed: string): string[] {
  const out = [...tags];
  for (const t of typed.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)) if (!out.includes(t)) out.push(t);
  return out;
}

export function removeTag(tags: string[], tag: string): string[] {
  return tags.filter((t) => t !== tag);
}

/** A per-minute limit as typed: empty means none; otherwise a whole number of at least 1. */
export function parseRate(text: string): { ok: true; value: number | null } | { ok: false; error: string } {
  const t = text.trim();
  if (t === "") return { ok: true, value: null };
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1) return { ok: false, error: "a whole number of at least 1, or empty for no limit" };
  return { ok: true, value: n };
}

export interface SettingsForm {
  allowed: string[];
  defaultModel: string;
  rpm: string;
  tpm: string;
}

export function toForm(s: LlmSettings): SettingsForm {
  return {
    allowed: [...s.allowed_models],
    defaultModel: s.default_model ?? "",
    rpm: s.requests_per_minute === null ? "" : String(s.requests_per_minute),
    tpm: s.tokens_per_minute === null ? "" : String(s.tokens_per_minute),
  };
}

/** The PUT body of a form, or what is wrong with it, field by field. */
export function fromForm(f: SettingsForm): { ok: true; body: LlmSettingsUpdate } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const rpm = parseRate(f.rpm);
  const tpm = parseRate(f.tpm);
  if (!rpm.ok) errors.requests_per_minute = rpm.error;
  if (!tpm.ok) errors.tokens_per_minute = tpm.error;
  const def = f.defaultModel.trim();
  if (def && f.allowed.length && !f.allowed.includes(def) && def !== "default") {
    errors.default_model = "the default model must be one of the allowed models";
  }
  if (!rpm.ok || !tpm.ok || errors.default_model) return { ok: false, errors };
  return {
    ok: true,
    body: { allowed_models: f.allowed, default_model: def || null, requests_per_minute: rpm.value, tokens_per_minute: tpm.value },
  };
}

/** What the llm node's `model` field suggests: `default`, the workspace's default model, then the allowed ones. */
export function modelSuggestions(s: Pick<LlmSettings, "allowed_models" | "default_model"> | null): string[] {
  if (!s) return [];
  const out = ["default"];
  for (const m of [s.default_model, ...s.allowed_models]) if (m && !out.includes(m)) out.push(m);
  return out;
}
