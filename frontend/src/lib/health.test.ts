import { describe, expect, it } from "vitest";
import { healthNotices } from "./health";
import type { ComponentHealth } from "../types";

const part = (name: string, status: ComponentHealth["status"], detail = ""): ComponentHealth => ({
  name,
  status,
  detail,
  since: "2026-11-26T10:00:00Z",
  restarts: 0,
  checked_at: null,
});

describe("healthNotices", () => {
  it("says nothing when every part is ready", () => {
    // Given every component ready / When the notices are made / Then there are none
    expect(healthNotices([part("model", "ready"), part("database", "ready")])).toEqual([]);
  });

  it("explains a failed default model with its reason and what it means for llm nodes", () => {
    // Given the offline model crashed
    const [notice] = healthNotices([part("model", "failed", "crashed with SIGILL; see .localdb/logs/model.log")]);
    // Then the notice names it, says why and what fails
    expect(notice.title).toBe("The default model is unavailable.");
    expect(notice.message).toContain("It crashed with SIGILL; see .localdb/logs/model.log.");
    expect(notice.message).toContain('model "default"');
  });

  it("calls a starting part starting, without a reason", () => {
    const [notice] = healthNotices([part("database", "starting", "starting")]);
    expect(notice.title).toBe("The database is starting.");
    expect(notice.message).toBe("Saving and running flows fail until it is back.");
  });
});
