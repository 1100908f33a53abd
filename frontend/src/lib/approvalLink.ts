// The public approval-link page (`#/approve/<token>`, no sign-in): someone without an account decides through
// the signed one-time link an email carried. The API (`/v1/approval-links/{token}`) is typed here by hand from
// its contract; the page's states are a pure reducer (tested) so every end is a clear final message.
import { ApiError, request } from "./api";
import { placeDecisionError, type Decision, type PlacedDecisionError } from "./approvals";
import type { ApprovalStatus, JsonSchema } from "../types";

/** `GET /v1/approval-links/{token}`. */
export interface ApprovalLinkView {
  approval: {
    id: string;
    title: string;
    message: string;
    form: JsonSchema | null;
    status: ApprovalStatus;
    required_approvals: number;
    expires_at: string | null;
  };
  workspace: { name: string };
  flow: { name: string };
  /** Who the link was sent to (an email address). */
  recipient: string;
}

/** `POST /v1/approval-links/{token}/decide`. */
export interface ApprovalLinkDecide {
  decision: Decision;
  comment?: string | null;
  fields?: Record<string, unknown>;
}

const linkPath = (token: string) => `/v1/approval-links/${encodeURIComponent(token)}`;

export const approvalLinkApi = {
  get: (token: string) => request<ApprovalLinkView>("GET", linkPath(token), undefined, { anonymous: true }),
  decide: (token: string, body: ApprovalLinkDecide) =>
    request<unknown>("POST", `${linkPath(token)}/decide`, body, { anonymous: true }),
};

/** The token of a link: `#/approve/<token>` (the console's hash route) or `/approve/<token>` (a path a server
 * maps to the console). */
export function linkToken(hashPath: string, pathname = ""): string | null {
  for (const p of [hashPath, pathname]) {
    const m = /^\/approve\/([^/?#]+)\/?$/.exec(p);
    if (m) {
      try {
        return decodeURIComponent(m[1]);
      } catch {
        return m[1];
      }
    }
  }
  return null;
}

export type LinkEnd = "approved" | "rejected" | "used" | "expired" | "invalid" | "decided" | "closed";

export type LinkState =
  | { kind: "loading" }
  | { kind: "open"; view: ApprovalLinkView; busy: boolean; error: PlacedDecisionError | null }
  | { kind: "final"; end: LinkEnd; view: ApprovalLinkView | null; detail: string | null }
  | { kind: "error"; message: string };

export type LinkAction =
  | { type: "loaded"; view: ApprovalLinkView }
  | { type: "failed"; error: unknown }
  | { type: "submitting" }
  | { type: "decided"; decision: Decision };

/** The final state an API error means, or null when the person can correct and retry (422, a network error). */
export function endOf(error: unknown): LinkEnd | null {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 401 || error.status === 404) return "invalid";
  if (error.status === 422 && namesToken(error.details)) return "invalid"; // a malformed (cut, altered) link
  if (error.status === 410) return error.code === "link_expired" ? "expired" : "used";
  if (error.status === 409) return "decided";
  return null;
}

function namesToken(details: unknown): boolean {
  const items = Array.isArray(details) ? details : details && typeof details === "object" ? [details] : [];
  return items.some((d) => d && typeof d === "object" && (d as { field?: unknown }).field === "token");
}

export const initialLinkState: LinkState = { kind: "loading" };

export function linkReducer(state: LinkState, action: LinkAction): LinkState {
  const view = state.kind === "open" || state.kind === "final" ? state.view : null;
  switch (action.type) {
    case "loaded": {
      const s = action.view.approval.status;
      if (s === "pending") return { kind: "open", view: action.view, busy: false, error: null };
      // Someone decided it (or it timed out, or the run was cancelled) before this link was opened.
      const end: LinkEnd = s === "expired" ? "expired" : s === "withdrawn" ? "closed" : "decided";
      return { kind: "final", end, view: action.view, detail: null };
    }
    case "submitting":
      return state.kind === "open" ? { ...state, busy: true, error: null } : state;
    case "decided":
      return { kind: "final", end: action.decision === "approve" ? "approved" : "rejected", view, detail: null };
    case "failed": {
      const end = endOf(action.error);
      const detail = action.error instanceof Error ? action.error.message : String(action.error);
      if (end) return { kind: "final", end, view, detail };
      if (state.kind === "open") {
        const fields = Object.keys(state.view.approval.form?.properties ?? {});
        return { ...state, busy: false, error: placeDecisionError(action.error, fields) };
      }
      return { kind: "error", message: detail };
    }
  }
}

/** What a final state says, in words a person without an account understands. */
export function finalMessage(end: LinkEnd): { title: string; body: string } {
  switch (end) {
    case "approved":
      return { title: "Approved — thank you", body: "Your decision was recorded and the workflow continues. You can close this page." };
    case "rejected":
      return { title: "Rejected — thank you", body: "Your decision was recorded. You can close this page." };
    case "used":
      return { title: "This link was already used", body: "Each approval link works once. If you did not use it, contact the person who sent it." };
    case "expired":
      return { title: "This link expired", body: "The time to decide has passed. Ask the sender for a new request if it still matters." };
    case "decided":
      return { title: "This request was already decided", body: "Someone else decided it before you. Nothing more is needed from you." };
    case "closed":
      return { title: "This request was withdrawn", body: "The workflow that asked was cancelled. Nothing more is needed from you." };
    case "invalid":
      return { title: "This link is not valid", body: "It may be incomplete or altered. Open it again from the email, or ask the sender for a new one." };
  }
}
