import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { endOf, finalMessage, initialLinkState, linkReducer, linkToken, type ApprovalLinkView, type LinkState } from "./approvalLink";

function view(status: ApprovalLinkView["approval"]["status"] = "pending"): ApprovalLinkView {
  return {
    approval: {
      id: "a1",
      title: "Ship v2?",
      message: "Please check **v2**.",
      form: { type: "object", properties: { budget: { type: "integer" } }, required: ["budget"] },
      status,
      required_approvals: 1,
      expires_at: "2026-11-27T10:00:00Z",
    },
    workspace: { name: "Acme" },
    flow: { name: "Release" },
    recipient: "ops@example.com",
  };
}

const open = (): LinkState => linkReducer(initialLinkState, { type: "loaded", view: view() });

describe("the approval-link page's route", () => {
  it("reads the token from the hash route or from a path", () => {
    expect(linkToken("/approve/abc.def-1")).toBe("abc.def-1");
    expect(linkToken("/approve/abc%2Fx/")).toBe("abc/x");
    expect(linkToken("/", "/approve/tok")).toBe("tok");
    expect(linkToken("/w/ws/approvals")).toBeNull();
    expect(linkToken("/approve/")).toBeNull();
  });
});

describe("the approval-link page's states", () => {
  it("opens the form for a pending approval", () => {
    expect(open()).toEqual({ kind: "open", view: view(), busy: false, error: null });
  });
  it("ends with thanks after an approval or a rejection", () => {
    // Given the open form, sending
    const sending = linkReducer(open(), { type: "submitting" });
    expect(sending).toMatchObject({ kind: "open", busy: true, error: null });
    // When the API accepts the approval
    const done = linkReducer(sending, { type: "decided", decision: "approve" });
    // Then the page says so, and keeps what was decided on
    expect(done).toEqual({ kind: "final", end: "approved", view: view(), detail: null });
    expect(finalMessage("approved").title).toBe("Approved — thank you");
    expect(linkReducer(sending, { type: "decided", decision: "reject" })).toMatchObject({ end: "rejected" });
  });
  it("keeps the form open with the field named on a 422", () => {
    const sending = linkReducer(open(), { type: "submitting" });
    const e = new ApiError(422, "invalid_input", "fields.budget: 'budget' is a required property", { field: "fields.budget" });
    const next = linkReducer(sending, { type: "failed", error: e });
    expect(next).toMatchObject({ kind: "open", busy: false, error: { kind: "invalid", fields: { budget: ["'budget' is a required property"] } } });
  });
  it("ends on a used, expired or bad link, and on a decision someone else made", () => {
    const cases: [ApiError, string, string][] = [
      [new ApiError(410, "link_used", "this link was used"), "used", "This link was already used"],
      [new ApiError(410, "link_expired", "this link expired"), "expired", "This link expired"],
      [new ApiError(401, "unauthorized", "invalid link"), "invalid", "This link is not valid"],
      [new ApiError(409, "conflict", "this approval is approved already"), "decided", "This request was already decided"],
    ];
    for (const [error, end, title] of cases) {
      // on opening the link
      expect(linkReducer(initialLinkState, { type: "failed", error }), end).toMatchObject({ kind: "final", end, view: null });
      // and on deciding through it
      expect(linkReducer(open(), { type: "failed", error }), end).toMatchObject({ kind: "final", end, view: view(), detail: error.message });
      expect(finalMessage(endOf(error)!).title).toBe(title);
    }
  });
  it("ends at once when the approval is no longer pending when the link is opened", () => {
    expect(linkReducer(initialLinkState, { type: "loaded", view: view("approved") })).toMatchObject({ kind: "final", end: "decided" });
    expect(linkReducer(initialLinkState, { type: "loaded", view: view("expired") })).toMatchObject({ kind: "final", end: "expired" });
    expect(linkReducer(initialLinkState, { type: "loaded", view: view("withdrawn") })).toMatchObject({ kind: "final", end: "closed" });
  });
  it("offers a retry when the page cannot load for another reason", () => {
    expect(endOf(new ApiError(0, "network_error", "Cannot reach the API"))).toBeNull();
    expect(linkReducer(initialLinkState, { type: "failed", error: new ApiError(500, "internal", "boom") })).toEqual({ kind: "error", message: "boom" });
  });
});

describe("a malformed link", () => {
  it("is not valid when the API names the token (422), but a form field's 422 can be corrected", () => {
    expect(endOf(new ApiError(422, "invalid_request", "token: not a link", { field: "token" }))).toBe("invalid");
    expect(endOf(new ApiError(422, "invalid_request", "token: not a link", [{ field: "token", in: "path" }]))).toBe("invalid");
    expect(endOf(new ApiError(422, "invalid_request", "fields.budget: required", { field: "fields.budget" }))).toBeNull();
  });
});
