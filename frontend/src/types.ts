// The API's shapes, as documented in the contract (issue 2).

export type Role = "admin" | "member" | "viewer";

export interface Workspace {
  id: string;
  name: string;
  role: Role;
}

export interface Me {
  user: { sub: string; email?: string | null; name?: string | null };
  workspaces: Workspace[];
}

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  additionalProperties?: boolean | JsonSchema;
  [key: string]: unknown;
};

export interface NodeType {
  type: string;
  description: string;
  templated_fields: string[];
  config_schema: JsonSchema;
  /** The palette group from the node-kind registry (e.g. "Flow", "AI"); older APIs leave it out. */
  category?: string | null;
}

export interface RetryPolicy {
  max_attempts: number;
  interval_seconds: number;
  backoff_rate: number;
  max_delay_seconds?: number;
}

export interface FlowNode {
  id: string;
  type: string;
  name?: string;
  config: Record<string, unknown>;
  retry?: RetryPolicy;
  timeout_seconds?: number;
  on_error?: "fail" | "continue";
  position?: { x: number; y: number };
}

export interface FlowEdge {
  id?: string;
  from: string;
  to: string;
  condition?: string;
}

export interface FlowDefinition {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export interface FlowSummary {
  id: string;
  name: string;
  description?: string | null;
  live_version: number | null;
  latest_version: number | null;
  updated_at: string;
}

export interface Flow extends FlowSummary {
  definition: FlowDefinition;
}

export interface FlowVersion {
  version: number;
  created_at: string;
  created_by?: string | null;
  description?: string | null;
  is_live?: boolean;
  definition?: FlowDefinition;
  asl?: unknown;
}

export type RunStatus = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type NodeStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED";

export interface Run {
  id: string;
  flow_id: string;
  flow_name?: string | null;
  version: number | null;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: unknown;
  created_at: string;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  cost_usd?: number | string | null;
  tokens?: number | null;
}

export interface NodeRun {
  node_id: string;
  type: string;
  name?: string | null;
  iteration?: number;
  executions?: number;
  status: NodeStatus;
  attempts: number;
  input: unknown;
  output: unknown;
  error: unknown;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  model?: string | null;
  tokens_in?: number | null;
  tokens_out?: number | null;
  cost_usd?: number | string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface ValidationIssue {
  code: string;
  message: string;
  node?: string;
  edge?: string;
  field?: string;
}

export const TERMINAL_RUN: RunStatus[] = ["SUCCEEDED", "FAILED", "CANCELLED"];

/** `GET /v1/health`: each component says `ready`, `starting` or `failed`, with the reason. */
export type HealthStatus = "ready" | "starting" | "failed";
export interface ComponentHealth {
  name: string;
  status: HealthStatus;
  detail: string;
  since: string;
  restarts: number;
  checked_at: string | null;
}
export interface Health {
  status: HealthStatus;
  components: ComponentHealth[];
}
