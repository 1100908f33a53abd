// The API's shapes. Response bodies are generated from the OpenAPI document the API serves
// (`npm run gen:api` writes lib/api-schema.d.ts from functions/api/responses.py); only the flow document
// (which the API stores as JSON) and the JSON Schema of node configs are written here by hand.
import type { components } from "./lib/api-schema";

type Schemas = components["schemas"];

export type Role = Schemas["Member"]["role"];
export type Workspace = Schemas["WorkspaceSummary"];
export type WorkspaceDetail = Schemas["Workspace"];
export type WorkspaceDeletion = Schemas["WorkspaceDeletion"];
export type Member = Schemas["Member"];
export type Me = Schemas["Me"];
export type ApiErrorBody = Schemas["Error"];
export type ValidationResult = Schemas["ValidationResult"];
export type MemberList = Schemas["MemberList"];
/** The audit log (admins): newest first, `next_cursor` for older entries. */
export type AuditEntry = Schemas["AuditEntry"];
export type AuditPage = Schemas["AuditPage"];

/** `GET /v1/workspaces/{ws}/usage?from&to&tz&group_by` (viewers): amounts per day, flow, model or node type. */
export type UsageReport = Schemas["Usage"];
export type UsageGroupBy = UsageReport["group_by"];
export type UsageAmounts = Schemas["UsageAmounts"];
/** `key`: a date, a flow id, a model (`""`: node runs without a model call) or a node type. */
export type UsageItem = Schemas["UsageItem"];
/** `GET|PUT /v1/workspaces/{ws}/budget` (PUT: admins, the two limits). */
export type Budget = Schemas["Budget"];
export type BudgetUpdate = Schemas["BudgetPut"];
/** `GET|PUT /v1/workspaces/{ws}/llm-settings` (PUT: admins). `providers`: the providers the workspace has an
 * `llm_provider` credential for. */
export type LlmSettings = Schemas["LlmSettings"];
export type LlmSettingsUpdate = Schemas["LlmSettingsPut"];

/** Knowledge bases (issue 10): documents chunked and embedded into pgvector or Pinecone, searched by meaning. */
export type KnowledgeBase = Schemas["KnowledgeBase"];
export type KnowledgeDocument = Schemas["KnowledgeDocument"];
export type KnowledgeDocumentPage = Schemas["KnowledgeDocumentPage"];
export type KnowledgeMatch = Schemas["KnowledgeMatch"];
export type KnowledgeQueryResult = Schemas["KnowledgeQueryResult"];
export type KnowledgeBaseCreate = Schemas["KnowledgeBaseCreate"];
export type DocumentCreate = Schemas["DocumentCreate"];
/** Credentials: metadata only; the API never answers a value (write-only, DESIGN §7). */
export type Credential = Schemas["Credential"];
export type CredentialList = Schemas["CredentialList"];
export type CredentialUse = Schemas["CredentialUse"];
/** A credential type; its value schema is read by the value form. */
export type CredentialType = Omit<Schemas["CredentialType"], "value_schema"> & { value_schema: JsonSchema };
/** Saved, but a run would fail (e.g. `missing_credential`). */
export type FlowWarning = Schemas["FlowWarning"];

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

/** A node kind of `GET /v1/node-types`; its config schema is read by the config form. */
export type NodeType = Omit<Schemas["NodeType"], "config_schema"> & { config_schema: JsonSchema };

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

export type FlowSummary = Schemas["FlowSummary"];
export type FlowPage = Schemas["FlowPage"];
/** A flow with its draft. The API types `definition` as stored JSON; drafts are saved valid flows. */
export type Flow = Omit<Schemas["Flow"], "definition"> & { definition: FlowDefinition };
export type FlowVersionSummary = Schemas["VersionSummary"];
export type FlowVersion = Omit<Schemas["Version"], "definition"> & { definition: FlowDefinition };

export type Run = Schemas["Run"];
export type RunPage = Schemas["RunPage"];
export type RunStatus = Run["status"];
export type NodeRun = Schemas["NodeRun"];
/** `GET /v1/workspaces/{ws}[/runs/{run}]/events`: run, node, cost and workspace events after a cursor. */
export type RunEvent = Schemas["Event"];
export type EventPage = Schemas["EventPage"];
export type NodeRunList = Schemas["NodeRunList"];
export type NodeStatus = NodeRun["status"];

/** Approvals (issue 11): what an approval node asks, of whom, its form (a JSON Schema) and the decisions so far. */
export type Approval = Omit<Schemas["Approval"], "form"> & { form: JsonSchema | null };
export type ApprovalPage = Omit<Schemas["ApprovalPage"], "items"> & { items: Approval[] };
export type ApprovalStatus = Approval["status"];
export type ApprovalDecision = Schemas["ApprovalDecision"];
export type ApprovalDecide = Schemas["ApprovalDecide"];

export interface ValidationIssue {
  code: string;
  message: string;
  node?: string;
  edge?: string;
  field?: string;
}

export const TERMINAL_RUN: RunStatus[] = ["SUCCEEDED", "FAILED", "CANCELLED"];

/** `GET /v1/health`: each component says `ready`, `starting` or `failed`, with the reason. */
export type Health = Schemas["Health"];
export type ComponentHealth = Schemas["ComponentHealth"];
export type HealthStatus = Health["status"];

/** Agents (AgentSpec, DESIGN §5): a draft spec, immutable versions, the live pointer. */
export type AgentSpec = Schemas["AgentSpec"];
export type AgentSummary = Schemas["AgentSummary"];
/** An agent as the dashboard lists it: with its newest node runs. */
export type AgentListItem = Schemas["AgentListItem"];
export type Agent = Schemas["Agent"];
export type AgentPage = Schemas["AgentPage"];
export type AgentVersion = Schemas["AgentVersion"];
export type AgentVersionSummary = Schemas["AgentVersionSummary"];
export type AgentSpecForms = Schemas["AgentSpecForms"];
export type AgentNodeRun = Schemas["AgentNodeRun"];
