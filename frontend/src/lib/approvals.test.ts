import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown } from "../components/Markdown";
import type { Approval } from "../types";
import { ApiError } from "./api";
import {
  applyApprovalEvents,
  approvalForNode,
  approvalNodesKey,
  awaitingRecord,
  badgeLabel,
  decidable,
  expiry,
  formFieldNames,
  formSchema,
  initialFields,
  outcomeLine,
  placeDecisionError,
} from "./approvals";

const FORM = {
  type: "object",
  properties: {
    budget: { type: "integer", minimum: 0, title: "Budget (USD)" },
    note: { type: "string", default: "looks fine" },
  },
  required: ["budget"],
};

function approval(patch: Partial<Approval> = {}): Approval {
  return {
    id: "a1",
    run_id: "r1",
    flow_id: "f1",
    node_id: "gate",
    iteration: 0,
    title: "Ship v2?",
    message: "Please check **v2**.",
    approvers: { roles: ["member", "admin"], users: [] },
    required_approvals: 1,
    form: FORM,
    on_timeout: "reject",
    remind_every_seconds: null,
    status: "pending",
    decisions: [],
    outcome: null,
    created_at: "2026-11-26T10:00:00Z",
    expires_at: "2026-11-27T10:00:00Z",
    decided_at: null,
    may_decide: true,
    ...patch,
  };
}

describe("a refused decision is placed where the person looks", () => {
  it("puts a 422 on the form field it names, without repeating the field's path", () => {
    // Given the API's answer to a budget below the form's minimum
    const e = new ApiError(422, "invalid_input", "fields.budget: -5 is less than the minimum of 0", { field: "fields.budget" });
    // When it is placed
    const placed = placeDecisionError(e, ["budget", "note"]);
    // Then it is on the budget field, and nothing else is said above the buttons
    expect(placed).toEqual({ fields: { budget: ["-5 is less than the minimum of 0"] }, comment: null, other: null, kind: "invalid" });
  });
  it("puts a nested field's error on its top-level field, naming the rest of the path", () => {
    const e = new ApiError(422, "invalid_input", "fields.address.city: 'city' is a required property", { field: "fields.address.city" });
    expect(placeDecisionError(e, ["address"]).fields).toEqual({ address: ["city: 'city' is a required property"] });
  });
  it("puts a comment error on the comment, and the body validator's list of fields where each belongs", () => {
    const e = new ApiError(422, "invalid_input", "invalid body", [
      { field: "comment", message: "at most 4000 characters" },
      { field: "decision", message: "must be approve or reject" },
    ]);
    const placed = placeDecisionError(e, ["budget"]);
    expect(placed.comment).toBe("at most 4000 characters");
    expect(placed.other).toBe("decision: must be approve or reject");
  });
  it("says above the buttons when the field is not one of the form's (an approval without a form)", () => {
    const e = new ApiError(422, "invalid_input", "fields: this approval has no form", { field: "fields" });
    const placed = placeDecisionError(e, []);
    expect(placed.fields).toEqual({});
    expect(placed.other).toBe("fields: this approval has no form");
  });
  it("calls a 409 a decision already made and a 403 a refusal, above the buttons", () => {
    const conflict = placeDecisionError(new ApiError(409, "conflict", "this approval is approved already"));
    expect(conflict.kind).toBe("conflict");
    expect(conflict.other).toBe("Already decided: this approval is approved already");
    const forbidden = placeDecisionError(new ApiError(403, "forbidden", "you are not one of this approval's approvers"));
    expect(forbidden.kind).toBe("forbidden");
    expect(forbidden.other).toContain("not one of this approval's approvers");
  });
  it("shows a network failure as it is", () => {
    expect(placeDecisionError(new Error("Cannot reach the API")).other).toBe("Cannot reach the API");
  });
});

describe("the decision form", () => {
  it("has fields only when the form schema has properties", () => {
    expect(formSchema(null)).toBeNull();
    expect(formSchema({ type: "object" })).toBeNull();
    expect(formSchema(FORM)).toEqual(FORM);
    expect(formFieldNames(FORM)).toEqual(["budget", "note"]);
  });
  it("puts required fields first, then the rest as listed (jsonb reorders an object's keys)", () => {
    // Given the form as the API returns it from jsonb: the shorter key first
    const stored = { type: "object", properties: { note: { type: "string" }, zeta: { type: "string" }, budget: { type: "integer" } }, required: ["budget"] };
    // Then the required budget comes first
    expect(formFieldNames(stored)).toEqual(["budget", "note", "zeta"]);
  });
  it("starts from the fields' defaults", () => {
    expect(initialFields(FORM)).toEqual({ note: "looks fine" });
    expect(initialFields(null)).toEqual({});
  });
});

describe("expiry and badge", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  it("counts down to the expiry and says when it is close or past", () => {
    expect(expiry("2026-11-27T10:00:00Z", now)).toEqual({ label: "expires in 22h", soon: false, past: false });
    expect(expiry("2026-11-26T12:20:00Z", now)).toEqual({ label: "expires in 20m", soon: true, past: false });
    expect(expiry("2026-11-26T11:55:00Z", now)).toEqual({ label: "expired 5m ago", soon: false, past: true });
    expect(expiry("2026-12-06T12:00:00Z", now)?.label).toBe("expires in 10d");
    expect(expiry(null, now)).toBeNull();
  });
  it("shows no badge for nothing, the count, or the count and a plus when there are more pages", () => {
    expect(badgeLabel(0, false)).toBeNull();
    expect(badgeLabel(3, false)).toBe("3");
    expect(badgeLabel(50, true)).toBe("50+");
  });
  it("counts only what the user may still decide", () => {
    const items = [approval(), approval({ id: "a2", may_decide: false }), approval({ id: "a3", status: "approved", may_decide: false })];
    expect(decidable(items).map((a) => a.id)).toEqual(["a1"]);
  });
});

describe("the run view's approvals", () => {
  it("shows a node's pending approval, else its newest", () => {
    const old = approval({ id: "old", status: "rejected", created_at: "2026-11-26T09:00:00Z" });
    const newer = approval({ id: "newer", status: "approved", created_at: "2026-11-26T11:00:00Z" });
    expect(approvalForNode([old, newer], "gate")?.id).toBe("newer");
    expect(approvalForNode([old, approval({ id: "now" }), newer], "gate")?.id).toBe("now");
    expect(approvalForNode([old], "other")).toBeUndefined();
  });
  it("marks an expired approval at once and asks for a fetch on every approval event", () => {
    // Given a pending approval the user may decide
    const items = [approval()];
    // When it expires
    const expired = applyApprovalEvents(items, [{ type: "approval.expired", data: { approval: "a1" } }]);
    // Then it is expired and can no longer be decided, and the list is fetched again for the outcome
    expect(expired.items[0]).toMatchObject({ status: "expired", may_decide: false });
    expect(expired.refetch).toBe(true);
    // When someone decides it, the form goes away until the fetch brings the outcome
    const decided = applyApprovalEvents(items, [{ type: "approval.decided", data: { approval: "a1" } }]);
    expect(decided.items[0]).toMatchObject({ status: "pending", may_decide: false });
    // And a new request only asks for a fetch; other events change nothing
    expect(applyApprovalEvents(items, [{ type: "approval.requested", data: { approval: "a9" } }])).toEqual({ items, refetch: true });
    const other = applyApprovalEvents(items, [{ type: "node.succeeded", data: {} }]);
    expect(other.refetch).toBe(false);
    expect(other.items).toBe(items);
  });
  it("keys approval nodes by status, and finds a waiting node whose approval is not listed yet", () => {
    const nodes = [
      { node_id: "start", type: "input", status: "SUCCEEDED" },
      { node_id: "gate", type: "approval", status: "RUNNING" },
      { node_id: "gate2", type: "approval", status: "PENDING" },
    ];
    expect(approvalNodesKey(nodes)).toBe("gate2:PENDING,gate:RUNNING");
    expect(awaitingRecord(nodes, [])).toEqual(["gate"]);
    expect(awaitingRecord(nodes, [approval()])).toEqual([]);
    expect(awaitingRecord(nodes, [approval({ status: "approved" })])).toEqual(["gate"]);
  });
  it("says how an approval ended", () => {
    expect(outcomeLine(approval())).toBeNull();
    expect(outcomeLine(approval({ status: "approved", outcome: { decision: "approve", by: "local|ben", comment: "go", fields: {} } }))).toBe(
      "Approved by local|ben: go",
    );
    expect(outcomeLine(approval({ status: "expired", outcome: { decision: "reject", by: "timeout", comment: null, fields: {} } }))).toBe(
      "Expired (nobody decided in time)",
    );
  });
});

describe("an approval's markdown message", () => {
  const render = (text: string) => renderToStaticMarkup(createElement(Markdown, { text }));
  it("renders markdown", () => {
    expect(render("Please check **v2**:\n\n- tests\n- docs")).toBe(
      '<div class="markdown "><p>Please check <strong>v2</strong>:</p>\n<ul>\n<li>tests</li>\n<li>docs</li>\n</ul></div>',
    );
  });
  it("drops raw HTML and script URLs, and opens links in a new tab without the opener", () => {
    const html = render('Hi <script>alert(1)</script><img src=x onerror="alert(2)"> [click](javascript:alert(3)) [docs](https://example.com/a)');
    expect(html).not.toContain("<script");
    expect(html).not.toContain("onerror");
    expect(html).not.toContain("javascript:");
    expect(html).toContain('<a href="https://example.com/a" target="_blank" rel="noopener noreferrer nofollow">docs</a>');
  });
  it("shows an image as its alt text instead of loading it", () => {
    expect(render("![tracking pixel](https://t.example/p.gif)")).toContain('<span class="md-img">[tracking pixel]</span>');
    expect(render("![x](https://t.example/p.gif)")).not.toContain("<img");
  });
});
