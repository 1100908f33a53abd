// A thin typed client of the Nexod HTTP API. Every error becomes an ApiError carrying the JSON error body.
import { getToken } from "./auth";
import type {
  Agent,
  AgentNodeRun,
  AgentPage,
  AgentSpecForms,
  AgentSummary,
  AgentVersion,
  AgentVersionSummary,
  ApiErrorBody,
  Approval,
  ApprovalDecide,
  ApprovalPage,
  AuditPage,
  Budget,
  BudgetUpdate,
  LlmSettings,
  LlmSettingsUpdate,
  UsageGroupBy,
  UsageReport,
  Credential,
  DocumentCreate,
  KnowledgeBase,
  KnowledgeBaseCreate,
  KnowledgeDocument,
  KnowledgeDocumentPage,
  KnowledgeQueryResult,
  CredentialList,
  CredentialType,
  Member,
  MemberList,
  Role,
  WorkspaceDeletion,
  WorkspaceDetail,
  Flow,
  FlowDefinition,
  FlowPage,
  FlowSummary,
  FlowVersion,
  FlowVersionSummary,
  Health,
  Me,
  NodeRunList,
  NodeType,
  Run,
  RunPage,
  ValidationResult,
  Workspace,
} from "../types";

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details: unknown = null,
  ) {
    super(message);
  }
}

let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

/** `anonymous`: send no token and leave a 401 to the caller (a public page, e.g. an approval link). */
export async function request<T>(method: string, path: string, body?: unknown, opts: { anonymous?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = opts.anonymous ? null : getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network_error", `Cannot reach the API (${(e as Error).message}). Is the server running?`);
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    // Every refusal is the API's error envelope; a proxy in between may answer something else.
    const err = (data as Partial<ApiErrorBody> | null)?.error;
    if (res.status === 401 && onUnauthorized && !opts.anonymous) onUnauthorized();
    throw new ApiError(
      res.status,
      err?.code ?? `http_${res.status}`,
      err?.message ?? `${method} ${path} failed with HTTP ${res.status}`,
      err?.details ?? null,
    );
  }
  return data as T;
}

const enc = encodeURIComponent;
const ws = (w: string) => `/v1/workspaces/${enc(w)}`;

function qs(params: Record<string, string | undefined | null>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) s.set(k, v);
  const out = s.toString();
  return out ? `?${out}` : "";
}

export const api = {
  devToken: (user: string) => request<{ token: string; user: unknown }>("POST", "/local/dev-token", { user }),
  me: () => request<Me>("GET", "/v1/me"),
  createWorkspace: (name: string) => request<Workspace>("POST", "/v1/workspaces", { name }),
  nodeTypes: () => request<{ items: NodeType[] }>("GET", "/v1/node-types"),
  health: () => request<Health>("GET", "/v1/health"),

  listFlows: (w: string, cursor?: string | null) => request<FlowPage>("GET", `${ws(w)}/flows${qs({ cursor })}`),
  createFlow: (w: string, body: { name: string; description?: string; definition: FlowDefinition }) =>
    request<Flow>("POST", `${ws(w)}/flows`, body),
  getFlow: (w: string, f: string) => request<Flow>("GET", `${ws(w)}/flows/${enc(f)}`),
  updateFlow: (w: string, f: string, body: { name?: string; description?: string; definition?: FlowDefinition }) =>
    request<Flow>("PUT", `${ws(w)}/flows/${enc(f)}`, body),
  deleteFlow: (w: string, f: string) => request<unknown>("DELETE", `${ws(w)}/flows/${enc(f)}`),
  validate: (w: string, definition: FlowDefinition) =>
    request<ValidationResult>("POST", `${ws(w)}/flows/validate`, { definition }),

  publish: (w: string, f: string, description?: string) =>
    request<FlowVersion>("POST", `${ws(w)}/flows/${enc(f)}/versions`, description ? { description } : {}),
  listVersions: (w: string, f: string) => request<{ items: FlowVersionSummary[] }>("GET", `${ws(w)}/flows/${enc(f)}/versions`),
  getVersion: (w: string, f: string, n: number) => request<FlowVersion>("GET", `${ws(w)}/flows/${enc(f)}/versions/${n}`),
  setLive: (w: string, f: string, version: number) => request<FlowSummary>("PUT", `${ws(w)}/flows/${enc(f)}/live`, { version }),

  startRun: (w: string, f: string, input: unknown, version?: number) =>
    request<Run>("POST", `${ws(w)}/flows/${enc(f)}/runs`, version ? { input, version } : { input }),
  /** `test: "true"` lists the test runs of drafts instead (they are never in the plain list). */
  listRuns: (w: string, p: { flow?: string; status?: string; cursor?: string | null; test?: string }) =>
    request<RunPage>("GET", `${ws(w)}/runs${qs(p)}`),
  getRun: (w: string, r: string) => request<Run>("GET", `${ws(w)}/runs/${enc(r)}`),
  runNodes: (w: string, r: string) => request<NodeRunList>("GET", `${ws(w)}/runs/${enc(r)}/nodes`),
  cancelRun: (w: string, r: string) => request<Run>("POST", `${ws(w)}/runs/${enc(r)}/cancel`),
  redriveRun: (w: string, r: string, version?: number) =>
    request<Run>("POST", `${ws(w)}/runs/${enc(r)}/redrive`, version ? { version } : undefined),

  // Approvals: what the caller may decide (status pending|decided|expired|withdrawn), one, and a decision.
  listApprovals: (w: string, p: { status?: string | null; run?: string | null; flow?: string | null; cursor?: string | null }) =>
    request<ApprovalPage>("GET", `${ws(w)}/approvals${qs(p)}`),
  getApproval: (w: string, a: string) => request<Approval>("GET", `${ws(w)}/approvals/${enc(a)}`),
  decideApproval: (w: string, a: string, body: ApprovalDecide) =>
    request<Approval>("POST", `${ws(w)}/approvals/${enc(a)}/decide`, body),

  getWorkspace: (w: string) => request<WorkspaceDetail>("GET", ws(w)),
  // Nothing is deleted unless `confirm` is the workspace's exact name (the API refuses it with 422).
  deleteWorkspace: (w: string, confirm: string) =>
    request<WorkspaceDeletion>("DELETE", `${ws(w)}${qs({ confirm })}`),
  setAllowedHosts: (w: string, allowed_hosts: string[]) =>
    request<WorkspaceDetail>("PUT", `${ws(w)}/allowed-hosts`, { allowed_hosts }),
  listMembers: (w: string) => request<MemberList>("GET", `${ws(w)}/members`),
  putMember: (w: string, user: string, body: { role: Role; email?: string; name?: string }) =>
    request<Member>("PUT", `${ws(w)}/members/${enc(user)}`, body),
  removeMember: (w: string, user: string) => request<unknown>("DELETE", `${ws(w)}/members/${enc(user)}`),

  // Credential values are write-only: they go out in create/rotate bodies and never come back.
  credentialTypes: () => request<{ items: CredentialType[] }>("GET", "/v1/credential-types"),
  listCredentials: (w: string) => request<CredentialList>("GET", `${ws(w)}/credentials`),
  createCredential: (w: string, body: { name: string; type: string; description?: string; value: Record<string, unknown> }) =>
    request<Credential>("POST", `${ws(w)}/credentials`, body),
  rotateCredential: (w: string, name: string, body: { description?: string; value?: Record<string, unknown> }) =>
    request<Credential>("PUT", `${ws(w)}/credentials/${enc(name)}`, body),
  deleteCredential: (w: string, name: string, force = false) =>
    request<unknown>("DELETE", `${ws(w)}/credentials/${enc(name)}${force ? "?force=true" : ""}`),

  listAudit: (w: string, p: { cursor?: string | null; action?: string | null; limit?: number }) =>
    request<AuditPage>("GET", `${ws(w)}/audit${qs({ cursor: p.cursor, action: p.action, limit: p.limit ? String(p.limit) : null })}`),

  // Usage, budget and LLM settings.
  usage: (w: string, p: { from: string; to: string; tz: string; group_by: UsageGroupBy }) =>
    request<UsageReport>("GET", `${ws(w)}/usage${qs(p)}`),
  getBudget: (w: string) => request<Budget>("GET", `${ws(w)}/budget`),
  putBudget: (w: string, body: BudgetUpdate) =>
    request<Budget>("PUT", `${ws(w)}/budget`, body),
  // Knowledge bases: viewers list and query, members create and write documents.
  listKnowledgeBases: (w: string) => request<{ items: KnowledgeBase[] }>("GET", `${ws(w)}/knowledge-bases`),
  createKnowledgeBase: (w: string, body: KnowledgeBaseCreate) => request<KnowledgeBase>("POST", `${ws(w)}/knowledge-bases`, body),
  listDocuments: (w: string, kb: string, cursor?: string | null) =>
    request<KnowledgeDocumentPage>("GET", `${ws(w)}/knowledge-bases/${enc(kb)}/documents${qs({ cursor })}`),
  addDocument: (w: string, kb: string, body: DocumentCreate) =>
    request<KnowledgeDocument>("POST", `${ws(w)}/knowledge-bases/${enc(kb)}/documents`, body),
  deleteDocument: (w: string, kb: string, doc: string) =>
    request<unknown>("DELETE", `${ws(w)}/knowledge-bases/${enc(kb)}/documents/${enc(doc)}`),
  queryKnowledgeBase: (w: string, kb: string, body: { text: string; top_k?: number; filter?: Record<string, unknown> | null }) =>
    request<KnowledgeQueryResult>("POST", `${ws(w)}/knowledge-bases/${enc(kb)}/query`, body),
  getLlmSettings: (w: string) => request<LlmSettings>("GET", `${ws(w)}/llm-settings`),
  putLlmSettings: (w: string, body: LlmSettingsUpdate) => request<LlmSettings>("PUT", `${ws(w)}/llm-settings`, body),

  // Agents: a spec goes as JSON (`spec`) or markdown (`markdown`); both forms come back.
  listAgents: (w: string, cursor?: string | null) => request<AgentPage>("GET", `${ws(w)}/agents${qs({ cursor })}`),
  createAgent: (w: string, body: AgentSource) => request<Agent>("POST", `${ws(w)}/agents`, body),
  getAgent: (w: string, a: string) => request<Agent>("GET", `${ws(w)}/agents/${enc(a)}`),
  updateAgent: (w: string, a: string, body: AgentSource) => request<Agent>("PUT", `${ws(w)}/agents/${enc(a)}`, body),
  deleteAgent: (w: string, a: string) => request<unknown>("DELETE", `${ws(w)}/agents/${enc(a)}`),
  validateAgent: (w: string, body: AgentSource) => request<AgentSpecForms>("POST", `${ws(w)}/agents/validate`, body),
  publishAgent: (w: string, a: string, description?: string) =>
    request<AgentVersion>("POST", `${ws(w)}/agents/${enc(a)}/versions`, description ? { description } : {}),
  listAgentVersions: (w: string, a: string) =>
    request<{ items: AgentVersionSummary[] }>("GET", `${ws(w)}/agents/${enc(a)}/versions`),
  getAgentVersion: (w: string, a: string, n: number) => request<AgentVersion>("GET", `${ws(w)}/agents/${enc(a)}/versions/${n}`),
  setAgentLive: (w: string, a: string, version: number) =>
    request<AgentSummary>("PUT", `${ws(w)}/agents/${enc(a)}/live`, { version }),
  agentRuns: (w: string, a: string) => request<{ items: AgentNodeRun[] }>("GET", `${ws(w)}/agents/${enc(a)}/runs`),
};

// `spec` is what the JSON pane holds: the API validates it and names what is wrong.
export type AgentSource = { spec: unknown } | { markdown: string };

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
