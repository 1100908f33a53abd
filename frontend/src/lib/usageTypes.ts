// Hand-written shapes of the usage, budget and LLM-settings APIs, which are being built on other branches.
// REPLACE WITH GENERATED ALIASES WHEN THE API LANDS: run `npm run gen:api`, alias the schemas in src/types.ts
// (as AuditPage is), then delete this file; tsc points at every use.

export type UsageGroupBy = "day" | "flow" | "model" | "node_type";

export interface UsageAmounts {
  llm_usd: number;
  compute_usd: number;
  orchestration_usd: number;
  total_usd: number;
  tokens_in: number;
  tokens_out: number;
  node_runs: number;
}

export interface UsageItem extends UsageAmounts {
  /** The day (YYYY-MM-DD), flow id, model or node type. */
  key: string;
  label: string;
}

/** `GET /v1/workspaces/{ws}/usage?from&to&tz&group_by` (viewers). */
export interface UsageReport {
  from: string;
  to: string;
  tz: string;
  group_by: UsageGroupBy;
  items: UsageItem[];
  total: UsageAmounts;
}

/** `GET|PUT /v1/workspaces/{ws}/budget` (PUT: admins, the two limits). */
export interface Budget {
  monthly_soft_usd: number | null;
  monthly_hard_usd: number | null;
  month_to_date_usd: number;
  soft_crossed_at: string | null;
}

export interface LlmProvider {
  /** e.g. openai, anthropic. The contract lists providers without fixing their fields: read defensively. */
  name?: string;
  provider?: string;
  has_key?: boolean;
  credential?: string | null;
  [key: string]: unknown;
}

/** `GET|PUT /v1/workspaces/{ws}/llm-settings` (PUT: admins, the first four fields). */
export interface LlmSettings {
  allowed_models: string[];
  default_model: string | null;
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  providers: (LlmProvider | string)[];
}

export type LlmSettingsUpdate = Omit<LlmSettings, "providers">;
