import { describe, expect, it } from "vitest";
import { AUDIT_FAMILIES, summarizeAudit } from "./audit";

const s = (action: string, details: unknown) => summarizeAudit({ action, details });

describe("audit summaries", () => {
  it("shows a member's previous role, or that they were added", () => {
    expect(s("member.put", { role: "admin", previous_role: "viewer" })).toBe("role viewer → admin");
    expect(s("member.put", { role: "member", previous_role: null })).toBe("added as member");
    expect(s("member.put", { role: "member", previous_role: "member" })).toBe("role stays member");
    expect(s("member.remove", null)).toBe("removed from the workspace");
  });

  it("names a credential's type and fields, never more", () => {
    expect(s("credential.create", { type: "api_key", fields: ["key"] })).toBe("api_key credential created, fields: key");
    expect(s("credential.rotate", { type: "basic", fields: ["username", "password"] })).toBe("new value for username, password");
    expect(s("credential.delete", { forced: true })).toMatch(/anyway/);
    expect(s("credential.delete", { forced: false })).toBe("deleted");
  });

  it("summarises flows, runs and the allow-list", () => {
    expect(s("flow.publish", { version: 3 })).toBe("published v3");
    expect(s("flow.live", { version: 2 })).toBe("v2 is live");
    expect(s("agent.publish", { version: 2, from: 1, to: 2 })).toBe("published v2");
    expect(s("agent.live", { from: 2, to: 1 })).toBe("live v2 → v1");
    expect(s("flow.update", { fields: ["definition", "name"] })).toBe("changed definition, name");
    expect(s("run.redrive", { attempt: 2, from_version: 1, version: 2 })).toBe("attempt 2 on v2 (was v1)");
    expect(s("workspace.allowed_hosts", { allowed_hosts: ["a", "c"], added: ["c"], removed: ["b"] })).toBe("allow-list: added c; removed b");
  });

  it("reads budget changes, and falls back to key: value for actions it does not know", () => {
    expect(s("budget.put", { monthly_soft_usd: 50, monthly_hard_usd: null })).toBe("soft limit $50.00, hard limit none");
    expect(s("llm_settings.put", { allowed_models: ["a", "b"], default_model: null })).toBe("allowed models: a, b; default model: none");
    expect(s("thing.done", "not an object")).toBe("");
  });

  it("offers the action families the API filters by prefix", () => {
    expect(AUDIT_FAMILIES.map((f) => f.value)).toEqual(["", "member.", "credential.", "flow.", "agent.", "workspace.", "budget."]);
  });
});
